'use strict'

// Soak test: one addon instance, SOAK_CALLS (default 1,000,000) mixed calls at c=256 on a rolling
// pool of sessions, watching the client process for leaks (RSS, heap, file descriptors,
// threads). See benchmark/README.md.
//
//   npm run soak
//   SOAK_CALLS=200000 node benchmark/soak.js
//
// It starts its own redis-server on a free loopback port and never talks to any other.
// No assertion on timing; it exits 1 only if a call fails (rejects or returns a wrong session).

const fs = require('node:fs')
const { SpotsSessions } = require('..')
const { startRedis } = require('../__test__/helpers/redis')

const CALLS = Number(process.env.SOAK_CALLS || 1_000_000)
const C = Number(process.env.SOAK_CONCURRENCY || 256)
const POOL = Number(process.env.SOAK_POOL || 20_000)
const REPORT_EVERY = Number(process.env.SOAK_REPORT_EVERY || 100_000)
// Every this many calls the server drops the addon's connections (CLIENT KILL), so the soak
// covers reconnects under load; 0 turns it off.
const RECONNECT_EVERY = Number(process.env.SOAK_RECONNECT_EVERY ?? 250_000)
const WARM_AT = Math.min(200_000, CALLS) // RSS "after warm-up" is taken here
const SAMPLE_EVERY = 10_000 // fds / threads sampled this often for min/max
const APP = 'soak-app'
const OWNERS = 5_000
const { PAYLOAD } = require('./payload')
// get 60%, update 15%, refresh 10%, create 10%, kill 5%
const MIX = [
  ['get', 60],
  ['update', 15],
  ['refresh', 10],
  ['create', 10],
  ['kill', 5],
]

if (!(Number.isInteger(CALLS) && CALLS > 0)) throw new Error('SOAK_CALLS: must be a positive integer')

function pickMethod() {
  let r = Math.random() * 100
  for (const [m, w] of MIX) {
    if ((r -= w) < 0) return m
  }
  return 'get'
}

/** Sessions live 10 s to 10 min, so some expire during the soak and creates prune the index. */
function randomDuration() {
  return 10 + Math.floor(Math.random() * 590)
}

const mb = (b) => +(b / 2 ** 20).toFixed(1)
const fdCount = () => fs.readdirSync('/proc/self/fd').length
const threadCount = () => Number(/^Threads:\s+(\d+)/m.exec(fs.readFileSync('/proc/self/status', 'utf8'))[1])

async function main() {
  const redis = await startRedis()
  const sessions = new SpotsSessions({ connectionString: redis.url })
  let exitCode = 0
  try {
    // The rolling pool: slot i holds a token and its owner; creates overwrite the oldest slot.
    const pool = new Array(POOL)
    for (let i = 0; i < POOL; i += 1000) {
      const batch = []
      for (let j = i; j < Math.min(POOL, i + 1000); j++) {
        const ownerId = `user-${j % OWNERS}`
        batch.push(
          sessions.create({ app: APP, ownerId, data: PAYLOAD, duration: randomDuration() }).then((token) => {
            pool[j] = { token, ownerId }
          }),
        )
      }
      await Promise.all(batch)
    }
    let cursor = 0

    const counts = {}
    for (const [m] of MIX) counts[m] = { calls: 0, hit: 0, miss: 0 }
    let failures = 0
    const failureSamples = []
    function fail(what) {
      failures++
      if (failureSamples.length < 20) failureSamples.push(what)
    }

    const checkpoints = []
    let fdMin = Infinity
    let fdMax = 0
    let thrMin = Infinity
    let thrMax = 0
    function sample() {
      const fds = fdCount()
      const threads = threadCount()
      fdMin = Math.min(fdMin, fds)
      fdMax = Math.max(fdMax, fds)
      thrMin = Math.min(thrMin, threads)
      thrMax = Math.max(thrMax, threads)
      return { fds, threads }
    }
    sample()

    console.log(
      `soak: ${CALLS.toLocaleString('en-US')} calls at c=${C} on a rolling pool of ${POOL.toLocaleString('en-US')} sessions (${OWNERS} owners)`,
    )
    console.log(`mix: ${MIX.map(([m, w]) => `${m} ${w}%`).join(', ')}; redis-server on 127.0.0.1:${redis.port}`)
    console.log()
    console.log(
      ['calls', 'RSS MB', 'heap MB', 'fds', 'threads', 'ops/s', 'redis keys'].map((h) => h.padStart(12)).join(''),
    )

    let started = 0
    let done = 0
    const t0 = process.hrtime.bigint()
    let lastT = t0
    let lastDone = 0

    async function checkpoint() {
      const calls = done
      const now = process.hrtime.bigint()
      const secs = Number(now - lastT) / 1e9
      const rate = Math.round((calls - lastDone) / secs)
      lastT = now
      lastDone = calls
      const mem = process.memoryUsage()
      const { fds, threads } = sample()
      // The soak's own CLIENT KILL may cut this connection too; a missing figure is not a failure.
      const keys = await redis.command('DBSIZE').catch(() => 'n/a')
      const cp = {
        calls,
        rssMB: mb(mem.rss),
        heapUsedMB: mb(mem.heapUsed),
        fds,
        threads,
        opsPerSec: rate,
        redisKeys: keys,
      }
      checkpoints.push(cp)
      console.log(
        [
          cp.calls.toLocaleString('en-US'),
          cp.rssMB,
          cp.heapUsedMB,
          fds,
          threads,
          rate.toLocaleString('en-US'),
          keys.toLocaleString('en-US'),
        ]
          .map((v) => String(v).padStart(12))
          .join(''),
      )
    }

    async function one() {
      const method = pickMethod()
      const slot = pool[(Math.random() * POOL) | 0]
      counts[method].calls++
      try {
        if (method === 'get') {
          const s = await sessions.get({ app: APP, token: slot.token })
          if (s === undefined) counts.get.miss++
          else if (s.ownerId !== slot.ownerId || typeof s.data !== 'object' || s.data.email !== PAYLOAD.email) {
            fail(`get returned a wrong session: ${JSON.stringify(s).slice(0, 200)} for owner ${slot.ownerId}`)
          } else counts.get.hit++
        } else if (method === 'update') {
          const data = Math.random() < 0.5 ? { locale: 'en-GB' } : { currentDeviceToken: 'f6e5d4c3b2a1', locale: null }
          const ok = await sessions.update({ app: APP, token: slot.token, data })
          if (typeof ok !== 'boolean') fail(`update resolved to ${ok}`)
          else counts.update[ok ? 'hit' : 'miss']++
        } else if (method === 'refresh') {
          const ok = await sessions.refresh({ app: APP, token: slot.token, duration: randomDuration() })
          if (typeof ok !== 'boolean') fail(`refresh resolved to ${ok}`)
          else counts.refresh[ok ? 'hit' : 'miss']++
        } else if (method === 'create') {
          const ownerId = `user-${(Math.random() * OWNERS) | 0}`
          const token = await sessions.create({ app: APP, ownerId, data: PAYLOAD, duration: randomDuration() })
          if (typeof token !== 'string' || token.length !== 172) fail(`create resolved to ${token}`)
          else {
            pool[cursor] = { token, ownerId }
            cursor = (cursor + 1) % POOL
            counts.create.hit++
          }
        } else if (method === 'kill') {
          const ok = await sessions.kill({ app: APP, token: slot.token })
          if (typeof ok !== 'boolean') fail(`kill resolved to ${ok}`)
          else counts.kill[ok ? 'hit' : 'miss']++
        }
      } catch (err) {
        fail(`${method} rejected: ${err.code ?? ''} ${err.message}`)
      }
    }

    let reconnects = 0
    async function dropConnections() {
      // SKIPME (the default) spares the harness's own connection.
      const killed = await redis.command('CLIENT', 'KILL', 'TYPE', 'normal').catch((err) => `none (${err.message})`)
      reconnects += 1
      console.log(
        `${String(done.toLocaleString('en-US')).padStart(12)}  dropped ${killed} connection(s): the addon reconnects under load`,
      )
    }

    async function worker() {
      while (started < CALLS) {
        started++
        if (RECONNECT_EVERY > 0 && started % RECONNECT_EVERY === 0) await dropConnections()
        await one()
        done++
        if (done % REPORT_EVERY === 0 || done === CALLS) await checkpoint()
        else if (done % SAMPLE_EVERY === 0) sample()
      }
    }
    await Promise.all(Array.from({ length: C }, worker))
    const totalSecs = Number(process.hrtime.bigint() - t0) / 1e9

    const warm = checkpoints.find((cp) => cp.calls >= WARM_AT) ?? checkpoints[0]
    const end = checkpoints[checkpoints.length - 1]
    const summary = {
      bench: 'spots-sessions-soak',
      calls: done,
      concurrency: C,
      pool: POOL,
      seconds: +totalSecs.toFixed(1),
      opsPerSec: Math.round(done / totalSecs),
      rssWarmMB: warm.rssMB,
      rssWarmAt: warm.calls,
      rssEndMB: end.rssMB,
      rssGrowthMB: +(end.rssMB - warm.rssMB).toFixed(1),
      heapWarmMB: warm.heapUsedMB,
      heapEndMB: end.heapUsedMB,
      fdMin,
      fdMax,
      threadsMin: thrMin,
      threadsMax: thrMax,
      failures,
      reconnects,
      outcomes: counts,
    }
    console.log()
    console.log(
      `done: ${done.toLocaleString('en-US')} calls in ${summary.seconds} s (${summary.opsPerSec.toLocaleString('en-US')} ops/s)`,
    )
    console.log(
      `RSS after warm-up (${warm.calls.toLocaleString('en-US')} calls): ${warm.rssMB} MB; at the end: ${end.rssMB} MB; difference: ${summary.rssGrowthMB >= 0 ? '+' : ''}${summary.rssGrowthMB} MB`,
    )
    console.log(`heap used after warm-up: ${warm.heapUsedMB} MB; at the end: ${end.heapUsedMB} MB`)
    console.log(`open fds: min ${fdMin}, max ${fdMax}; threads: min ${thrMin}, max ${thrMax}`)
    console.log(
      `outcomes: ${Object.entries(counts)
        .map(([m, x]) => `${m} ${x.calls} (${x.hit} found, ${x.miss} not found)`)
        .join('; ')}`,
    )
    console.log(`forced reconnects: ${reconnects}; failures: ${failures}`)
    for (const f of failureSamples) console.log(`  ${f}`)
    console.log(JSON.stringify(summary))
    if (failures > 0) exitCode = 1
  } catch (err) {
    console.error(err)
    exitCode = 1
  } finally {
    try {
      await sessions.quit()
    } catch (err) {
      console.error('quit failed:', err)
      exitCode = 1
    }
    await redis.stop()
  }
  process.exitCode = exitCode
}

main().catch((err) => {
  console.error(err)
  process.exitCode = 1
})
