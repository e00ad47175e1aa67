'use strict'

// What `sessions.client` (a real ioredis instance) must do on EVERY topology (single server,
// TLS, Sentinel, Redis Cluster), through the libraries applications hand it to.
// `defineClientSuite(label, { start, options, cluster })` starts the topology once in `before`,
// runs every test below against it, and stops it in `after`.
//
//   start()          -> a harness handle (helpers/redis.js or helpers/topologies.js) with stop()
//   options(handle)  -> SpotsSessions constructor options for that topology
//   cluster          -> true on Redis Cluster: `client` is then an ioredis `Cluster`
//   extra(ctx)       -> optional: topology-specific tests in the same describe block
//
// Keys that one command or transaction uses together share a {hash tag}, so that every test
// holds on Redis Cluster too.

const { describe, test, before, after } = require('node:test')
const assert = require('node:assert/strict')
const Redis = require('ioredis')
const { RateLimiterRedis, RateLimiterRes } = require('rate-limiter-flexible')
const { RedisStore } = require('connect-redis')
const { SpotsSessions } = require('../..')
const { sessionKey } = require('../helpers/layout.js')

const GUARD = { timeout: 60_000 } // only so that a hang fails the test instead of the run

/** Resolves with the arguments of the next `event`. */
function once(emitter, event) {
  return new Promise((resolve) => emitter.once(event, (...args) => resolve(args)))
}

async function ready(client) {
  if (client.status !== 'ready') await once(client, 'ready')
}

function defineClientSuite(label, { start, options, cluster = false, extra }) {
  describe(label, () => {
    let handle
    let sessions
    let client
    const instances = []

    function open(extraOptions = {}) {
      const s = new SpotsSessions({ commandTimeout: 8000, ...options(handle), ...extraOptions })
      instances.push(s)
      return s
    }

    before(async () => {
      handle = await start()
      sessions = open()
      client = sessions.client
      await ready(client)
    })

    after(async () => {
      for (const s of instances) {
        try {
          await s.quit()
        } catch {
          // closed by the test already
        }
      }
      if (handle) await handle.stop()
    })

    test('client is a real ioredis instance, created on first read, the same object afterwards', GUARD, () => {
      assert.ok(client instanceof (cluster ? Redis.Cluster : Redis), `an ioredis ${cluster ? 'Cluster' : 'Redis'}`)
      assert.equal(sessions.client, client)
      assert.equal(client.status, 'ready')
    })

    test('the client and the session methods reach the same data', GUARD, async () => {
      const token = await sessions.create({ app: 'shared', ownerId: 'o', data: { a: 1 }, duration: 60 })
      assert.equal(await client.exists(sessionKey('shared', token)), 1, "the client sees the session's key")
      assert.ok((await client.pttl(sessionKey('shared', token))) > 0)
      await client.del(sessionKey('shared', token))
      assert.equal(
        await sessions.get({ app: 'shared', token }),
        undefined,
        'a key the client deletes is gone for the sessions',
      )
    })

    test('commands; a multi() whose second command fails resolves [[null, …], [err, …]]', GUARD, async () => {
      assert.equal(await client.set('{m}str', 'v', 'EX', 60), 'OK')
      assert.equal(await client.get('{m}str'), 'v')
      assert.equal(await client.hset('{m}h', { a: '1', b: 2 }), 2)
      assert.deepStrictEqual(await client.hgetall('{m}h'), { a: '1', b: '2' })
      const res = await client.multi().set('{m}k', 'text').incr('{m}k').get('{m}k').exec()
      assert.equal(res.length, 3)
      assert.deepStrictEqual(res[0], [null, 'OK'])
      assert.ok(res[1][0] instanceof Redis.ReplyError, `the failing command has its own ReplyError: ${res[1][0]}`)
      assert.match(res[1][0].message, /not an integer/)
      assert.deepStrictEqual(res[2], [null, 'text'], 'the commands after it still ran')
      const err = await client.incr('{m}k').then(
        () => assert.fail('INCR of text resolved'),
        (e) => e,
      )
      assert.ok(err instanceof Redis.ReplyError)
      assert.equal(err.command.name, 'incr', "ioredis's ReplyError names the command")
    })

    test('multi().incrby(k, 1).pttl(k).exec(true) resolves and does not crash the process', GUARD, async () => {
      await client.set('{x}n', '5', 'PX', 60_000)
      const res = await client.multi().incrby('{x}n', 1).pttl('{x}n').exec(true)
      assert.deepStrictEqual(res[0], [null, 6])
      assert.equal(res[1][0], null)
      assert.ok(res[1][1] > 0 && res[1][1] <= 60_000, `pttl ${res[1][1]}`)
      await new Promise((resolve) => setImmediate(resolve)) // anything scheduled has run
    })

    test('defineCommand: a Lua command, called directly and in a pipeline', GUARD, async () => {
      client.defineCommand('setAndDouble', {
        numberOfKeys: 1,
        lua: "redis.call('SET', KEYS[1], ARGV[1]); return tonumber(ARGV[1]) * 2",
      })
      assert.equal(await client.setAndDouble('{d}k', 21), 42)
      assert.equal(await client.get('{d}k'), '21')
      const res = await client.pipeline().setAndDouble('{d}k', 4).get('{d}k').exec()
      assert.deepStrictEqual(res, [
        [null, 8],
        [null, '4'],
      ])
    })

    test('duplicate() + subscribe / publish', GUARD, async () => {
      const sub = client.duplicate()
      try {
        assert.ok(sub instanceof (cluster ? Redis.Cluster : Redis))
        await sub.subscribe('news')
        const got = once(sub, 'message')
        // Publish until it arrives: a Cluster propagates the subscription asynchronously.
        let receivers = 0
        for (let i = 0; i < 50 && receivers === 0; i++) {
          receivers = await client.publish('news', 'hello')
          if (receivers === 0) await new Promise((resolve) => setTimeout(resolve, 100))
        }
        assert.deepStrictEqual(await got, ['news', 'hello'])
      } finally {
        await sub.quit()
      }
    })

    test('scanStream() finds every key of a pattern', GUARD, async () => {
      const N = 250
      const pipe = client.pipeline()
      for (let i = 0; i < N; i++) pipe.set(`{s}scan:${i}`, String(i), 'EX', 60)
      await pipe.exec()
      // A Cluster scans node by node, as ioredis documents.
      const streams = cluster
        ? client.nodes('master').map((node) => node.scanStream({ match: '{s}scan:*', count: 50 }))
        : [client.scanStream({ match: '{s}scan:*', count: 50 })]
      const keys = new Set()
      for (const stream of streams) {
        for await (const batch of stream) for (const k of batch) keys.add(k)
      }
      assert.equal(keys.size, N)
    })

    test(
      'rate-limiter-flexible RateLimiterRedis with storeClient: consume, penalty, reward, block, get, delete',
      GUARD,
      async () => {
        const limiter = new RateLimiterRedis({ storeClient: client, keyPrefix: 'rl', points: 5, duration: 60 })
        const first = await limiter.consume('1.2.3.4', 2)
        assert.equal(first.consumedPoints, 2)
        assert.equal(first.remainingPoints, 3)
        assert.ok(first.msBeforeNext > 0 && first.msBeforeNext <= 60_000)
        assert.equal((await limiter.penalty('1.2.3.4', 2)).consumedPoints, 4)
        assert.equal((await limiter.reward('1.2.3.4', 3)).consumedPoints, 1)
        assert.equal((await limiter.get('1.2.3.4')).consumedPoints, 1)
        const over = await limiter.consume('1.2.3.4', 5).then(
          () => assert.fail('consumed past the limit'),
          (r) => r,
        )
        assert.ok(over instanceof RateLimiterRes, `rejected with a RateLimiterRes, not ${over}`)
        assert.equal(over.remainingPoints, 0)
        const blocked = await limiter.block('5.6.7.8', 120)
        assert.ok(
          blocked.msBeforeNext > 60_000 && blocked.msBeforeNext <= 120_000,
          `blocked for ${blocked.msBeforeNext} ms`,
        )
        await assert.rejects(limiter.consume('5.6.7.8'), (r) => r instanceof RateLimiterRes && r.msBeforeNext > 60_000)
        assert.equal(await limiter.delete('1.2.3.4'), true)
        assert.equal(await limiter.get('1.2.3.4'), null)
        assert.equal(await limiter.delete('1.2.3.4'), false)
      },
    )

    test('connect-redis 8 RedisStore for express-session: set, get, touch, destroy', GUARD, async () => {
      const store = new RedisStore({ client, prefix: 'sess:' })
      const expires = (s) => new Date(Date.now() + s * 1000).toISOString()
      const session = {
        cookie: { originalMaxAge: 60_000, expires: expires(60), httpOnly: true, path: '/' },
        user: 'jane',
      }
      await store.set('sid-1', session)
      assert.deepStrictEqual(await store.get('sid-1'), session)
      const ttl = await client.ttl('sess:sid-1')
      assert.ok(ttl > 0 && ttl <= 60, `ttl ${ttl}`)
      await store.touch('sid-1', { ...session, cookie: { ...session.cookie, expires: expires(3600) } })
      assert.ok((await client.ttl('sess:sid-1')) > 60, 'touch extended the TTL')
      await store.destroy('sid-1')
      assert.equal(await store.get('sid-1'), null)
      assert.equal(await client.exists('sess:sid-1'), 0)
    })

    test('sessions.quit() quits the client too, and waits for it to end', GUARD, async () => {
      const s = open()
      const c = s.client
      await ready(c)
      assert.equal(await c.ping(), 'PONG')
      assert.equal(await s.quit(), 'OK')
      assert.equal(c.status, 'end')
      await assert.rejects(c.get('k'), /Connection is closed/)
    })

    if (extra) {
      extra({
        get handle() {
          return handle
        },
        get sessions() {
          return sessions
        },
        get client() {
          return client
        },
        open,
      })
    }
  })
}

module.exports = { defineClientSuite, once, ready }
