'use strict'

// Which server the suites run against, and which of its flags it knows.
//
// By default the `redis-server` / `redis-cli` on PATH. CI's server matrix (scripts/matrix.sh)
// points `SPOTS_TEST_REDIS_SERVER` / `SPOTS_TEST_REDIS_CLI` at Redis 6.2 and Valkey 8 binaries
// unpacked from registry packages, and runs the same suites again.

const { execFileSync } = require('node:child_process')

const serverPath = process.env.SPOTS_TEST_REDIS_SERVER || 'redis-server'
const cliPath = process.env.SPOTS_TEST_REDIS_CLI || 'redis-cli'

let cached

/**
 * `{ product: 'redis' | 'valkey', version: [major, minor, patch], text }` of the server binary,
 * read once from `--version` ("Redis server v=7.0.15 …", "Valkey server v=8.1.8 …").
 */
function serverInfo() {
  if (cached) return cached
  const text = execFileSync(serverPath, ['--version'], { encoding: 'utf8' }).trim()
  const m = /^(\w+) server v=(\d+)\.(\d+)\.(\d+)/.exec(text)
  if (!m) throw new Error(`cannot read the version of ${serverPath}: ${text}`)
  cached = { product: m[1].toLowerCase(), version: [Number(m[2]), Number(m[3]), Number(m[4])], text }
  return cached
}

/**
 * The Redis release whose features the server has: Valkey 8 forked from Redis 7.2 and reports
 * itself as that to clients (`redis_version:7.2.4`).
 */
function redisCompatVersion() {
  const { product, version } = serverInfo()
  return product === 'valkey' ? [7, 2, 4] : version
}

function atLeast(version, [major, minor = 0]) {
  return version[0] > major || (version[0] === major && version[1] >= minor)
}

/** Whether the server has the features of Redis `major.minor` (e.g. `supports(7)`). */
function supports(major, minor = 0) {
  return atLeast(redisCompatVersion(), [major, minor])
}

// Flags (with their value count) that appeared in Redis 7.0: older servers refuse to start when
// given them, so the harness drops them there.
const SINCE_7 = new Map([
  ['--enable-debug-command', 1],
  ['--enable-module-command', 1],
  ['--enable-protected-configs', 1],
  ['--cluster-port', 1],
])

/** `args` without the flags (and their values) that this server does not know. */
function serverArgs(args) {
  if (supports(7)) return args
  const out = []
  for (let i = 0; i < args.length; i++) {
    const skip = SINCE_7.get(args[i])
    if (skip !== undefined) i += skip
    else out.push(args[i])
  }
  return out
}

/** One line for test output: which server this run uses. */
function describeServer() {
  return `${serverInfo().text} (${serverPath})`
}

module.exports = { serverPath, cliPath, serverInfo, supports, serverArgs, describeServer }
