#!/usr/bin/env bash
# Installs and builds everything the tests need on a fresh machine with Node and Rust:
# redis-server (apt-get or Homebrew, only when missing), the npm dev dependencies, and the
# release build of the addon.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v redis-server >/dev/null 2>&1 || ! command -v redis-cli >/dev/null 2>&1; then
  echo "--- redis-server not found: installing it"
  if command -v apt-get >/dev/null 2>&1; then
    SUDO=""
    if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
    export DEBIAN_FRONTEND=noninteractive
    $SUDO apt-get update -qq
    $SUDO apt-get install -y -qq redis-server redis-tools >/dev/null
  elif command -v brew >/dev/null 2>&1; then
    brew install redis
  else
    echo "Please install redis-server and redis-cli (the tests start their own servers)." >&2
    exit 1
  fi
fi
redis-server --version

echo "--- npm ci"
npm ci --no-audit --no-fund
# The OpenTelemetry API 1.10 line, apart from the root's 1.9 line (their peer ranges exclude each
# other): __test__/observability-otel-1.10.test.js, which runs on Node >= 22.15.
npm ci --prefix __test__/otel-1.10 --no-audit --no-fund

echo "--- build (release)"
export CARGO_BUILD_JOBS="${CARGO_BUILD_JOBS:-2}"
npm run build
