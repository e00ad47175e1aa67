#!/usr/bin/env bash
# `npm test`: every suite, as the README says: cargo test, the node --test suites, the tsc type
# test. cargo test's build is CPU-bound while the node suites mostly wait on the redis-servers
# they start, so the two run side by side (about three minutes less than one after the other on
# 2 cores); cargo's output is printed when the node suites are done, so the logs do not mix.
set -uo pipefail
cd "$(dirname "$0")/.."

cargo_log=$(mktemp)
trap 'rm -f "$cargo_log"' EXIT
# At the lowest CPU priority: the suites time reconnections and failovers, and a compile that
# takes the cores from their servers and clients can push a recovery past a test's bound.
nice -n 19 cargo test --release >"$cargo_log" 2>&1 &
cargo_pid=$!

node --test --test-concurrency=1 __test__/*.test.js __test__/*.test.mjs
node_rc=$?

wait "$cargo_pid"
cargo_rc=$?
echo "--- cargo test --release"
cat "$cargo_log"

npm run --silent test:types
types_rc=$?

echo "--- npm test: cargo test exit $cargo_rc, node --test exit $node_rc, tsc exit $types_rc"
[ "$cargo_rc" -eq 0 ] && [ "$node_rc" -eq 0 ] && [ "$types_rc" -eq 0 ]
