'use strict'

// How long `migrateFromV1` takes for 100,000 1.x sessions while the same instance serves c=64
// 2.x traffic (get and create on other sessions), and what the migration does to that
// traffic's throughput and latency. A measurement, not a test: it asserts only that every
// session was migrated and that the traffic never failed.
//
//   node benchmark/migrate.js
//   MIGRATE_N=20000 MIGRATE_C=64 MIGRATE_BATCH=1000 node benchmark/migrate.js
//
// It starts its own redis-server on a free loopback port and never talks to any other.

const crypto = require('node:crypto')
const Redis = require('ioredis')
const { SpotsSessions } = require('..')
const { startRedis } = require('../__test__/helpers/redis')
const { PAYLOAD } = require('./payload')

const N = Number(process.env.MIGRATE_N || 100_000)
const C = Number(process.env.MIGRATE_C || 64)
const BATCH = Number(process.env.MIGRATE_BATCH || 1000)
const BASELINE_MS = Number(process.env.MIGRATE_BASELINE_MS || 5000)
const LIVE = 10_000 // 2.x sessions the traffic reads
const APP = 'bench-app'

/** The 1.x key and value, exactly as 1.x wrote them (default tokenSize 128, base64). */
function v1Session(i) {
  const token = crypto.randomBytes(128).toString('base64')
  return { token, ownerId: `v1-owner-${i % (N / 2)}`, key: `app:${APP}|token:${token}|ownerId:v1-owner-${i % (N / 2)}` }
}

/** c workers running get/create (alternately) until stop(); per-call latency in µs. */
function traffic(sessions, tokens, c) {
  let running = true
  let ops = 0
  let failures = 0
  let lat = []
  let created = 0
  const worker = async (w) => {
    for (let i = 0; running; i++) {
      const t0 = process.hrtime.bigint()
      try {
        if ((i + w) % 2 === 0) {
          const got = await sessions.get({ app: APP, token: tokens[(Math.random() * tokens.length) | 0] })
          if (!got) throw new Error('a live session was not found')
        } else {
          await sessions.create({ app: APP, ownerId: `live-new-${created++}`, data: PAYLOAD, duration: 3600 })
        }
      } catch (err) {
        failures++
        if (failures === 1) console.error('traffic failure:', err.message)
      }
      lat.push(Number(process.hrtime.bigint() - t0) / 1000)
      ops++
    }
  }
  const done = Promise.all(Array.from({ length: c }, (_, w) => worker(w)))
  return {
    /** Counters since the last snapshot. */
    snapshot() {
      const out = { ops, failures, lat }
      ops = 0
      lat = []
      return out
    },
    async stop() {
      running = false
      await done
    },
  }
}

function summary(snap, ms) {
  const sorted = Float64Array.from(snap.lat).sort()
  const q = (p) => (sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] : NaN)
  return {
    opsPerSec: Math.round((snap.ops / ms) * 1000),
    p50us: Math.round(q(0.5)),
    p99us: Math.round(q(0.99)),
    failures: snap.failures,
  }
}

async function main() {
  const redis = await startRedis({ args: ['--appendonly', 'no', '--save', ''] })
  const io = new Redis(redis.url)
  const sessions = new SpotsSessions(redis.url)
  try {
    // 1.x sessions, written as 1.x wrote them (SET key JSON EX), pipelined to load quickly.
    const t0 = Date.now()
    const v1 = []
    for (let i = 0; i < N; i += 1000) {
      const p = io.pipeline()
      for (let j = i; j < Math.min(N, i + 1000); j++) {
        const s = v1Session(j)
        v1.push(s)
        p.set(s.key, JSON.stringify({ ...PAYLOAD, n: j }), 'EX', 3600)
      }
      await p.exec()
    }
    const tokens = []
    for (let i = 0; i < LIVE; i += 500) {
      const batch = []
      for (let j = i; j < Math.min(LIVE, i + 500); j++)
        batch.push(sessions.create({ app: APP, ownerId: `live-${j}`, data: PAYLOAD, duration: 3600 }))
      tokens.push(...(await Promise.all(batch)))
    }
    console.log(`loaded ${N} 1.x sessions and ${LIVE} 2.x sessions in ${((Date.now() - t0) / 1000).toFixed(1)} s`)

    const load = traffic(sessions, tokens, C)
    await new Promise((r) => setTimeout(r, 500)) // warm-up
    load.snapshot()
    await new Promise((r) => setTimeout(r, BASELINE_MS))
    const baseline = summary(load.snapshot(), BASELINE_MS)

    const m0 = process.hrtime.bigint()
    const report = await sessions.migrateFromV1({ batchSize: BATCH })
    const migrateMs = Number(process.hrtime.bigint() - m0) / 1e6
    const during = summary(load.snapshot(), migrateMs)
    await load.stop()

    if (report.migrated !== N || report.errors.length || report.skipped.length) {
      throw new Error(
        `unexpected report: ${JSON.stringify({ ...report, skipped: report.skipped.length, errors: report.errors.slice(0, 3) })}`,
      )
    }
    for (let k = 0; k < 200; k++) {
      const s = v1[(Math.random() * N) | 0]
      const got = await sessions.get({ app: APP, token: s.token })
      if (!got || got.ownerId !== s.ownerId) throw new Error(`migrated session not readable: ${s.key.slice(0, 40)}…`)
    }
    const result = {
      sessions: N,
      concurrency: C,
      batchSize: BATCH,
      migrateSeconds: +(migrateMs / 1000).toFixed(2),
      migratedPerSec: Math.round(N / (migrateMs / 1000)),
      trafficBaseline: baseline,
      trafficDuringMigration: during,
      redis: (await io.info('server')).match(/redis_version:(\S+)/)[1],
      node: process.version,
    }
    console.log(JSON.stringify(result, null, 2))
    if (baseline.failures || during.failures) process.exitCode = 1
  } finally {
    await sessions.quit()
    await io.quit()
    await redis.stop()
  }
}

main().catch((err) => {
  console.error(err)
  process.exit(1)
})
