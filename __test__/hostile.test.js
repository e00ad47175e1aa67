'use strict'

// Hostile input, from JavaScript: names that are glob patterns, separators or malformed UTF-16;
// arguments of the wrong type; data that JSON cannot represent; absurd sizes and options.
// Every case must end in a precise answer (undefined/false, or a rejection that names the
// field), never in another session's data and never in a crashed process.

const { test, describe, before, after } = require('node:test')
const assert = require('node:assert/strict')
const { startRedis } = require('./helpers/redis.js')
const { SpotsSessions } = require('..')

let server
let sessions
const instances = []

function open(extra = {}) {
  const s = new SpotsSessions({ connectionString: server.url, commandTimeout: 10_000, ...extra })
  instances.push(s)
  return s
}

before(async () => {
  server = await startRedis()
  sessions = open()
})

after(async () => {
  for (const s of instances) await s.quit()
  await server.stop()
})

// ---------------------------------------------------------------------------------------------
// helpers

const LONG = 'x'.repeat(4000)
// Same length, differs only in the last character: catches truncating or prefix-hashing names.
const LONG2 = 'x'.repeat(3999) + 'y'

const HOSTILE = [
  '*',
  '?',
  '[',
  ']',
  '[a-z]',
  '|',
  ':',
  '{',
  '}',
  '{tag}',
  '\\',
  '',
  ' ',
  'a:b',
  'a\\.b',
  '\u0000',
  'é',
  '😀',
  '\ud800',
  '\udc00',
  LONG,
  // extra: escape-sequence look-alikes and more collision bait
  LONG2,
  '\\.',
  '\\(',
  '\\)',
  '\\\\',
  '::',
  'a{b',
  'a\\(b',
  '\ufffd',
  '*:*',
  'x\u0000',
  'x',
]

// Strings that, as Redis glob patterns, would match (almost) any token.
const GLOB_TOKENS = [...HOSTILE, '?'.repeat(172), '*'.repeat(172), '[A-Za-z0-9+/=]*', '[^]*', '*=', '\\*']

function label(s) {
  const shown = JSON.stringify(s)
  return shown.length > 40 ? `${shown.slice(0, 30)}…(${s.length} chars)` : shown
}

/** Calls `fn` expecting a Promise (no synchronous throw) that rejects with a coded Error naming `field`. */
async function rejectsNaming(fn, field, extra, what = '') {
  let p
  assert.doesNotThrow(() => {
    p = fn()
  }, `the call must not throw synchronously (field ${field}) ${what}`)
  assert.ok(p && typeof p.then === 'function', 'the call must return a Promise')
  const err = await p.then(
    (v) => assert.fail(`${what}: expected a rejection naming ${field}, resolved with ${label(v)}`),
    (e) => e,
  )
  assert.ok(err instanceof Error, `rejection must be an Error, got ${typeof err}`)
  assert.ok(err.message.includes(field), `${what}: message must name ${field}: ${err.message.slice(0, 300)}`)
  assert.equal(typeof err.code, 'string', 'err.code must be a string')
  assert.ok(err.code.length > 0, 'err.code must not be empty')
  if (extra) extra(err)
  return err
}

function throwsNaming(fn, field) {
  let instance
  let err
  try {
    instance = fn()
  } catch (e) {
    err = e
  }
  if (instance) instances.push(instance) // must not happen; close it in after()
  assert.ok(err !== undefined, `expected a synchronous throw naming ${field}`)
  assert.ok(err instanceof Error, 'must throw an Error')
  assert.ok(err.message.includes(field), `message must name ${field}: ${err.message}`)
  return err
}

const roundTrip = (x) => JSON.parse(JSON.stringify(x))

// ---------------------------------------------------------------------------------------------

describe('a) hostile names', () => {
  test('(1) glob, empty and look-alike tokens never reach an existing session', async () => {
    const apps = ['my-app', '*', '', ':', '{tag}', '\ud800']
    const real = []
    for (const app of apps) {
      for (let i = 0; i < 3; i++) {
        const data = { app, i }
        const token = await sessions.create({ app, ownerId: 'victim', data, duration: 600 })
        real.push({ app, token, data })
      }
    }
    const t0 = real[0].token
    const lookAlikes = [
      t0.slice(0, 10) + '*',
      t0.slice(0, -1) + '?',
      t0.toLowerCase(),
      t0 + ' ',
      ' ' + t0,
      t0.replace(/=+$/, ''),
      t0 + '\u0000',
      t0.slice(0, 171),
    ].filter((t) => t !== t0)
    for (const app of apps) {
      for (const token of [...GLOB_TOKENS, ...lookAlikes]) {
        const what = `app ${label(app)} token ${label(token)}`
        assert.equal(await sessions.get({ app, token }), undefined, `get ${what}`)
        assert.equal(await sessions.refresh({ app, token, duration: 5 }), false, `refresh ${what}`)
        assert.equal(await sessions.update({ app, token, data: { hacked: true } }), false, `update ${what}`)
        assert.equal(await sessions.kill({ app, token }), false, `kill ${what}`)
      }
      for (const ownerId of ['*', '?', '', 'victim*', 'v*', '[v]ictim', 'victim ', 'VICTIM']) {
        assert.equal(
          await sessions.killAll({ app, ownerId }),
          false,
          `killAll app ${label(app)} owner ${label(ownerId)}`,
        )
      }
    }
    // The real sessions are untouched by all of the above.
    for (const { app, token, data } of real) {
      assert.deepEqual(await sessions.get({ app, token }), { ownerId: 'victim', data }, `session in ${label(app)}`)
    }
    for (const app of apps) assert.equal(await sessions.killAll({ app, ownerId: 'victim' }), true)
  })

  test('(2) a session created under one app is invisible under every other app name', async () => {
    const apps = [...HOSTILE, 'my-app']
    assert.equal(new Set(apps).size, apps.length, 'the app list has no duplicates')
    const tokens = []
    for (let i = 0; i < apps.length; i++) {
      tokens.push(await sessions.create({ app: apps[i], ownerId: 'owner', data: { i }, duration: 600 }))
    }
    for (let i = 0; i < apps.length; i++) {
      const token = tokens[i]
      const checks = []
      for (let j = 0; j < apps.length; j++) {
        if (j === i) continue
        const app = apps[j]
        const what = `session of app ${label(apps[i])} seen from app ${label(app)}`
        checks.push(
          sessions.get({ app, token }).then((v) => assert.equal(v, undefined, `get: ${what}`)),
          sessions.refresh({ app, token, duration: 1 }).then((v) => assert.equal(v, false, `refresh: ${what}`)),
          sessions
            .update({ app, token, data: { i: -1, hacked: j } })
            .then((v) => assert.equal(v, false, `update: ${what}`)),
          sessions.kill({ app, token }).then((v) => assert.equal(v, false, `kill: ${what}`)),
        )
      }
      await Promise.all(checks)
    }
    // Each session is intact (no update, kill or refresh leaked into it).
    for (let i = 0; i < apps.length; i++) {
      assert.deepEqual(
        await sessions.get({ app: apps[i], token: tokens[i] }),
        { ownerId: 'owner', data: { i } },
        `app ${label(apps[i])}`,
      )
    }
    // killAll of the same owner, app by app: kills exactly that app's session.
    for (let i = 0; i < apps.length; i++) {
      assert.equal(await sessions.killAll({ app: apps[i], ownerId: 'owner' }), true, `killAll in ${label(apps[i])}`)
      assert.equal(await sessions.get({ app: apps[i], token: tokens[i] }), undefined, `killed in ${label(apps[i])}`)
      for (let k = i + 1; k < apps.length; k++) {
        assert.notEqual(
          await sessions.get({ app: apps[k], token: tokens[k] }),
          undefined,
          `killAll in ${label(apps[i])} killed app ${label(apps[k])}`,
        )
      }
      assert.equal(
        await sessions.killAll({ app: apps[i], ownerId: 'owner' }),
        false,
        `second killAll in ${label(apps[i])}`,
      )
    }
  })

  test('(2b) hostile owner ids in one app are distinct owners, returned exactly', async () => {
    const app = 'owners-app'
    const owners = [...HOSTILE, '\ud801', '\ud800\udc00', '\ud800\u0000']
    assert.equal(new Set(owners).size, owners.length)
    const tokens = []
    for (const ownerId of owners) {
      tokens.push(await sessions.create({ app, ownerId, data: { who: ownerId }, duration: 600 }))
    }
    for (let i = 0; i < owners.length; i++) {
      const got = await sessions.get({ app, token: tokens[i] })
      assert.deepEqual(got, { ownerId: owners[i], data: { who: owners[i] } }, `owner ${label(owners[i])}`)
      assert.equal(got.ownerId.length, owners[i].length)
    }
    for (let i = 0; i < owners.length; i++) {
      assert.equal(await sessions.killAll({ app, ownerId: owners[i] }), true, `killAll ${label(owners[i])}`)
      assert.equal(await sessions.get({ app, token: tokens[i] }), undefined)
      for (let k = i + 1; k < owners.length; k++) {
        assert.notEqual(
          await sessions.get({ app, token: tokens[k] }),
          undefined,
          `killAll of ${label(owners[i])} killed ${label(owners[k])}`,
        )
      }
    }
  })

  test('(3) (app, owner) pairs that collide under naive concatenation are independent', async () => {
    // one row per set of (app, owner) pairs that collide under naive concatenation
    // prettier-ignore
    const groups = [
      [['a:b', 'c'], ['a', 'b:c'], ['a:b:c', ''], ['', 'a:b:c'], ['a\\.b', 'c'], ['a', 'b\\.c']],
      [['a\\', '.b'], ['a', '\\.b'], ['a\\.', 'b'], ['a\\', '\\.b'], ['a\\\\', '.b']],
      [['a|ownerId:x', 'y'], ['a', 'x|ownerId:y'], ['a|ownerId', 'x:y'], ['a', 'ownerId:x|y'], ['a|token:', 'x'], ['a|', 'token:x']],
      [['a{', 'b}'], ['a\\(', 'b\\)'], ['a', '{b}'], ['a', '\\(b\\)'], ['{a}', 'b'], ['\\(a\\)', 'b']],
      [['app:my', 'token:x'], ['app', 'my:token:x'], ['app:my:token', 'x']],
    ]
    for (const group of groups) {
      const made = []
      for (const [app, ownerId] of group) {
        const tokens = [
          await sessions.create({ app, ownerId, data: { app, ownerId }, duration: 600 }),
          await sessions.create({ app, ownerId, data: { app, ownerId, n: 2 } }),
        ]
        made.push({ app, ownerId, tokens })
      }
      for (const { app, ownerId, tokens } of made) {
        for (const token of tokens) {
          const got = await sessions.get({ app, token })
          assert.ok(got, `(${label(app)}, ${label(ownerId)}) session exists`)
          assert.equal(got.ownerId, ownerId)
          assert.equal(got.data.app, app)
        }
      }
      for (let i = 0; i < made.length; i++) {
        const { app, ownerId, tokens } = made[i]
        const pair = `(${label(app)}, ${label(ownerId)})`
        assert.equal(await sessions.killAll({ app, ownerId }), true, `killAll ${pair} finds its sessions`)
        for (const token of tokens) assert.equal(await sessions.get({ app, token }), undefined, `${pair} killed`)
        for (let k = i + 1; k < made.length; k++) {
          for (const token of made[k].tokens) {
            assert.notEqual(
              await sessions.get({ app: made[k].app, token }),
              undefined,
              `killAll ${pair} killed a session of (${label(made[k].app)}, ${label(made[k].ownerId)})`,
            )
          }
        }
        assert.equal(await sessions.killAll({ app, ownerId }), false, `second killAll ${pair}`)
      }
    }
  })

  test('(4) lone surrogates are distinct from each other and from U+FFFD, as owners and apps', async () => {
    const names = ['\ud800', '\ud801', '\ufffd', '\udc00', '\udbff', '\ud800\udc00', 'a\ud800b', 'a\ufffdb', 'a\ud801b']
    assert.equal(new Set(names).size, names.length)
    // As owners in one app.
    const byOwner = []
    for (const ownerId of names) {
      byOwner.push(await sessions.create({ app: 'surrogates', ownerId, data: { ownerId } }))
    }
    for (let i = 0; i < names.length; i++) {
      assert.equal(
        await sessions.killAll({ app: 'surrogates', ownerId: names[i] }),
        true,
        `killAll owner ${label(names[i])}`,
      )
      assert.equal(await sessions.get({ app: 'surrogates', token: byOwner[i] }), undefined)
      for (let k = i + 1; k < names.length; k++) {
        const got = await sessions.get({ app: 'surrogates', token: byOwner[k] })
        assert.ok(got, `killAll of owner ${label(names[i])} killed owner ${label(names[k])}`)
        assert.equal(got.ownerId, names[k])
      }
    }
    // As apps, same owner.
    const byApp = []
    for (const app of names) byApp.push(await sessions.create({ app, ownerId: 'o', data: { app } }))
    for (let i = 0; i < names.length; i++) {
      for (let k = 0; k < names.length; k++) {
        if (k === i) continue
        assert.equal(
          await sessions.get({ app: names[k], token: byApp[i] }),
          undefined,
          `app ${label(names[i])} seen from ${label(names[k])}`,
        )
      }
    }
    for (let i = 0; i < names.length; i++) {
      assert.equal(await sessions.killAll({ app: names[i], ownerId: 'o' }), true, `killAll app ${label(names[i])}`)
      for (let k = i + 1; k < names.length; k++) {
        assert.deepEqual(await sessions.get({ app: names[k], token: byApp[k] }), {
          ownerId: 'o',
          data: { app: names[k] },
        })
      }
    }
  })

  test('(5) get returns ownerId exactly as given', async () => {
    for (const ownerId of ['\ud800', '', '😀', '\udc00x', 'x\ud800', '\u0000', 'a\\.b', '{tag}', '\u2028', LONG]) {
      const token = await sessions.create({ app: 'exact-owner', ownerId })
      const got = await sessions.get({ app: 'exact-owner', token })
      assert.deepEqual(got, { ownerId, data: {} }, `owner ${label(ownerId)}`)
      assert.equal(typeof got.ownerId, 'string')
      assert.equal(await sessions.killAll({ app: 'exact-owner', ownerId }), true)
    }
  })
})

// ---------------------------------------------------------------------------------------------

describe('b) bad input', () => {
  const APP = 'bad-input'
  const valid = {
    create: () => ({ app: APP, ownerId: 'o', data: { a: 1 }, duration: 60 }),
    get: () => ({ app: APP, token: 'nope' }),
    refresh: () => ({ app: APP, token: 'nope', duration: 60 }),
    update: () => ({ app: APP, token: 'nope', data: { a: 1 } }),
    kill: () => ({ app: APP, token: 'nope' }),
    killAll: () => ({ app: APP, ownerId: 'o' }),
  }
  const methods = Object.keys(valid)
  const NOT_STRINGS = [
    ['missing', undefined],
    ['null', null],
    ['number', 42],
    ['object', {}],
    ['array', ['a']],
    ['BigInt', 10n],
    ['Symbol', Symbol('s')],
    ['function', () => 'app'],
    ['boolean', true],
  ]

  test('a missing, null, number or string options argument rejects', async () => {
    for (const method of methods) {
      for (const arg of [[], [null], [42], ['app'], [true], [10n]]) {
        await rejectsNaming(() => sessions[method](...arg), method)
      }
    }
  })

  test('app of the wrong type rejects naming app', async () => {
    for (const method of methods) {
      for (const [, value] of NOT_STRINGS) {
        await rejectsNaming(() => sessions[method]({ ...valid[method](), app: value }), 'app')
      }
    }
  })

  test('token of the wrong type rejects naming token', async () => {
    for (const method of ['get', 'refresh', 'update', 'kill']) {
      for (const [, value] of NOT_STRINGS) {
        await rejectsNaming(() => sessions[method]({ ...valid[method](), token: value }), 'token')
      }
    }
  })

  test('ownerId of the wrong type rejects naming ownerId; finite numbers are coerced', async () => {
    const bad = [
      ...NOT_STRINGS.filter(([name]) => name !== 'number'),
      ['NaN', NaN],
      ['Infinity', Infinity],
      ['-Infinity', -Infinity],
    ]
    for (const method of ['create', 'killAll']) {
      for (const [, value] of bad) {
        await rejectsNaming(() => sessions[method]({ ...valid[method](), ownerId: value }), 'ownerId')
      }
    }
    const token = await sessions.create({ app: APP, ownerId: 42, data: { n: 1 } })
    assert.deepEqual(await sessions.get({ app: APP, token }), { ownerId: '42', data: { n: 1 } })
    assert.equal(await sessions.killAll({ app: APP, ownerId: 42 }), true, 'killAll with the number finds it')
    const token2 = await sessions.create({ app: APP, ownerId: 1.5 })
    assert.deepEqual(await sessions.get({ app: APP, token: token2 }), { ownerId: '1.5', data: {} })
    assert.equal(await sessions.killAll({ app: APP, ownerId: '1.5' }), true, 'killAll with the string finds it')
  })

  const BAD_DURATIONS = [
    ['NaN', NaN],
    ['Infinity', Infinity],
    ['-Infinity', -Infinity],
    ['-1', -1],
    ['0', 0],
    ['-0', -0],
    ['1.5', 1.5],
    ['0.5', 0.5],
    ['5e-324', 5e-324],
    ['2**31', 2 ** 31],
    ['1e300', 1e300],
    ["'3600'", '3600'],
    ['10n', 10n],
    ['object', {}],
    ['true', true],
    ['Symbol', Symbol('d')],
  ]

  test('bad durations reject naming duration (create and refresh)', async () => {
    const token = await sessions.create({ app: APP, ownerId: 'dur', data: { keep: 1 }, duration: 600 })
    for (const [name, value] of BAD_DURATIONS) {
      const err = await rejectsNaming(
        () => sessions.create({ ...valid.create(), ownerId: 'dur-bad', duration: value }),
        'duration',
      )
      assert.ok(err.message.length > 'duration'.length, `create duration ${name}: message explains`)
      await rejectsNaming(() => sessions.refresh({ app: APP, token, duration: value }), 'duration')
      await rejectsNaming(() => sessions.refresh({ app: APP, token: 'unknown', duration: value }), 'duration')
    }
    // refresh's duration is required.
    await rejectsNaming(() => sessions.refresh({ app: APP, token }), 'duration')
    await rejectsNaming(() => sessions.refresh({ app: APP, token, duration: null }), 'duration')
    // Nothing was created for the rejected creates, and the real session is unchanged.
    assert.equal(await sessions.killAll({ app: APP, ownerId: 'dur-bad' }), false)
    assert.deepEqual(await sessions.get({ app: APP, token }), { ownerId: 'dur', data: { keep: 1 } })
    assert.equal(await sessions.killAll({ app: APP, ownerId: 'dur' }), true)
  })

  test('create: duration and data are optional; boundary durations are accepted', async () => {
    for (const extra of [
      {},
      { duration: undefined },
      { duration: null },
      { data: undefined },
      { data: null },
      { duration: 1 },
      { duration: 2 ** 31 - 1 },
    ]) {
      const token = await sessions.create({ app: APP, ownerId: 'opt', ...extra })
      assert.equal(typeof token, 'string')
      assert.deepEqual(await sessions.get({ app: APP, token }), { ownerId: 'opt', data: {} }, JSON.stringify(extra))
    }
    const token = await sessions.create({ app: APP, ownerId: 'opt' })
    assert.equal(await sessions.refresh({ app: APP, token, duration: 2 ** 31 - 1 }), true)
    assert.equal(await sessions.killAll({ app: APP, ownerId: 'opt' }), true)
  })

  test('data of the wrong type rejects naming data (create and update)', async () => {
    const token = await sessions.create({ app: APP, ownerId: 'data', data: { keep: 1 } })
    const bad = [5, 'str', true, 10n, Symbol('x'), () => ({}), ['a'], []]
    for (const value of bad) {
      await rejectsNaming(() => sessions.create({ ...valid.create(), ownerId: 'data-bad', data: value }), 'data')
      await rejectsNaming(() => sessions.update({ app: APP, token, data: value }), 'data')
    }
    // update's data is required.
    await rejectsNaming(() => sessions.update({ app: APP, token }), 'data')
    await rejectsNaming(() => sessions.update({ app: APP, token, data: null }), 'data')
    assert.equal(await sessions.killAll({ app: APP, ownerId: 'data-bad' }), false)
    assert.deepEqual(await sessions.get({ app: APP, token }), { ownerId: 'data', data: { keep: 1 } })
  })
})

// ---------------------------------------------------------------------------------------------

describe('c) data that JSON cannot represent, and data that it can', () => {
  const APP = 'data-app'
  let token

  before(async () => {
    token = await sessions.create({ app: APP, ownerId: 'd', data: { keep: 'me' }, duration: 600 })
  })

  function deep(n) {
    const root = {}
    let cur = root
    for (let i = 0; i < n; i++) cur = cur.a = {}
    return root
  }

  const direct = { a: 1 }
  direct.self = direct
  const nested = { a: { b: {} } }
  nested.a.b.c = nested.a
  const unrepresentable = [
    ['BigInt (top level)', { n: 10n }],
    ['BigInt (nested)', { a: { b: [1, 2n] } }],
    ['cycle (direct)', direct],
    ['cycle (nested)', nested],
    ['array', [1, 2]],
    ['string', 'data'],
    ['Date', new Date(0)],
    [
      'toJSON throws',
      {
        toJSON() {
          throw new Error('boom')
        },
      },
    ],
    ['toJSON returns a string', { toJSON: () => 'nope' }],
    [
      'nested toJSON throws',
      {
        a: {
          toJSON() {
            throw new Error('boom')
          },
        },
      },
    ],
    ['20000-deep object', deep(20000)],
  ]

  test('unrepresentable data rejects naming data, for create and update', async () => {
    for (const [name, data] of unrepresentable) {
      await rejectsNaming(
        () => sessions.create({ app: APP, ownerId: 'bad', data }),
        'data',
        undefined,
        `create ${name}`,
      )
      await rejectsNaming(() => sessions.update({ app: APP, token, data }), 'data', undefined, `update ${name}`)
    }
    await rejectsNaming(() => sessions.update({ app: APP, token, data: null }), 'data')
    assert.equal(await sessions.killAll({ app: APP, ownerId: 'bad' }), false, 'no session was created')
    assert.deepEqual(
      await sessions.get({ app: APP, token }),
      { ownerId: 'd', data: { keep: 'me' } },
      'no update happened',
    )
  })

  test('data over 1 MiB of JSON rejects, naming data and the limit', async () => {
    const big = { a: 'x'.repeat(1024 * 1024) }
    const checkLimit = (err) => assert.match(err.message, /limit/i)
    await rejectsNaming(() => sessions.create({ app: APP, ownerId: 'bad', data: big }), 'data', checkLimit)
    await rejectsNaming(() => sessions.update({ app: APP, token, data: big }), 'data', checkLimit)
    // Many small values adding up to more than 1 MiB.
    const many = {}
    for (let i = 0; i < 200; i++) many['k' + i] = 'y'.repeat(6000)
    await rejectsNaming(() => sessions.create({ app: APP, ownerId: 'bad', data: many }), 'data', checkLimit)
    assert.equal(await sessions.killAll({ app: APP, ownerId: 'bad' }), false)
    assert.deepEqual(await sessions.get({ app: APP, token }), { ownerId: 'd', data: { keep: 'me' } })
  })

  test('more than 1024 top-level keys rejects; 1024 is fine', async () => {
    const keys = (n) => Object.fromEntries(Array.from({ length: n }, (_, i) => ['k' + i, i]))
    await rejectsNaming(() => sessions.create({ app: APP, ownerId: 'bad', data: keys(1025) }), 'data')
    await rejectsNaming(() => sessions.update({ app: APP, token, data: keys(1025) }), 'data')
    await rejectsNaming(() => sessions.create({ app: APP, ownerId: 'bad', data: keys(5000) }), 'data')
    assert.equal(await sessions.killAll({ app: APP, ownerId: 'bad' }), false)
    const t = await sessions.create({ app: APP, ownerId: 'many', data: keys(1024) })
    assert.deepEqual(await sessions.get({ app: APP, token: t }), { ownerId: 'many', data: keys(1024) })
    assert.equal(await sessions.kill({ app: APP, token: t }), true)
  })

  test('representable data round-trips exactly like JSON.parse(JSON.stringify(data))', async () => {
    const sym = Symbol('k')
    const data = {
      fn() {},
      arrow: () => 1,
      undef: undefined,
      sym: Symbol('v'),
      [sym]: 'symbol key',
      nan: NaN,
      inf: Infinity,
      ninf: -Infinity,
      date: new Date(Date.UTC(2020, 1, 29, 12, 34, 56, 789)),
      nested: { n: null, arr: [1, null, undefined, () => 1, NaN, Symbol('x'), -0], deep: { x: null, y: [[[]]] } },
      negzero: -0,
      n1: 0.1,
      n2: 1e21,
      n3: 2 ** 53 + 1,
      // eslint-disable-next-line no-loss-of-precision -- deliberately more digits than a double holds: the double it rounds to must round-trip
      n4: 12345678901234567890,
      n5: 5e-324,
      n6: -1.7976931348623157e308,
      n7: 1e-7,
      n8: 0.30000000000000004,
      // eslint-disable-next-line no-loss-of-precision -- deliberately more digits than a double holds: the double it rounds to must round-trip
      n9: 123456789.123456789,
      constructor: 'c',
      toString: 'ts',
      hasOwnProperty: 1,
      '': 'empty key',
      'a"b\\c': 'quote and backslash',
      'key:with:colons': '{"not":"json"}',
      '\u0000key': 'nul in key',
      '\u2028': 'line separator key',
      'é😀': 'non-ascii key',
      ÿ: 'U+00FF key',
      s0: 'a\u0000b',
      s2028: '\u2028\u2029',
      lone: '\ud800',
      lone2: 'x\udc00y',
      pair: '\ud83d\ude00',
      ctl: '\u0001\u001f\n\r\t\b\f',
      bool: false,
      emptyString: '',
      emptyObj: {},
      emptyArr: [],
      toJSONinside: { toJSON: () => ({ replaced: true }) },
    }
    Object.defineProperty(data, '__proto__', {
      value: JSON.parse('{"__proto__":1, "polluted": true}'),
      enumerable: true,
      configurable: true,
      writable: true,
    })
    const expected = roundTrip(data)
    assert.ok(Object.prototype.hasOwnProperty.call(expected, '__proto__'), 'test setup: __proto__ is an own key')

    const t = await sessions.create({ app: APP, ownerId: 'rt', data, duration: 600 })
    const got = await sessions.get({ app: APP, token: t })
    assert.deepStrictEqual(got, { ownerId: 'rt', data: expected })
    // Spot checks that deepStrictEqual would make anyway, spelled out.
    assert.ok(Object.is(got.data.negzero, 0), '-0 becomes 0')
    assert.equal(got.data.n3, 9007199254740992)
    assert.equal(got.data.n4, 12345678901234567000)
    assert.equal(got.data.n5, 5e-324)
    assert.equal(got.data.date, '2020-02-29T12:34:56.789Z')
    assert.equal(got.data.lone, '\ud800')
    assert.equal(got.data.lone2, 'x\udc00y')
    assert.equal(got.data.s0, 'a\u0000b')
    assert.equal(got.data.nan, null)
    assert.equal('fn' in got.data, false)
    assert.equal('undef' in got.data, false)
    assert.equal(Object.getPrototypeOf(got.data), Object.prototype)
    assert.ok(Object.prototype.hasOwnProperty.call(got.data, '__proto__'))
    assert.deepStrictEqual(got.data.__proto__, expected.__proto__)
    assert.equal({}.polluted, undefined, 'Object.prototype was not polluted')
    assert.equal(Object.prototype.hasOwnProperty.call(Object.prototype, 'polluted'), false)

    // The same through update (shallow merge; undefined ignored; null deletes a top-level key).
    const t2 = await sessions.create({ app: APP, ownerId: 'rt', data: { nested: 'old', drop: 1, keep: 2 } })
    const patch = { ...data, drop: null, keep: undefined }
    delete patch.nan // JSON turns NaN into null, which update treats as a deletion
    delete patch.inf
    delete patch.ninf
    Object.defineProperty(patch, '__proto__', {
      value: data.__proto__,
      enumerable: true,
      configurable: true,
      writable: true,
    })
    assert.equal(await sessions.update({ app: APP, token: t2, data: patch }), true)
    const want = roundTrip({ ...data, keep: 2 })
    delete want.nan
    delete want.inf
    delete want.ninf
    Object.defineProperty(want, '__proto__', {
      value: expected.__proto__,
      enumerable: true,
      configurable: true,
      writable: true,
    })
    assert.deepStrictEqual(await sessions.get({ app: APP, token: t2 }), { ownerId: 'rt', data: want })
    assert.equal({}.polluted, undefined, 'Object.prototype was not polluted')
  })

  test('a data key named like the owner field does not clobber the owner', async () => {
    const t = await sessions.create({
      app: APP,
      ownerId: 'owner-kept',
      data: { ÿ: 1, '\u00ff\u00ff': 2, owner: 3, ownerId: 4 },
    })
    assert.equal(await sessions.update({ app: APP, token: t, data: { ÿ: null, ownerId: null, owner: 'x' } }), true)
    assert.deepEqual(await sessions.get({ app: APP, token: t }), {
      ownerId: 'owner-kept',
      data: { '\u00ff\u00ff': 2, owner: 'x' },
    })
    assert.equal(await sessions.killAll({ app: APP, ownerId: 'owner-kept' }), true)
  })

  test('a lone surrogate in a data KEY either rejects naming data or round-trips exactly', async () => {
    for (const key of ['\ud800', 'a\udc00b']) {
      const data = { [key]: 1, ok: 2 }
      let created
      try {
        created = await sessions.create({ app: APP, ownerId: 'lone-key', data })
      } catch (err) {
        assert.ok(err instanceof Error)
        assert.match(err.message, /data/)
        assert.equal(typeof err.code, 'string')
      }
      if (created !== undefined) {
        assert.deepStrictEqual(await sessions.get({ app: APP, token: created }), { ownerId: 'lone-key', data })
      }
      let updated
      try {
        updated = await sessions.update({ app: APP, token, data: { [key]: 3 } })
      } catch (err) {
        assert.ok(err instanceof Error)
        assert.match(err.message, /data/)
        assert.equal(typeof err.code, 'string')
      }
      const now = await sessions.get({ app: APP, token })
      if (updated === true) {
        assert.equal(now.data[key], 3)
        await sessions.update({ app: APP, token, data: { [key]: null } })
      } else {
        assert.equal(updated, undefined, 'update resolved false for an existing session')
        assert.deepEqual(now, { ownerId: 'd', data: { keep: 'me' } }, 'a rejected update changed nothing')
      }
    }
    await sessions.killAll({ app: APP, ownerId: 'lone-key' })
    assert.deepEqual(await sessions.get({ app: APP, token }), { ownerId: 'd', data: { keep: 'me' } })
  })
})

// ---------------------------------------------------------------------------------------------

describe('d) huge values and bad constructor options', () => {
  test('a 10 MB token rejects naming token and the limit', async () => {
    const huge = 't'.repeat(10 * 1024 * 1024)
    const limit = (err) => assert.match(err.message, /limit/i)
    await rejectsNaming(() => sessions.get({ app: 'huge', token: huge }), 'token', limit)
    await rejectsNaming(() => sessions.refresh({ app: 'huge', token: huge, duration: 10 }), 'token', limit)
    await rejectsNaming(() => sessions.update({ app: 'huge', token: huge, data: { a: 1 } }), 'token', limit)
    await rejectsNaming(() => sessions.kill({ app: 'huge', token: huge }), 'token', limit)
  })

  test('a 5000-char app or ownerId rejects naming it', async () => {
    const app = 'a'.repeat(5000)
    await rejectsNaming(() => sessions.create({ app, ownerId: 'o' }), 'app')
    await rejectsNaming(() => sessions.get({ app, token: 't' }), 'app')
    await rejectsNaming(() => sessions.refresh({ app, token: 't', duration: 10 }), 'app')
    await rejectsNaming(() => sessions.update({ app, token: 't', data: {} }), 'app')
    await rejectsNaming(() => sessions.kill({ app, token: 't' }), 'app')
    await rejectsNaming(() => sessions.killAll({ app, ownerId: 'o' }), 'app')
    const ownerId = 'o'.repeat(5000)
    await rejectsNaming(() => sessions.create({ app: 'huge', ownerId }), 'ownerId')
    await rejectsNaming(() => sessions.killAll({ app: 'huge', ownerId }), 'ownerId')
    assert.equal(await sessions.killAll({ app: 'huge', ownerId: 'o' }), false)
  })

  test('bad constructor options throw synchronously, naming the option', () => {
    const url = server.url
    const cases = [
      [{ connectionString: url, tokenSize: -1 }, 'tokenSize'],
      [{ connectionString: url, tokenSize: 0 }, 'tokenSize'],
      [{ connectionString: url, tokenSize: 7 }, 'tokenSize'],
      [{ connectionString: url, tokenSize: 1025 }, 'tokenSize'],
      [{ connectionString: url, tokenSize: 1.5 }, 'tokenSize'],
      [{ connectionString: url, tokenSize: NaN }, 'tokenSize'],
      [{ connectionString: url, tokenSize: Infinity }, 'tokenSize'],
      [{ connectionString: url, tokenSize: '128' }, 'tokenSize'],
      [{ connectionString: url, tokenSize: 128n }, 'tokenSize'],
      [{ connectionString: url, tokenEncoding: 'utf8' }, 'tokenEncoding'],
      [{ connectionString: url, tokenEncoding: 'latin1' }, 'tokenEncoding'],
      [{ connectionString: url, tokenEncoding: 'ascii' }, 'tokenEncoding'],
      [{ connectionString: url, tokenEncoding: 'utf16le' }, 'tokenEncoding'],
      [{ connectionString: url, tokenEncoding: 'nope' }, 'tokenEncoding'],
      [{ connectionString: url, tokenEncoding: '' }, 'tokenEncoding'],
      [{ connectionString: url, tokenEncoding: 64 }, 'tokenEncoding'],
      [{ connectionString: 'not a url' }, 'connectionString'],
      [{ connectionString: 'http://x' }, 'connectionString'],
      [{ connectionString: 'redis://host:99999' }, 'connectionString'],
      [{ connectionString: 42 }, 'connectionString'],
      ['not a url', 'connectionString'],
      ['ftp://127.0.0.1:1', 'connectionString'],
      [42, 'options'],
      [true, 'options'],
      [[url], 'options'],
    ]
    for (const [options, field] of cases) {
      throwsNaming(() => new SpotsSessions(options), field)
    }
  })

  test('valid token sizes and encodings produce tokens exactly as Buffer#toString would', async () => {
    const cases = [
      [{}, 'base64', 128],
      [{ tokenSize: 8 }, 'base64', 8],
      [{ tokenSize: 1024 }, 'base64', 1024],
      [{ tokenEncoding: 'base64', tokenSize: 10 }, 'base64', 10],
      [{ tokenEncoding: 'base64url' }, 'base64url', 128],
      [{ tokenEncoding: 'base64url', tokenSize: 8 }, 'base64url', 8],
      [{ tokenEncoding: 'base64url', tokenSize: 10 }, 'base64url', 10],
      [{ tokenEncoding: 'base64url', tokenSize: 1024 }, 'base64url', 1024],
      [{ tokenEncoding: 'hex' }, 'hex', 128],
      [{ tokenEncoding: 'hex', tokenSize: 8 }, 'hex', 8],
      [{ tokenEncoding: 'hex', tokenSize: 1024 }, 'hex', 1024],
    ]
    for (const [opts, enc, n] of cases) {
      const s = open(opts)
      const what = `${enc} ${n}`
      const tokens = new Set()
      for (let i = 0; i < 3; i++) {
        const token = await s.create({ app: 'enc', ownerId: what, data: { i } })
        assert.equal(typeof token, 'string')
        tokens.add(token)
        if (enc === 'base64') {
          assert.match(token, /^[A-Za-z0-9+/]+=*$/, what)
          assert.equal(token.length, 4 * Math.ceil(n / 3), what)
          if (n === 128) assert.equal(token.length, 172)
        } else if (enc === 'base64url') {
          assert.match(token, /^[A-Za-z0-9_-]+$/, what)
          assert.equal(token.length, Math.ceil((n * 4) / 3), what)
        } else {
          assert.match(token, /^[0-9a-f]+$/, what)
          assert.equal(token.length, 2 * n, what)
        }
        const bytes = Buffer.from(token, enc)
        assert.equal(bytes.length, n, `${what}: decodes to tokenSize bytes`)
        assert.equal(bytes.toString(enc), token, `${what}: canonical encoding`)
        assert.deepEqual(await s.get({ app: 'enc', token }), { ownerId: what, data: { i } })
        // The other instance (default options) sees the same store.
        assert.deepEqual(await sessions.get({ app: 'enc', token }), { ownerId: what, data: { i } })
      }
      assert.equal(tokens.size, 3, `${what}: tokens differ`)
      assert.equal(await s.killAll({ app: 'enc', ownerId: what }), true)
    }
  })
})

// ---------------------------------------------------------------------------------------------

test('e) after all of the above, the process is alive and the same instance still works', async () => {
  assert.equal(typeof process.pid, 'number')
  const token = await sessions.create({ app: 'survivor', ownerId: 'me', data: { alive: true }, duration: 60 })
  assert.deepEqual(await sessions.get({ app: 'survivor', token }), { ownerId: 'me', data: { alive: true } })
  assert.equal(await sessions.refresh({ app: 'survivor', token, duration: 120 }), true)
  assert.equal(await sessions.update({ app: 'survivor', token, data: { alive: 'yes' } }), true)
  assert.deepEqual(await sessions.get({ app: 'survivor', token }), { ownerId: 'me', data: { alive: 'yes' } })
  assert.equal(await sessions.kill({ app: 'survivor', token }), true)
  assert.equal(await sessions.get({ app: 'survivor', token }), undefined)
})
