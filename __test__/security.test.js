'use strict'

// The security pass (issue 21; CONTRACT.md, "Security"): `kill` scoped to an owner, `list` with
// a `limit`, options and arguments read from own properties only, the warning for short tokens,
// and, on Redis Cluster, `killAll` racing `rotate` with the race forced. Each test failed on
// the code before the change.

const { describe, test, before, after } = require('node:test')
const assert = require('node:assert/strict')
const { SpotsSessions } = require('..')
const { startRedis, sleep } = require('./helpers/redis.js')
const { startCluster } = require('./helpers/topologies.js')
const { sessionKey, indexKey } = require('./helpers/layout.js')
const { supports } = require('./helpers/server-binary.js')

const idOf = (token) => SpotsSessions.sessionIdOf(token)
const idsOf = (list) => list.map((s) => s.sessionId)

/** The calls whose contract does not depend on the topology, on a single server and on Cluster. */
function defineScopedSuite(label, start, options = {}) {
  describe(label, options, () => {
    let h
    let s
    let seq = 0
    const fresh = (what) => `${what}-${process.pid}-${++seq}`

    before(async () => {
      h = await start()
      s = h.sessions
    })
    after(async () => {
      await s.quit()
      await h.stop()
    })

    test('kill with ownerId: only a session of that owner; another owner gets false and the session lives on', async () => {
      const app = fresh('scoped-kill')
      const victim = await s.create({ app, ownerId: 'alice', data: { n: 1 }, duration: 600 })
      const mine = await s.create({ app, ownerId: 'mallory', duration: 600 })
      // By id, as a "your devices" page would let a user do with an id it saw somewhere.
      assert.equal(await s.kill({ app, ownerId: 'mallory', sessionId: idOf(victim) }), false)
      assert.deepEqual(await s.get({ app, token: victim }), { ownerId: 'alice', data: { n: 1 } })
      assert.deepEqual(idsOf(await s.list({ app, ownerId: 'alice' })), [idOf(victim)], 'still listed')
      // By token, too.
      assert.equal(await s.kill({ app, ownerId: 'mallory', token: victim }), false)
      assert.ok(await s.get({ app, token: victim }))
      // A number ownerId is a string, as everywhere else; the right owner kills.
      const numeric = await s.create({ app, ownerId: 42, duration: 600 })
      assert.equal(await s.kill({ app, ownerId: 41, sessionId: idOf(numeric) }), false)
      assert.equal(await s.kill({ app, ownerId: 42, sessionId: idOf(numeric) }), true)
      assert.equal(await s.kill({ app, ownerId: 'alice', sessionId: idOf(victim) }), true)
      assert.equal(await s.get({ app, token: victim }), undefined)
      assert.equal(await s.count({ app, ownerId: 'alice' }), 0, 'its index entry went with it')
      assert.equal(await s.kill({ app, ownerId: 'mallory', token: mine }), true)
      assert.equal(await s.kill({ app, ownerId: 'alice', sessionId: idOf(victim) }), false, 'gone already')
    })

    test('list with limit: at most limit sessions, the newest-created first', async () => {
      const app = fresh('limit')
      const tokens = []
      for (let i = 0; i < 7; i++) {
        tokens.push(await s.create({ app, ownerId: 'o', data: { i }, duration: 600 }))
        await sleep(3) // distinct creation times (ms)
      }
      const all = await s.list({ app, ownerId: 'o' })
      assert.deepEqual(idsOf(all), tokens.map(idOf).reverse())
      // expiresAt is the server's clock plus PTTL, read anew by each call: it may move by 1 ms.
      for (const limit of [1, 3, 7, 50]) {
        const some = await s.list({ app, ownerId: 'o', limit })
        assert.deepEqual(idsOf(some), idsOf(all.slice(0, limit)), `limit ${limit}`)
        assert.deepEqual(
          some.map(({ sessionId, createdAt, data }) => ({ sessionId, createdAt, data })),
          all.slice(0, limit).map(({ sessionId, createdAt, data }) => ({ sessionId, createdAt, data })),
        )
        for (const [i, x] of some.entries()) assert.ok(Math.abs(x.expiresAt - all[i].expiresAt) <= 2, 'expiresAt')
      }
      assert.deepEqual(
        (await s.list({ app, ownerId: 'o', limit: 2 })).map((x) => x.data),
        [{ i: 6 }, { i: 5 }],
      )
      // A killed session does not count towards the limit.
      await s.kill({ app, token: tokens[6] })
      assert.deepEqual(idsOf(await s.list({ app, ownerId: 'o', limit: 2 })), [idOf(tokens[5]), idOf(tokens[4])])
      assert.equal(await s.count({ app, ownerId: 'o' }), 6)
    })
  })
}

defineScopedSuite('single server', async () => {
  const server = await startRedis()
  return {
    sessions: new SpotsSessions({ connectionString: server.url, commandTimeout: 10_000 }),
    stop: () => server.stop(),
  }
})

defineScopedSuite(
  'Redis Cluster (3 masters)',
  async () => {
    const h = await startCluster()
    return { sessions: new SpotsSessions({ cluster: h.seeds, commandTimeout: 10_000 }), stop: () => h.stop() }
  },
  { skip: supports(7) ? false : 'the cluster harness needs Redis 7.0+ (--cluster-port)' },
)

describe('arguments', () => {
  let server
  let s
  before(async () => {
    server = await startRedis()
    s = new SpotsSessions({ connectionString: server.url, commandTimeout: 10_000 })
  })
  after(async () => {
    await s.quit()
    await server.stop()
  })

  test('kill: ownerId is a string (or a number); list: limit a whole number of at least 1', async () => {
    for (const ownerId of [{}, [], true, 1n, Symbol('o')]) {
      const err = await s.kill({ app: 'a', ownerId, sessionId: 'A'.repeat(22) }).catch((e) => e)
      assert.equal(err.code, 'ERR_INVALID_ARG_TYPE')
      assert.match(err.message, /ownerId/)
    }
    for (const limit of ['3', {}, true, 3n]) {
      const err = await s.list({ app: 'a', ownerId: 'o', limit }).catch((e) => e)
      assert.equal(err.code, 'ERR_INVALID_ARG_TYPE')
      assert.match(err.message, /limit/)
    }
    for (const limit of [0, -1, 1.5, NaN, Infinity, 2 ** 32]) {
      const err = await s.list({ app: 'a', ownerId: 'o', limit }).catch((e) => e)
      assert.equal(err.code, 'ERR_INVALID_ARG_VALUE', `limit ${limit}`)
      assert.match(err.message, /limit/)
    }
  })

  test('a polluted Object.prototype changes neither the options nor the calls', async () => {
    const polluted = {
      // Options: another db, TLS without verification, a socket path, a cluster.
      db: 5,
      tls: { rejectUnauthorized: false },
      path: '/nonexistent/redis.sock',
      cluster: [{ host: '127.0.0.1', port: 1 }],
      connectionString: 'redis://127.0.0.1:1',
      tokenSize: 8,
      // Call arguments: each would change what a call does.
      sessionId: 'A'.repeat(22),
      exceptToken: 'kept',
      refresh: 1,
      maxSessions: 1,
      limit: 1,
      ownerId: 'someone',
      duration: 1,
    }
    let sessions
    const app = `polluted-${process.pid}`
    let started
    try {
      Object.assign(Object.prototype, polluted)
      sessions = new SpotsSessions({ connectionString: server.url, commandTimeout: 10_000 })
      started = sessions.create({ app, ownerId: 'o', data: { x: 1 } })
    } finally {
      for (const field of Object.keys(polluted)) delete Object.prototype[field]
    }
    try {
      const token = await started
      assert.equal(token.length, 172, 'tokenSize is the default 128 bytes, base64')
      assert.ok((await server.command('EXISTS', sessionKey(app, token))) === 1, 'stored in db 0')
      assert.equal(await server.command('TTL', sessionKey(app, token)), -1, 'no duration: no TTL')
      const second = await sessions.create({ app, ownerId: 'o', duration: 600 })
      let calls
      try {
        Object.assign(Object.prototype, polluted)
        calls = Promise.all([
          sessions.get({ app, token }),
          sessions.kill({ app, token }),
          sessions.list({ app, ownerId: 'o' }),
        ])
      } finally {
        for (const field of Object.keys(polluted)) delete Object.prototype[field]
      }
      const [got, killed, listed] = await calls
      assert.deepEqual(got, { ownerId: 'o', data: { x: 1 } })
      assert.equal(killed, true, 'kill by token, not by the inherited sessionId')
      assert.deepEqual(idsOf(listed), [idOf(second)], 'no inherited limit, the right owner')
      assert.ok((await server.command('TTL', sessionKey(app, second))) > 1, 'no inherited refresh')
    } finally {
      await sessions.quit()
    }
  })

  test('tokenSize under 16 bytes: accepted, with one process warning SPOTS_SESSIONS_WEAK_TOKEN', async () => {
    const warnings = []
    const onWarning = (w) => {
      if (w.code === 'SPOTS_SESSIONS_WEAK_TOKEN') warnings.push(w)
    }
    process.on('warning', onWarning)
    const made = []
    try {
      for (const tokenSize of [16, 128]) made.push(new SpotsSessions({ connectionString: server.url, tokenSize }))
      await sleep(50) // warnings are emitted on the next tick
      assert.equal(warnings.length, 0, '16 bytes and more: no warning')
      for (const tokenSize of [15, 8, 12]) made.push(new SpotsSessions({ connectionString: server.url, tokenSize }))
      await sleep(50)
      assert.equal(warnings.length, 1, 'once per process')
      assert.match(warnings[0].message, /tokenSize 15/)
      const token = await made[2].create({ app: 'weak', ownerId: 'o' })
      assert.equal(Buffer.from(token, 'base64').length, 15, 'still works')
    } finally {
      process.off('warning', onWarning)
      await Promise.all(made.map((m) => m.quit()))
    }
  })
})

describe('Redis Cluster: killAll racing rotate', { skip: supports(7) ? false : 'needs Redis 7.0+' }, () => {
  let h
  let s
  before(async () => {
    h = await startCluster()
    s = new SpotsSessions({ cluster: h.seeds, commandTimeout: 10_000 })
  })
  after(async () => {
    await s.quit()
    await h.stop()
  })

  // The race: rotate takes the old session before killAll reads the index, and lists the new
  // one after. Forced with CLIENT PAUSE WRITE on the old session's node: rotate's take is
  // queued there (a script is a write), killAll's index read (ZRANGE, on another node) goes
  // through, and its take of the old id queues behind rotate's.
  test('a session rotated while killAll runs is killed too (the race forced)', async () => {
    for (let round = 0; round < 3; round++) {
      const app = `race-rotate-${process.pid}-${round}`
      const owner = 'o'
      const indexNode = await h.nodeForSlot(await h.slotOf(indexKey(app, owner)))
      let token
      let sessionNode
      for (let i = 0; i < 50; i++) {
        const t = await s.create({ app, ownerId: owner, duration: 600 })
        const node = await h.nodeForSlot(await h.slotOf(sessionKey(app, t)))
        if (node.port !== indexNode.port) {
          token = t
          sessionNode = node
          break
        }
      }
      assert.ok(token, 'a session on another node than its index')
      await sessionNode.command('CLIENT', 'PAUSE', '400', 'WRITE')
      const rotated = s.rotate({ app, token })
      await sleep(100) // rotate's take is now queued on the paused node
      const killedAll = s.killAll({ app, ownerId: owner })
      const [newToken, killed] = await Promise.all([rotated, killedAll])
      assert.equal(typeof newToken, 'string', 'the rotation went through')
      assert.equal(killed, true)
      assert.equal(await s.get({ app, token: newToken }), undefined, 'the rotated session is signed out too')
      assert.equal(await s.count({ app, ownerId: owner }), 0)
      assert.equal(await s.get({ app, token }), undefined, 'the old token is dead')
    }
  })
})
