'use strict'

// What `durability: { replicas, timeout }` costs (issue 23): `kill` and `create` latency and
// throughput against a primary with one replica, with and without the option, and `get` on its
// own and while durable kills run beside it (reads never wait: they should not notice).
//
//   node benchmark/durability.js
//   BENCH_ROUNDS=5 BENCH_OPS=4000 BENCH_JSON=benchmark/results/durability-2-core-vm.jsonl node benchmark/durability.js
//
// It starts its own two redis-servers (a primary and its replica) on free loopback ports.

const fs = require('node:fs')
const os = require('node:os')
const { SpotsSessions } = require('..')
const { startRedis, sleep, str } = require('../__test__/helpers/redis')
const { percentile, pool, batched, median, withCpu } = require('./measure')

const ROUNDS = Math.max(1, Number(process.env.BENCH_ROUNDS || 3) | 0)
const OPS = Math.max(100, Number(process.env.BENCH_OPS || 3000) | 0)
const JSON_PATH = process.env.BENCH_JSON || ''
const APP = 'bench'
const DURABILITY = { replicas: 1, timeout: 1000 }

/** `n` calls of `fn(i)` with `c` in flight: `{ ops, p50, p99 }` (calls/s, latencies in ms). */
async function drive(n, c, fn) {
  const { lat, wallNs } = await pool(c, n, async (i) => {
    await fn(i)
    return true
  })
  lat.sort()
  return { ops: n / (wallNs / 1e9), p50: percentile(lat, 50) / 1e6, p99: percentile(lat, 99) / 1e6 }
}

/** `n` fresh sessions, created by `writer`, 500 at a time. */
function sessions(writer, n) {
  return batched(n, 500, (j) => writer.create({ app: APP, ownerId: `u${j % 1000}`, duration: 3600, data: { n: j } }))
}

/** One round: every measurement, for `mode` ('plain' or 'durable'). */
async function round(primary, mode) {
  const loader = new SpotsSessions({ connectionString: primary.url })
  const inst = new SpotsSessions({
    connectionString: primary.url,
    ...(mode === 'durable' ? { durability: DURABILITY } : {}),
  })
  try {
    const out = {}
    // `n` calls of `fn` with `c` in flight, with the CPU they cost.
    const timed = (n, c, fn) => withCpu(primary, n, () => drive(n, c, fn))
    let t = await sessions(loader, OPS)
    const n1 = Math.min(OPS, 1000)
    out['kill c=1'] = await timed(n1, 1, (i) => inst.kill({ app: APP, token: t[i] }))
    t = await sessions(loader, OPS)
    out['kill c=64'] = await timed(OPS, 64, (i) => inst.kill({ app: APP, token: t[i] }))
    out['create c=64'] = await timed(OPS, 64, (i) =>
      inst.create({ app: APP, ownerId: `c${i % 1000}`, duration: 3600, data: { n: i } }),
    )
    const hot = await sessions(loader, 1000)
    out['get c=16'] = await timed(OPS * 4, 16, (i) => inst.get({ app: APP, token: hot[i % hot.length] }))
    // get beside a kill load on the same instance; CPU per call over both loads' calls
    t = await sessions(loader, OPS)
    out['get c=16 beside kill c=64'] = await withCpu(primary, OPS * 3, async () => {
      const kills = drive(OPS, 64, (i) => inst.kill({ app: APP, token: t[i] }))
      const gets = await drive(OPS * 2, 16, (i) => inst.get({ app: APP, token: hot[i % hot.length] }))
      await kills
      return gets
    })
    return out
  } finally {
    await Promise.all([loader.quit(), inst.quit()])
  }
}

async function main() {
  const primary = await startRedis()
  const replica = await startRedis({ args: ['--replicaof', '127.0.0.1', String(primary.port)] })
  try {
    for (let i = 0; !/master_link_status:up/.test(str(await replica.command('INFO', 'replication'))); i++) {
      if (i > 200) throw new Error('the replica did not link up')
      await sleep(50)
    }
    const runs = { plain: [], durable: [] }
    for (let r = 0; r < ROUNDS; r++) {
      for (const mode of r % 2 ? ['durable', 'plain'] : ['plain', 'durable']) {
        runs[mode].push(await round(primary, mode))
        await primary.command('FLUSHALL')
      }
    }
    const names = Object.keys(runs.plain[0])
    console.log(
      `primary + 1 replica on loopback, ${os.cpus().length} cpus, durability ${JSON.stringify(DURABILITY)}, ` +
        `median of ${ROUNDS} rounds, ${OPS} ops per measurement`,
    )
    console.log(
      'CPU in µs per call: the whole client process, and the primary redis-server (the replica applies the same ' +
        'stream either way); "beside": per call of both loads',
    )
    console.log(
      '| measurement | plain ops/s | durable ops/s | ratio | plain p50 ms | durable p50 ms | plain p99 ms | durable p99 ms | ' +
        'plain client CPU | durable client CPU | plain Redis CPU | durable Redis CPU |',
    )
    console.log('| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |')
    const rows = []
    for (const name of names) {
      const m = (mode, k) => median(runs[mode].map((run) => run[name][k]))
      const row = {
        measurement: name,
        plain: {},
        durable: {},
      }
      for (const mode of ['plain', 'durable'])
        for (const k of ['ops', 'p50', 'p99', 'clientUs', 'redisUs']) row[mode][k] = m(mode, k)
      rows.push(row)
      const f = (x, d = 0) => x.toFixed(d)
      console.log(
        `| ${name} | ${f(row.plain.ops)} | ${f(row.durable.ops)} | ${f(row.durable.ops / row.plain.ops, 2)}× | ` +
          `${f(row.plain.p50, 3)} | ${f(row.durable.p50, 3)} | ${f(row.plain.p99, 3)} | ${f(row.durable.p99, 3)} | ` +
          `${f(row.plain.clientUs, 1)} | ${f(row.durable.clientUs, 1)} | ${f(row.plain.redisUs, 1)} | ${f(row.durable.redisUs, 1)} |`,
      )
    }
    if (JSON_PATH) {
      const meta = {
        date: new Date().toISOString(),
        cpus: os.cpus().length,
        node: process.version,
        rounds: ROUNDS,
        ops: OPS,
      }
      fs.appendFileSync(JSON_PATH, rows.map((row) => JSON.stringify({ ...meta, ...row })).join('\n') + '\n')
    }
  } finally {
    await replica.stop()
    await primary.stop()
  }
}

main().catch((err) => {
  console.error(err)
  process.exit(1)
})
