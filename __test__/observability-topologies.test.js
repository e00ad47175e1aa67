'use strict'

// Issue 22 on Sentinel and Redis Cluster: each call's `spots-sessions:call` context names the
// server that served it (Sentinel: the current master; Cluster: the primary that owns the call's
// key slot), and a failover shows on `spots-sessions:connection:failover`, after which calls
// name the new server. The topologies are the harness's (helpers/), on free loopback ports.

const { describe, test, before, after } = require('node:test')
const assert = require('node:assert/strict')
const { sleep } = require('./helpers/redis.js')
const { startSentinel, startCluster } = require('./helpers/topologies.js')
const { sessionKey, indexKey } = require('./helpers/layout.js')
const { record, connectionEvents } = require('./helpers/observe.js')
const { SpotsSessions } = require('..')
const calls = require('node:diagnostics_channel').tracingChannel('spots-sessions:call')

/** `call()` until it resolves, at most `attempts` times (a failover settles meanwhile). */
async function eventually(call, attempts = 80) {
  let last
  for (let i = 0; i < attempts; i++) {
    try {
      return await call()
    } catch (err) {
      last = err
      await sleep(250)
    }
  }
  throw last
}

/** The start context of the one call `run()` makes. */
async function contextOf(run) {
  const r = record()
  try {
    await run()
  } finally {
    r.stop()
  }
  const starts = r.events.filter(([e]) => e === 'start')
  assert.equal(starts.length, 1)
  return starts[0][1]
}

describe('Sentinel', () => {
  let h
  let sessions
  let events
  before(async () => {
    h = await startSentinel()
    events = connectionEvents()
    sessions = new SpotsSessions(h.url)
  })
  after(async () => {
    events?.stop()
    sessions?.disconnect()
    await h?.stop()
  })

  test('calls name the current master; a failover publishes failover (old and new master) and calls then name the new one', async () => {
    const ready = await events.waitFor('ready')
    const master = await h.currentMaster()
    assert.equal(ready.serverPort, master)
    const token = await sessions.create({ app: 'obs-s', ownerId: 'o', duration: 600 })
    const before = await contextOf(() => sessions.get({ app: 'obs-s', token }))
    assert.equal(before.topology, 'sentinel')
    assert.equal(before.serverAddress, '127.0.0.1')
    assert.equal(before.serverPort, master)
    assert.equal(before.database, 0)

    const mark = events.events.length
    const oldPort = await h.killMaster()
    const newPort = await h.waitForFailover(oldPort, 40_000)
    await eventually(() => sessions.count({ app: 'obs-s', ownerId: 'o' }))
    const failover = await events.waitFor('failover', mark)
    assert.equal(failover.previousPort, oldPort)
    assert.equal(failover.serverPort, newPort)
    assert.match(failover.reason, new RegExp(`${oldPort}.*${newPort}`))
    const lost = events.events.slice(mark).find((e) => e.event === 'close')
    assert.equal(lost?.serverPort, oldPort, 'the lost connection to the old master was published')
    const after = await contextOf(() => sessions.get({ app: 'obs-s', token }))
    assert.equal(after.serverPort, newPort)
  })
})

describe('Redis Cluster (3 masters, 1 replica each)', () => {
  let h
  let sessions
  let events
  before(async () => {
    h = await startCluster({ masters: 3, replicas: 1 })
    events = connectionEvents()
    sessions = new SpotsSessions({ cluster: h.seeds })
  })
  after(async () => {
    events?.stop()
    sessions?.disconnect()
    await h?.stop()
  })

  const portOf = async (key) => (await h.nodeForSlot(await h.slotOf(key))).port

  test("each call's serverAddress and serverPort name the primary of its key's slot", async () => {
    const app = 'obs-c'
    const ports = new Set()
    for (let i = 0; i < 12; i++) {
      const ownerId = `owner-${i}`
      const create = await contextOf(() => sessions.create({ app, ownerId, duration: 600 }))
      assert.equal(create.serverPort, await portOf(indexKey(app, ownerId)), 'create: the owner index')
      const token = await sessions.create({ app, ownerId, duration: 600 })
      const get = await contextOf(() => sessions.get({ app, token }))
      const sessionPort = await portOf(sessionKey(app, token))
      assert.equal(get.serverPort, sessionPort, 'get: the session key')
      assert.equal(get.serverAddress, '127.0.0.1')
      assert.equal(get.database, 0)
      assert.equal(get.topology, 'cluster')
      const kill = await contextOf(() => sessions.kill({ app, sessionId: SpotsSessions.sessionIdOf(token) }))
      assert.equal(kill.serverPort, sessionPort, 'kill by session id: the session key')
      const count = await contextOf(() => sessions.count({ app, ownerId }))
      assert.equal(count.serverPort, await portOf(indexKey(app, ownerId)), 'count: the owner index')
      ports.add(get.serverPort)
    }
    assert.ok(ports.size > 1, `calls were served by several nodes: ${[...ports]}`)
  })

  test("a new instance's first call, made before the slot map is known, names its primary when it settles", async () => {
    const fresh = new SpotsSessions({ cluster: h.seeds })
    try {
      const app = 'obs-first'
      const ownerId = 'first-owner'
      const ends = []
      const handlers = { asyncEnd: (context) => ends.push({ ...context }) }
      calls.subscribe(handlers)
      try {
        await fresh.create({ app, ownerId, duration: 600 })
      } finally {
        calls.unsubscribe(handlers)
      }
      assert.equal(ends.length, 1)
      assert.equal(ends[0].serverAddress, '127.0.0.1')
      assert.equal(ends[0].serverPort, await portOf(indexKey(app, ownerId)))
    } finally {
      fresh.disconnect()
    }
  })

  test('a failover publishes failover (the promoted replica joins, the old primary leaves); calls then name the new primary', async () => {
    const app = 'obs-cf'
    const token = await sessions.create({ app, ownerId: 'o', duration: 600 })
    const key = sessionKey(app, token)
    const oldPrimary = await h.nodeForSlot(await h.slotOf(key))
    const replica = await h.replicaOf(oldPrimary)
    const mark = events.events.length
    await h.failover(replica)
    // The next call meets MOVED, and the client takes the new slot map.
    assert.deepEqual(await eventually(() => sessions.get({ app, token })), { ownerId: 'o', data: {} })
    const failover = await events.waitFor('failover', mark)
    assert.ok(failover.added.includes(`127.0.0.1:${replica.port}`), JSON.stringify(failover))
    assert.ok(failover.removed.includes(`127.0.0.1:${oldPrimary.port}`), JSON.stringify(failover))
    const after = await contextOf(() => sessions.get({ app, token }))
    assert.equal(after.serverPort, replica.port)
  })
})
