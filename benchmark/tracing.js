'use strict'

// What the `spots-sessions:call` TracingChannel costs `get` (issue 22). Three variants of the same
// instance class, on the same addon, server and preloaded sessions:
//
//   untraced     index.js as it was before tracing: a copy of it, made at start-up, with the
//                `if (tracing.hasSubscribers) …` line taken out (the build-time toggle)
//   unsubscribed index.js as shipped, nobody subscribed: the path every application takes
//                unless an APM subscribes
//   subscribed   index.js with a no-op subscriber on every event: the cost once an APM listens
//
// Each round runs every variant once, in a rotating order, with exactly CONCURRENCY calls in
// flight; the report is the median over the rounds of calls per second and of process CPU
// (user + system, all threads: the JS thread and the tokio workers) per call.
//
//   node benchmark/tracing.js
//   TRACING_ROUNDS=9 TRACING_CALLS=50000 TRACING_CONCURRENCY=64 node benchmark/tracing.js
//
// It starts its own redis-server on a free loopback port and never talks to any other.

const fs = require('node:fs')
const path = require('node:path')
const diagnostics = require('node:diagnostics_channel')
const { startRedis } = require('../__test__/helpers/redis')
const { median } = require('./measure')

const ROUNDS = Math.max(1, Number(process.env.TRACING_ROUNDS || 7) | 0)
const CALLS = Math.max(1000, Number(process.env.TRACING_CALLS || 40000) | 0)
const CONCURRENCY = Math.max(1, Number(process.env.TRACING_CONCURRENCY || 64) | 0)
const SESSIONS = 1000

const root = path.join(__dirname, '..')
// The check as one line, or as a block (prettier wraps it once the call outgrows a line).
const TRACE_LINE =
  /^ *if \(tracing\.hasSubscribers\) (?:return traceCall\(.*\)\n|\{\n *return traceCall\(.*\)\n *\}\n)/m

/** index.js without the tracing check, next to it (its requires are relative), then removed. */
function loadUntraced() {
  const source = fs.readFileSync(path.join(root, 'index.js'), 'utf8')
  if (!TRACE_LINE.test(source)) throw new Error('benchmark/tracing.js: the tracing check in index.js was not found')
  const file = path.join(root, `.bench-untraced-${process.pid}.js`)
  fs.writeFileSync(file, source.replace(TRACE_LINE, ''))
  try {
    return require(file).SpotsSessions
  } finally {
    fs.rmSync(file, { force: true })
  }
}

/** CALLS gets with CONCURRENCY in flight; calls per second and CPU µs per call. */
async function run(sessions, tokens) {
  let next = 0
  const worker = async () => {
    while (next < CALLS) {
      const i = next++
      await sessions.get({ app: 'bench-tracing', token: tokens[i % tokens.length] })
    }
  }
  const cpu = process.cpuUsage()
  const start = process.hrtime.bigint()
  await Promise.all(Array.from({ length: CONCURRENCY }, worker))
  const seconds = Number(process.hrtime.bigint() - start) / 1e9
  const used = process.cpuUsage(cpu)
  return { opsPerSecond: CALLS / seconds, cpuMicrosPerCall: (used.user + used.system) / CALLS }
}

async function main() {
  const Untraced = loadUntraced()
  const { SpotsSessions } = require('..')
  const redis = await startRedis()
  const calls = diagnostics.tracingChannel('spots-sessions:call')
  const noop = { start() {}, end() {}, asyncStart() {}, asyncEnd() {}, error() {} }
  // An instance (and connection) of its own per variant, and one more that preloads.
  const instances = {
    loader: new SpotsSessions(redis.url),
    untraced: new Untraced(redis.url),
    unsubscribed: new SpotsSessions(redis.url),
    subscribed: new SpotsSessions(redis.url),
  }
  const variants = {
    untraced: { sessions: instances.untraced, subscribe: false },
    unsubscribed: { sessions: instances.unsubscribed, subscribe: false },
    subscribed: { sessions: instances.subscribed, subscribe: true },
  }
  try {
    const tokens = []
    for (let i = 0; i < SESSIONS; i += 100) {
      const batch = Array.from({ length: 100 }, (_, k) =>
        instances.loader.create({ app: 'bench-tracing', ownerId: `o${i + k}`, data: { i: i + k }, duration: 3600 }),
      )
      tokens.push(...(await Promise.all(batch)))
    }
    const names = Object.keys(variants)
    const results = Object.fromEntries(names.map((n) => [n, []]))
    // Warm-up: every variant once, untimed (JIT, connections).
    for (const n of names) await timed(variants[n], tokens, calls, noop)
    for (let round = 0; round < ROUNDS; round++) {
      const order = names.map((_, k) => names[(k + round) % names.length])
      for (const n of order) results[n].push(await timed(variants[n], tokens, calls, noop))
    }
    console.log(`get, ${CALLS} calls, ${CONCURRENCY} in flight, median of ${ROUNDS} rounds (node ${process.version}):`)
    const base = median(results.untraced.map((r) => r.opsPerSecond))
    const baseCpu = median(results.untraced.map((r) => r.cpuMicrosPerCall))
    for (const n of names) {
      const ops = median(results[n].map((r) => r.opsPerSecond))
      const cpu = median(results[n].map((r) => r.cpuMicrosPerCall))
      const vs = n === 'untraced' ? '' : `  (${pct(ops, base)} ops/s, ${pct(cpu, baseCpu)} CPU vs untraced)`
      console.log(
        `  ${n.padEnd(13)} ${Math.round(ops).toString().padStart(8)} ops/s  ${cpu.toFixed(2)} µs CPU/call${vs}`,
      )
    }
  } finally {
    await Promise.all(Object.values(instances).map((s) => s.quit()))
    await redis.stop()
  }
}

async function timed(variant, tokens, calls, noop) {
  if (variant.subscribe) calls.subscribe(noop)
  try {
    return await run(variant.sessions, tokens)
  } finally {
    if (variant.subscribe) calls.unsubscribe(noop)
  }
}

function pct(value, base) {
  const d = ((value - base) / base) * 100
  return `${d >= 0 ? '+' : ''}${d.toFixed(1)}%`
}

main().catch((err) => {
  console.error(err)
  process.exitCode = 1
})
