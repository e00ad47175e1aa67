'use strict'

// What following ASK costs on Redis Cluster (src/upstream/cluster_redirect.rs): latency of a call whose
// key sits in a half-migrated slot (answered ASK by the source node, so it goes through the
// MULTI/EXEC fallback), next to the same call on a key of a slot that is not moving, and the
// throughput of normal calls with and without a migration in progress.
//
//   node benchmark/cluster-ask.js            # prints one JSON object
//   ASK_CALLS=500 node benchmark/cluster-ask.js
//   ASK_PHASES=steady node benchmark/cluster-ask.js   # only the calls without a migration
//
// It starts its own 3-master cluster on free loopback ports (through __test__/helpers/) and
// never talks to any other server.

const { SpotsSessions } = require('..')
const { startCluster } = require('../__test__/helpers/topologies')
const { sessionKey } = require('../__test__/helpers/layout')

const CALLS = Number(process.env.ASK_CALLS || 2000)
const SECONDS = Number(process.env.ASK_SECONDS || 3)
const CONCURRENCY = 64

const pct = (sorted, p) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]

/** `fn` CALLS times in a row: latency percentiles in ms. */
async function latency(fn) {
  const times = []
  for (let i = 0; i < CALLS; i++) {
    const t0 = process.hrtime.bigint()
    await fn(i)
    times.push(Number(process.hrtime.bigint() - t0) / 1e6)
  }
  times.sort((a, b) => a - b)
  return { p50: +pct(times, 50).toFixed(3), p99: +pct(times, 99).toFixed(3), max: +times[times.length - 1].toFixed(3) }
}

/** `fn` from CONCURRENCY loops for SECONDS: calls per second. */
async function throughput(fn) {
  let calls = 0
  const end = Date.now() + SECONDS * 1000
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async (_, w) => {
      while (Date.now() < end) {
        await fn(w, calls)
        calls++
      }
    }),
  )
  return Math.round(calls / SECONDS)
}

async function main() {
  const h = await startCluster()
  const s = new SpotsSessions({ cluster: h.seeds, commandTimeout: 10_000 })
  try {
    const app = 'bench'
    const tokens = await Promise.all(
      Array.from({ length: 1000 }, (_, i) => s.create({ app, ownerId: `o${i % 50}`, data: { i }, duration: 3600 })),
    )
    const hot = tokens[0]
    const slot = await h.slotOf(sessionKey(app, hot))
    const from = await h.nodeForSlot(slot)
    // a normal key served by the same node as the one that will be ASKed
    const normal = []
    for (const tk of tokens.slice(1))
      if ((await h.nodeForSlot(await h.slotOf(sessionKey(app, tk)))) === from) normal.push(tk)
    const cold = normal[0]
    const pickNormal = (w, n) => normal[(w * 7 + n) % normal.length]

    const out = { calls: CALLS, seconds: SECONDS, concurrency: CONCURRENCY }
    // warm up (scripts loaded, connections up)
    await latency(() => s.get({ app, token: cold }))
    out.steady = {
      getLatencyMs: await latency(() => s.get({ app, token: cold })),
      updateLatencyMs: await latency((i) => s.update({ app, token: cold, data: { n: i } })),
      getPerSecond: await throughput((w, n) => s.get({ app, token: pickNormal(w, n) })),
    }

    if (process.env.ASK_PHASES === 'steady') {
      console.log(JSON.stringify(out, null, 2))
      return
    }
    // half-migrate the slot: only the hot session moves, the slot stays MIGRATING/IMPORTING
    const to = h.nodes.find((n) => n !== from)
    await to.command('CLUSTER', 'SETSLOT', slot, 'IMPORTING', from.id)
    await from.command('CLUSTER', 'SETSLOT', slot, 'MIGRATING', to.id)
    await from.command('MIGRATE', '127.0.0.1', to.port, '', 0, 5000, 'KEYS', sessionKey(app, hot))
    out.migrating = {
      askedGetLatencyMs: await latency(() => s.get({ app, token: hot })),
      askedUpdateLatencyMs: await latency((i) => s.update({ app, token: hot, data: { n: i } })),
      normalGetLatencyMs: await latency(() => s.get({ app, token: cold })),
      askedGetPerSecond: await throughput(() => s.get({ app, token: hot })),
      normalGetPerSecond: await throughput((w, n) => s.get({ app, token: pickNormal(w, n) })),
    }
    const got = await s.get({ app, token: hot })
    if (!got || got.data.i !== 0) throw new Error(`the ASKed session read back wrong: ${JSON.stringify(got)}`)
    for (const n of h.nodes) await n.command('CLUSTER', 'SETSLOT', slot, 'NODE', to.id)
    console.log(JSON.stringify(out, null, 2))
  } finally {
    await s.quit().catch(() => {})
    await h.stop()
  }
}

main().catch((e) => {
  console.error(e)
  process.exit(1)
})
