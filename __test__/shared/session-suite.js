'use strict'

// The API-level behaviours that must hold on EVERY topology (single server, TLS, Sentinel,
// Redis Cluster). `defineSessionSuite(label, { start, options, … })` starts the topology once in
// `before`, runs every test below against it, and stops it in `after`.
//
//   start()            -> a harness handle (helpers/redis.js or helpers/topologies.js) with stop()
//   options(handle)    -> SpotsSessions constructor options for that topology
//   command(handle)    -> optional: (…args) => Promise, one raw command against the data
//                         (default handle.command; on Cluster it follows MOVED/ASK)
//   slotOf(handle)     -> optional: (key) => Promise<slot>, on Cluster only
//   extra(ctx)         -> optional: defines topology-specific tests in the same describe block,
//                         after the shared ones (so the topology is started only once)
//
// Every promise of a session method goes through `guard()`: a rejection (or a per-command error
// in a pipeline/multi reply) whose message contains CROSSSLOT fails the test. (`client`, an
// ioredis instance, has a suite of its own: shared/client-suite.js.)

const { describe, test, before, after } = require('node:test')
const assert = require('node:assert/strict')
const { SpotsSessions } = require('../..')
const { sleep } = require('../helpers/redis.js')
const { sessionKey, sessionId, indexKey } = require('../helpers/layout.js')

const str = (v) => (Buffer.isBuffer(v) ? v.toString() : v)

/** `fn`'s promise, or `onTimeout()` after `ms`; the timer never keeps the process alive. */
async function within(promise, ms, onTimeout) {
  let timer
  const timeout = new Promise((resolve) => {
    timer = setTimeout(() => resolve(onTimeout()), ms)
  })
  try {
    return await Promise.race([promise, timeout])
  } finally {
    clearTimeout(timer)
  }
}

/** Records `err` and fails the test if it is a CROSSSLOT error. */
function makeChecker(seen) {
  return function check(err, what = 'a call') {
    seen.push(err)
    const message = err && typeof err.message === 'string' ? err.message : String(err)
    assert.ok(!message.includes('CROSSSLOT'), `${what} failed with a CROSSSLOT error: ${message}`)
  }
}

/**
 * A proxy over a SpotsSessions (or its client, or a pipeline) whose every returned promise is
 * checked by `check` on rejection, and whose pipeline/multi replies have their per-command
 * errors checked too. Methods run on the real object (the class has private fields).
 */
function guard(target, check) {
  const proxies = new WeakMap()
  const wrap = (value, name) => {
    if (value === null || typeof value !== 'object') return value
    if (typeof value.then === 'function') {
      return value.then(
        (result) => {
          if (Array.isArray(result)) {
            for (const item of result) {
              if (Array.isArray(item) && item[0] instanceof Error) check(item[0], `${name} (a command in the batch)`)
            }
          }
          return result
        },
        (err) => {
          check(err, name)
          throw err
        },
      )
    }
    if (proxies.has(value)) return proxies.get(value)
    const proxy = new Proxy(value, {
      get(t, prop) {
        const v = Reflect.get(t, prop, t)
        if (typeof v !== 'function') return typeof prop === 'string' ? wrap(v, prop) : v
        return (...args) => {
          const r = v.apply(t, args)
          return r === t ? proxy : wrap(r, String(prop))
        }
      },
    })
    proxies.set(value, proxy)
    return proxy
  }
  return wrap(target, 'instance')
}

const sample = () => ({
  firstName: 'John',
  lastName: 'Doe',
  currentDeviceToken: '123', // a string of digits stays a string
  // eslint-disable-next-line no-loss-of-precision -- deliberately more digits than a double holds: the double it rounds to must round-trip
  n: 12345678901234567890,
  float: 0.1,
  neg: -0,
  big: 2 ** 53 + 2,
  unicode: 'é😀\u2028',
  nested: { list: [1, 'two', null, { deep: true }], empty: {} },
  nothing: null,
  when: new Date(0),
  dropped: undefined,
  fn() {},
})

const roundTrip = (x) => JSON.parse(JSON.stringify(x))

function defineSessionSuite(label, { start, options, command: commandOf, slotOf: slotOfOf, extra }) {
  describe(label, () => {
    let handle
    const instances = [] // the real SpotsSessions, to close in after()
    const seen = [] // every rejection/batch error seen by guard()
    const check = makeChecker(seen)
    let sessions // guarded main instance
    let second // guarded second instance (its own connection), for races
    let command
    let slotOf

    function openRaw(opts) {
      const s = new SpotsSessions({ commandTimeout: 5000, ...opts })
      instances.push(s)
      return guard(s, check)
    }
    const open = (extraOpts = {}) => openRaw({ ...options(handle), ...extraOpts })

    before(async () => {
      handle = await start()
      command = commandOf ? commandOf(handle) : (...args) => handle.command(...args)
      slotOf = slotOfOf ? slotOfOf(handle) : null
      sessions = open()
      second = open()
    })

    after(async () => {
      for (const s of instances) {
        const done = await within(
          s.quit().then(
            () => true,
            () => true,
          ),
          5000,
          () => false,
        )
        if (!done) s.disconnect()
      }
      if (handle) await handle.stop()
    })

    // -----------------------------------------------------------------------------------------
    // the methods table

    test('create resolves to a fresh token string; get resolves to { ownerId, data }', async () => {
      const app = 'm-create'
      const token = await sessions.create({ app, ownerId: '123qwe', data: { firstName: 'John' }, duration: 60 })
      assert.equal(typeof token, 'string')
      assert.match(token, /^[A-Za-z0-9+/]{171}=$/, 'base64 of tokenSize (128) bytes, padded')
      assert.equal(Buffer.from(token, 'base64').length, 128)
      const other = await sessions.create({ app, ownerId: '123qwe', data: {}, duration: 60 })
      assert.notEqual(other, token)
      assert.deepStrictEqual(await sessions.get({ app, token }), { ownerId: '123qwe', data: { firstName: 'John' } })
      // a numeric ownerId becomes a string, as in 1.x
      const numeric = await sessions.create({ app, ownerId: 42, duration: 60 })
      assert.deepStrictEqual(await sessions.get({ app, token: numeric }), { ownerId: '42', data: {} })
    })

    test('get resolves to undefined (not null) for an unknown token or another app', async () => {
      const got = await sessions.get({ app: 'm-get', token: 'no-such-token' })
      assert.equal(got, undefined)
      assert.notEqual(got, null)
      const token = await sessions.create({ app: 'm-get-a', ownerId: 'o', data: {}, duration: 60 })
      assert.equal(await sessions.get({ app: 'm-get-b', token }), undefined)
      assert.ok(await sessions.get({ app: 'm-get-a', token }))
    })

    test('data round-trips exactly as JSON.parse(JSON.stringify(data))', async () => {
      const data = sample()
      const token = await sessions.create({ app: 'm-data', ownerId: 'u', data, duration: 60 })
      const got = await sessions.get({ app: 'm-data', token })
      assert.deepStrictEqual(got, { ownerId: 'u', data: roundTrip(data) })
      assert.equal(got.data.n, data.n)
      assert.equal(got.data.big, 2 ** 53 + 2)
      assert.ok(Object.is(got.data.neg, 0))
      assert.equal('dropped' in got.data, false)
      // data and duration are optional
      const bare = await sessions.create({ app: 'm-data', ownerId: 'bare' })
      assert.deepStrictEqual(await sessions.get({ app: 'm-data', token: bare }), { ownerId: 'bare', data: {} })
      assert.equal(await command('PTTL', sessionKey('m-data', bare)), -1, 'no duration: no TTL')
      assert.equal(await sessions.kill({ app: 'm-data', token: bare }), true)
    })

    test('refresh sets the remaining life and resolves true; false (creating nothing) when not found', async () => {
      const app = 'm-refresh'
      const token = await sessions.create({ app, ownerId: 'r', data: {}, duration: 10 })
      assert.equal(await sessions.refresh({ app, token, duration: 5000 }), true)
      // The index first: its expiry may be as little as 1 ms after the session's, and the
      // session's PTTL read later is then the smaller of the two however long the reads take.
      const indexPttl = await command('PTTL', indexKey(app, 'r'))
      const pttl = await command('PTTL', sessionKey(app, token))
      assert.ok(pttl > 4_990_000 && pttl <= 5_000_000, `PTTL near 5000 s, got ${pttl}`)
      assert.ok(indexPttl >= pttl, 'the index outlives the refreshed session')
      assert.equal(await sessions.refresh({ app, token: 'missing', duration: 60 }), false)
      assert.equal(await command('EXISTS', sessionKey(app, 'missing')), 0, 'refresh created no session')
    })

    test('update: shallow merge, null deletes, undefined is ignored; false (creating nothing) when not found', async () => {
      const app = 'm-update'
      const token = await sessions.create({
        app,
        ownerId: 'up',
        duration: 60,
        data: { name: 'John', age: 20, keep: { deep: 1 }, untouched: 'u' },
      })
      const res = await sessions.update({
        app,
        token,
        data: { name: null, age: 25, untouched: undefined, keep: { other: 2 }, added: [null] },
      })
      assert.equal(res, true)
      assert.deepStrictEqual(await sessions.get({ app, token }), {
        ownerId: 'up',
        data: { age: 25, keep: { other: 2 }, untouched: 'u', added: [null] },
      })
      assert.equal(
        await sessions.update({ app, token, data: { age: null, keep: null, untouched: null, added: null } }),
        true,
      )
      assert.deepStrictEqual(
        await sessions.get({ app, token }),
        { ownerId: 'up', data: {} },
        'deleting every key leaves an empty session',
      )
      assert.equal(await sessions.update({ app, token, data: {} }), true)
      assert.equal(await sessions.update({ app, token: 'missing', data: { a: 1 } }), false)
      assert.equal(await command('EXISTS', sessionKey(app, 'missing')), 0, 'update created no session')
    })

    test('update keeps the remaining life (the one refresh set), never resets or removes it', async () => {
      const app = 'm-update-ttl'
      const token = await sessions.create({ app, ownerId: 'o', data: { a: 1 }, duration: 100 })
      assert.equal(await sessions.refresh({ app, token, duration: 50 }), true)
      const before = await command('PTTL', sessionKey(app, token))
      assert.ok(before > 0 && before <= 50_000, `refresh set ~50 s, got ${before}`)
      assert.equal(await sessions.update({ app, token, data: { b: 2, a: null } }), true)
      const afterUpdate = await command('PTTL', sessionKey(app, token))
      assert.ok(afterUpdate > 0 && afterUpdate <= before, `update kept the life: ${before} -> ${afterUpdate}`)
      assert.deepStrictEqual(await sessions.get({ app, token }), { ownerId: 'o', data: { b: 2 } })
      // a session without a duration stays without one
      const eternal = await sessions.create({ app, ownerId: 'o', data: {} })
      assert.equal(await sessions.update({ app, token: eternal, data: { c: 3 } }), true)
      assert.equal(await command('PTTL', sessionKey(app, eternal)), -1)
    })

    test('kill resolves true, then false; the session is gone for every method', async () => {
      const app = 'm-kill'
      const token = await sessions.create({ app, ownerId: 'k', data: {}, duration: 60 })
      assert.equal(await sessions.kill({ app, token }), true)
      assert.equal(await sessions.get({ app, token }), undefined)
      assert.equal(await sessions.kill({ app, token }), false)
      assert.equal(await sessions.refresh({ app, token, duration: 60 }), false)
      assert.equal(await sessions.update({ app, token, data: { a: 1 } }), false)
      assert.equal(await command('EXISTS', sessionKey(app, token)), 0)
      assert.equal(await command('ZSCORE', indexKey(app, 'k'), sessionId(token)), null, 'kill removed the index entry')
    })

    test('killAll kills only that owner in only that app; true, then false', async () => {
      const mine = await Promise.all(
        [1, 2, 3].map(() => sessions.create({ app: 'ka', ownerId: 'victim', data: {}, duration: 60 })),
      )
      const eternal = await sessions.create({ app: 'ka', ownerId: 'victim', data: {} })
      const otherOwner = await sessions.create({ app: 'ka', ownerId: 'bystander', data: {}, duration: 60 })
      const otherApp = await sessions.create({ app: 'kb', ownerId: 'victim', data: {}, duration: 60 })
      assert.equal(await sessions.killAll({ app: 'ka', ownerId: 'victim' }), true)
      for (const token of [...mine, eternal]) assert.equal(await sessions.get({ app: 'ka', token }), undefined)
      assert.ok(await sessions.get({ app: 'ka', token: otherOwner }))
      assert.ok(await sessions.get({ app: 'kb', token: otherApp }))
      assert.equal(await sessions.killAll({ app: 'ka', ownerId: 'victim' }), false)
      assert.equal(await sessions.killAll({ app: 'ka', ownerId: 'nobody' }), false)
      assert.equal(await command('EXISTS', indexKey('ka', 'victim')), 0, 'killAll removed the index')
    })

    test('expiry: a session with duration 1 (or refreshed to 1) is gone for every method after ~2.2 s', async () => {
      const app = 'm-exp'
      const short = await sessions.create({ app, ownerId: 'e', data: { a: 1 }, duration: 1 })
      assert.ok(await sessions.get({ app, token: short }))
      const refreshed = await sessions.create({ app, ownerId: 'e2', data: { a: 1 } })
      const longLived = await sessions.create({ app, ownerId: 'e3', data: { a: 1 }, duration: 1 })
      assert.equal(await sessions.refresh({ app, token: refreshed, duration: 1 }), true)
      assert.equal(await sessions.refresh({ app, token: longLived, duration: 60 }), true)
      await sleep(2200)
      for (const [token, owner] of [
        [short, 'e'],
        [refreshed, 'e2'],
      ]) {
        assert.equal(await sessions.get({ app, token }), undefined)
        assert.equal(await sessions.refresh({ app, token, duration: 60 }), false)
        assert.equal(await sessions.update({ app, token, data: { b: 1 } }), false)
        assert.equal(await sessions.kill({ app, token }), false)
        assert.equal(await sessions.killAll({ app, ownerId: owner }), false)
        assert.equal(await sessions.get({ app, token }), undefined, 'nothing resurrected it')
        assert.equal(await command('EXISTS', sessionKey(app, token)), 0)
      }
      assert.deepStrictEqual(
        await sessions.get({ app, token: longLived }),
        { ownerId: 'e3', data: { a: 1 } },
        'a refreshed session outlives its first duration',
      )
    })

    // -----------------------------------------------------------------------------------------
    // storage

    test("storage: create in 'my-app' for 'u1': the session TTL is within (0, duration], its index exists and outlives it", async () => {
      const app = 'my-app'
      const owner = 'u1'
      const token = await sessions.create({ app, ownerId: owner, data: { a: 1 }, duration: 60 })
      // the index first: measured later, the session's PTTL can only be smaller
      const idx = await command('PTTL', indexKey(app, owner))
      const ses = await command('PTTL', sessionKey(app, token))
      assert.ok(ses > 0 && ses <= 60_000, `session PTTL within (0, 60000], got ${ses}`)
      assert.equal(await command('EXISTS', indexKey(app, owner)), 1, 'the index key exists')
      assert.ok(idx >= ses, `the index (PTTL ${idx}) outlives the session (PTTL ${ses})`)
      assert.equal(str(await command('TYPE', sessionKey(app, token))), 'hash')
      assert.equal(str(await command('TYPE', indexKey(app, owner))), 'zset')
      assert.notEqual(
        await command('ZSCORE', indexKey(app, owner), sessionId(token)),
        null,
        'the session is in its index',
      )

      // a longer-lived second session, then a refresh of the first beyond it
      const later = await sessions.create({ app, ownerId: owner, data: {}, duration: 300 })
      assert.equal(await sessions.refresh({ app, token, duration: 600 }), true)
      const idx2 = await command('PTTL', indexKey(app, owner))
      const ses2 = await command('PTTL', sessionKey(app, token))
      const later2 = await command('PTTL', sessionKey(app, later))
      assert.ok(ses2 > 300_000 && ses2 <= 600_000, `refreshed PTTL within (300 s, 600 s], got ${ses2}`)
      assert.ok(idx2 >= ses2 && idx2 >= later2, `the index (${idx2}) outlives both sessions (${ses2}, ${later2})`)

      // an endless session makes the index endless; killing it gives the index a TTL again
      const endless = await sessions.create({ app, ownerId: owner, data: {} })
      assert.equal(await command('PTTL', indexKey(app, owner)), -1)
      assert.equal(await sessions.kill({ app, token: endless }), true)
      const idx3 = await command('PTTL', indexKey(app, owner))
      assert.ok(idx3 > 0, `the index has a TTL again, got ${idx3}`)
      assert.equal(await sessions.killAll({ app, ownerId: owner }), true)
      assert.equal(await command('EXISTS', indexKey(app, owner)), 0)
    })

    // -----------------------------------------------------------------------------------------
    // hostile names

    const NAMES = ['*', '?', '[', '|', ':', '{', '}', '{tag}', '', 'a:b', 'b:c', '\\', '\\.', '\\(']

    test('hostile app names and tokens never reach another session', async () => {
      const made = []
      for (const app of NAMES) {
        const token = await sessions.create({ app, ownerId: 'victim', data: { app }, duration: 600 })
        made.push({ app, token })
      }
      // every hostile name as a token, in every hostile app: nothing found, nothing changed
      await Promise.all(
        NAMES.flatMap((app) =>
          NAMES.map(async (token) => {
            const what = `app ${JSON.stringify(app)} token ${JSON.stringify(token)}`
            assert.equal(await sessions.get({ app, token }), undefined, `get ${what}`)
            assert.equal(await sessions.refresh({ app, token, duration: 5 }), false, `refresh ${what}`)
            assert.equal(await sessions.update({ app, token, data: { hacked: true } }), false, `update ${what}`)
            assert.equal(await sessions.kill({ app, token }), false, `kill ${what}`)
          }),
        ),
      )
      // each real token is invisible from every other app
      await Promise.all(
        made.flatMap(({ app, token }) =>
          NAMES.filter((a) => a !== app).map(async (other) => {
            const what = `session of app ${JSON.stringify(app)} seen from app ${JSON.stringify(other)}`
            assert.equal(await sessions.get({ app: other, token }), undefined, `get: ${what}`)
            assert.equal(await sessions.update({ app: other, token, data: { hacked: true } }), false, `update: ${what}`)
            assert.equal(await sessions.kill({ app: other, token }), false, `kill: ${what}`)
          }),
        ),
      )
      for (const { app, token } of made) {
        assert.deepStrictEqual(
          await sessions.get({ app, token }),
          { ownerId: 'victim', data: { app } },
          `app ${JSON.stringify(app)} intact`,
        )
      }
      // killAll app by app kills exactly that app's session
      for (let i = 0; i < made.length; i++) {
        assert.equal(
          await sessions.killAll({ app: made[i].app, ownerId: 'victim' }),
          true,
          `killAll in ${JSON.stringify(made[i].app)}`,
        )
        assert.equal(await sessions.get(made[i]), undefined)
        for (const later of made.slice(i + 1)) {
          assert.ok(
            await sessions.get(later),
            `killAll in ${JSON.stringify(made[i].app)} killed app ${JSON.stringify(later.app)}`,
          )
        }
      }
    })

    test('hostile owner ids are distinct owners, returned exactly; glob owners match nothing', async () => {
      const app = 'owners'
      const tokens = []
      for (const ownerId of NAMES)
        tokens.push(await sessions.create({ app, ownerId, data: { who: ownerId }, duration: 600 }))
      for (let i = 0; i < NAMES.length; i++) {
        assert.deepStrictEqual(await sessions.get({ app, token: tokens[i] }), {
          ownerId: NAMES[i],
          data: { who: NAMES[i] },
        })
      }
      for (const ownerId of ['victim*', 'x?', '[*]', 'a*', '*:*']) {
        assert.equal(await sessions.killAll({ app, ownerId }), false, `killAll ${JSON.stringify(ownerId)}`)
      }
      for (let i = 0; i < NAMES.length; i++) {
        assert.equal(await sessions.killAll({ app, ownerId: NAMES[i] }), true, `killAll ${JSON.stringify(NAMES[i])}`)
        assert.equal(await sessions.get({ app, token: tokens[i] }), undefined)
        for (let k = i + 1; k < NAMES.length; k++) {
          assert.ok(
            await sessions.get({ app, token: tokens[k] }),
            `killAll of ${JSON.stringify(NAMES[i])} killed ${JSON.stringify(NAMES[k])}`,
          )
        }
        assert.equal(await sessions.killAll({ app, ownerId: NAMES[i] }), false)
      }
    })

    test('(app, owner) pairs that collide under naive concatenation are independent', async () => {
      // one row per set of (app, owner) pairs that collide under naive concatenation
      // prettier-ignore
      const groups = [
        [['a:b', 'c'], ['a', 'b:c'], ['a:b:c', ''], ['', 'a:b:c']],
        [['a{', 'b}'], ['a', '{b}'], ['{a}', 'b'], ['a\\(', 'b\\)']],
        [['a\\', '.b'], ['a', '\\.b'], ['a\\.', 'b']],
      ]
      for (const group of groups) {
        const made = []
        for (const [app, ownerId] of group) {
          made.push({
            app,
            ownerId,
            token: await sessions.create({ app, ownerId, data: { app, ownerId }, duration: 600 }),
          })
        }
        for (const { app, ownerId, token } of made) {
          assert.deepStrictEqual(await sessions.get({ app, token }), { ownerId, data: { app, ownerId } })
          for (const other of made) {
            if (other.app !== app) assert.equal(await sessions.get({ app: other.app, token }), undefined)
          }
        }
        for (let i = 0; i < made.length; i++) {
          const { app, ownerId, token } = made[i]
          const pair = `(${JSON.stringify(app)}, ${JSON.stringify(ownerId)})`
          assert.equal(await sessions.killAll({ app, ownerId }), true, `killAll ${pair}`)
          assert.equal(await sessions.get({ app, token }), undefined)
          for (const later of made.slice(i + 1)) {
            assert.ok(
              await sessions.get({ app: later.app, token: later.token }),
              `killAll ${pair} killed (${JSON.stringify(later.app)}, ${JSON.stringify(later.ownerId)})`,
            )
          }
        }
      }
    })

    // -----------------------------------------------------------------------------------------
    // concurrency

    test('200 concurrent updates of different fields on one session all land', async () => {
      const app = 'conc'
      const token = await sessions.create({ app, ownerId: 'o', data: { start: true }, duration: 600 })
      const results = await Promise.all(
        Array.from({ length: 200 }, (_, i) =>
          (i % 2 ? sessions : second).update({ app, token, data: { [`field${i}`]: i } }),
        ),
      )
      assert.ok(
        results.every((r) => r === true),
        'every update resolved true',
      )
      const expected = { start: true }
      for (let i = 0; i < 200; i++) expected[`field${i}`] = i
      assert.deepStrictEqual((await sessions.get({ app, token })).data, expected)
    })

    test('killAll racing 100 creates leaves no session outside the index; a second killAll gets everything', async (t) => {
      const app = 'race'
      let survivors = 0
      for (let round = 0; round < 4; round++) {
        const owner = `racer${round}`
        // sessions that exist before killAll starts: it must kill them and resolve true
        const early = await Promise.all(
          Array.from({ length: 10 }, (_, i) =>
            (i % 2 ? sessions : second).create({ app, ownerId: owner, data: { early: i }, duration: 600 }),
          ),
        )
        const creates = []
        let killAll
        for (let i = 0; i < 100; i++) {
          creates.push(
            (i % 2 ? sessions : second).create({ app, ownerId: owner, data: { i }, duration: i % 3 ? 600 : undefined }),
          )
          if (i === 50) killAll = sessions.killAll({ app, ownerId: owner })
        }
        const tokens = await Promise.all(creates)
        assert.equal(await killAll, true, `round ${round}: killAll found the sessions that existed before it`)
        for (const token of early)
          assert.equal(
            await sessions.get({ app, token }),
            undefined,
            `round ${round}: an early session survived killAll`,
          )
        // invariant: every session still alive is listed in its owner's index
        const missing = []
        for (const token of tokens) {
          if ((await sessions.get({ app, token })) === undefined) continue
          survivors++
          if ((await command('ZSCORE', indexKey(app, owner), sessionId(token))) === null) missing.push(token)
        }
        await second.killAll({ app, ownerId: owner })
        const left = (await Promise.all(tokens.map((token) => sessions.get({ app, token })))).filter(Boolean)
        assert.equal(
          missing.length,
          0,
          `round ${round}: ${missing.length} live session(s) missing from the owner's index after killAll raced creates; ${left.length} of them escaped the second killAll`,
        )
        assert.equal(left.length, 0, `round ${round}: ${left.length} session(s) escaped the second killAll`)
        assert.equal(await command('EXISTS', indexKey(app, owner)), 0, `round ${round}: the index is gone`)
      }
      t.diagnostic(`survivors of the racing killAll: ${survivors}`)
    })

    // -----------------------------------------------------------------------------------------

    if (extra) {
      extra({
        get handle() {
          return handle
        },
        get sessions() {
          return sessions
        },
        get command() {
          return command
        },
        get slotOf() {
          return slotOf
        },
        /** A new guarded instance with this topology's options plus `extraOpts`. */
        open,
        /** A new guarded instance with exactly `opts` (plus the default commandTimeout). */
        openRaw,
        check,
        seen,
      })
    }

    test('no call on this topology ever failed with CROSSSLOT', (t) => {
      const crossslot = seen.filter((e) => String(e && e.message).includes('CROSSSLOT'))
      t.diagnostic(`${seen.length} rejection(s)/batch error(s) seen, ${crossslot.length} CROSSSLOT`)
      assert.equal(crossslot.length, 0)
    })
  })
}

module.exports = { defineSessionSuite, guard, within }
