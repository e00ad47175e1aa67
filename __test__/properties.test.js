'use strict'

// Property-based robustness tests (fast-check): random and adversarial arguments for every
// method and the constructor; and three properties of the storage:
//   A. create → get returns { ownerId, data: JSON.parse(JSON.stringify(data)) } exactly;
//   B. no (app, token) / (app, ownerId) ever reaches another one's session;
//   C. after random updates, get equals the shallow merge computed in JS with JSON semantics.
//
// The seed is fixed (override with FC_SEED=<n>; scale the number of runs with FC_RUNS=<factor>)
// and printed in every test's diagnostics and in every failure message.

const { test, before, after } = require('node:test')
const assert = require('node:assert/strict')
const fc = require('fast-check')
const crypto = require('node:crypto')
const { startRedis } = require('./helpers/redis.js')
const { SpotsSessions } = require('..')

const SEED = process.env.FC_SEED !== undefined ? Number(process.env.FC_SEED) : 20250611
const RUNS = process.env.FC_RUNS !== undefined ? Number(process.env.FC_RUNS) : 1

let server
let sessions
const instances = []

before(async () => {
  server = await startRedis()
  // Instances built without a connection string (constructor fuzzing) must reach this server,
  // never 127.0.0.1:6379.
  process.env.SPOTS_SESSIONS_REDIS_URL = server.url
  sessions = new SpotsSessions({ connectionString: server.url, commandTimeout: 10_000 })
  instances.push(sessions)
})

after(async () => {
  for (const s of instances) {
    try {
      await s.quit()
    } catch {
      // already closed by the test itself
    }
  }
  delete process.env.SPOTS_SESSIONS_REDIS_URL
  await server.stop()
})

/** Runs one fast-check property with the file's seed; the failure message names the seed. */
async function check(t, property, numRuns, extra = {}) {
  const runs = Math.max(1, Math.round(numRuns * RUNS))
  t.diagnostic(`fast-check seed ${SEED}, ${runs} runs (rerun with FC_SEED=${SEED})`)
  try {
    await fc.assert(property, { seed: SEED, numRuns: runs, verbose: process.env.FC_VERBOSE ? 2 : 0, ...extra })
  } catch (err) {
    const cause = err.cause instanceof Error ? `\nCause: ${err.cause.message}` : ''
    err.message = `[fast-check seed ${SEED}] ${err.message}${cause}`
    throw err
  }
}

const roundTrip = (x) => JSON.parse(JSON.stringify(x))
const show = (x) => {
  let s
  try {
    s =
      typeof x === 'string'
        ? JSON.stringify(x)
        : typeof x === 'bigint'
          ? `${x}n`
          : typeof x === 'symbol'
            ? x.toString()
            : (JSON.stringify(x) ?? String(x))
  } catch {
    try {
      s = Object.prototype.toString.call(x)
    } catch {
      s = '<object whose traps throw>'
    }
  }
  return s.length > 120 ? `${s.slice(0, 100)}…(${s.length} chars)` : s
}
/** Length of a JS string in WTF-8 (what the library measures): lone surrogates take 3 bytes, as U+FFFD does. */
const wtf8Length = (s) => Buffer.byteLength(s, 'utf8')
const MAX_NAME = 4096

// ---------------------------------------------------------------------------------------------
// arbitraries

const loneSurrogate = fc.integer({ min: 0xd800, max: 0xdfff }).map((c) => String.fromCharCode(c))
// a table of single units, kept compact
// prettier-ignore
const SPECIAL = [
  '*', '?', '[', ']', '|', ':', '{', '}', '\\', '\u0000', ' ', '.', '(', ')', '\\.', '\\\\', '\\(', '\\)',
  '\ufffd', '\u00ff', '😀', 'é', 'S1:', 'O1:', '%', '\n', '"', '^', '-', '!',
]
const unit = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom(...SPECIAL) },
  { weight: 2, arbitrary: loneSurrogate },
  { weight: 3, arbitrary: fc.string({ unit: 'binary', minLength: 1, maxLength: 1 }) },
  { weight: 2, arbitrary: fc.constantFrom('a', 'b', 'x') },
)
/** A valid name (app, ownerId, token): any string up to the 4096-byte limit. */
const nameArb = fc.oneof(
  { weight: 8, arbitrary: fc.string({ unit, maxLength: 16 }) },
  { weight: 1, arbitrary: fc.constant('') },
  {
    weight: 1,
    arbitrary: fc.constantFrom(
      'x'.repeat(4096),
      '\ud800'.repeat(1365),
      'é'.repeat(2048),
      '😀'.repeat(1024),
      'x'.repeat(4093) + '\ud800',
    ),
  },
)
/** Data keys: mostly well-formed (a lone surrogate in a top-level key may be refused). */
const wellFormedUnit = unit.filter((u) => u.isWellFormed())
const keyArb = fc.oneof(
  { weight: 6, arbitrary: fc.string({ unit: wellFormedUnit, maxLength: 8 }) },
  { weight: 1, arbitrary: fc.string({ unit, maxLength: 8 }) },
)

// Values that no JSON can hold, values with traps, huge values and objects built to hurt. They
// travel through fast-check as holes: fast-check probes and prints the values it generates,
// which traps, 10 MB strings and 20000-deep objects would break or flood. `fill()` puts the
// real value in at call time.
const USER = Symbol('thrown by the test itself')
const userError = () => Object.assign(new Error('thrown by a getter/trap of the test'), { [USER]: true })

function registry() {
  const { proxy: revoked, revoke } = Proxy.revocable({ app: 'a', token: 't' }, {})
  revoke()
  const trapAll = new Proxy(
    {},
    {
      get() {
        throw userError()
      },
      has() {
        throw userError()
      },
      ownKeys() {
        throw userError()
      },
      getOwnPropertyDescriptor() {
        throw userError()
      },
      getPrototypeOf() {
        throw userError()
      },
    },
  )
  const cyclic = { a: 1 }
  cyclic.self = cyclic
  const cyclicDeep = { a: { b: [{}] } }
  cyclicDeep.a.b[0].c = cyclicDeep.a
  const deep = (n) => {
    const r = {}
    let c = r
    for (let i = 0; i < n; i++) c = c.a = {}
    return r
  }
  const wide = (n) => Object.fromEntries(Array.from({ length: n }, (_, i) => ['k' + i, i]))
  const trapped = [
    ['revoked proxy', revoked],
    ['proxy whose traps throw', trapAll],
    [
      'object whose app getter throws',
      Object.defineProperty({}, 'app', {
        get() {
          throw userError()
        },
        enumerable: true,
      }),
    ],
    [
      'object whose getter throws',
      Object.defineProperty({}, 'x', {
        get() {
          throw userError()
        },
        enumerable: true,
      }),
    ],
    [
      'object whose toJSON throws',
      {
        toJSON() {
          throw userError()
        },
      },
    ],
  ]
  const huge = [
    ['4097 x', 'x'.repeat(4097)],
    ['1366 lone surrogates', '\ud800'.repeat(1366)],
    ['2049 é', 'é'.repeat(2049)],
    ['1 MiB string', 'y'.repeat(1 << 20)],
    ['10 MiB string', 'z'.repeat(10 << 20)],
  ]
  const exotic = [
    ['cyclic', cyclic],
    ['cyclic (nested)', cyclicDeep],
    ['20000-deep object', deep(20000)],
    ['1025 keys', wide(1025)],
    ['5000 keys', wide(5000)],
    ['over 1 MiB', { big: 'b'.repeat(1 << 20) }],
    ['BigInt inside', { n: [1, 2n] }],
    ['toJSON → undefined', { toJSON: () => undefined }],
    ['toJSON → BigInt', { toJSON: () => 5n }],
    ['toJSON → string', { toJSON: () => 'str' }],
    ['__proto__ own key', JSON.parse('{"__proto__":{"polluted":"yes"},"a":1}')],
    ['constructor.prototype', { constructor: { prototype: { polluted: 'yes' } } }],
    ['null prototype', Object.assign(Object.create(null), { a: 1 })],
    ['boxed string', new String('data')],
    ['boxed number', new Number(7)],
    ['Date', new Date(0)],
    ['invalid Date', new Date(NaN)],
    ['Map', new Map([['a', 1]])],
    ['Set', new Set([1])],
    ['Uint8Array', new Uint8Array([1, 2, 3])],
    ['Buffer', Buffer.from('buffer')],
    ['ArrayBuffer', new ArrayBuffer(8)],
    ['RegExp', /re/g],
    ['Error', new Error('an error as data')],
    ['Promise', Promise.resolve(1)],
    ['WeakMap', new WeakMap()],
    ['function', function named() {}],
    ['arrow', () => 'f'],
    ['class', class C {}],
    ['symbol', Symbol('s')],
    ['well-known symbol', Symbol.iterator],
    ['BigInt', 10n],
    ['huge BigInt', 2n ** 100n],
  ]
  return { trapped, huge, exotic }
}
const REG = registry()
const ALL = [...REG.trapped, ...REG.huge, ...REG.exotic]
const TRAPPED = new Set(REG.trapped.map(([, v]) => v))

class Hole {
  constructor(i) {
    this.i = i
  }

  toJSON() {
    return `<${ALL[this.i][0]}>`
  }
}
const holes = (list) => list.map(([name]) => new Hole(ALL.findIndex(([n]) => n === name)))
/** Replaces holes by their values, at the top level and one level down (dto fields). */
function fill(value) {
  if (value instanceof Hole) return ALL[value.i][1]
  if (
    value !== null &&
    typeof value === 'object' &&
    Object.getPrototypeOf(value) === Object.prototype &&
    Object.values(value).some((v) => v instanceof Hole)
  ) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, v instanceof Hole ? ALL[v.i][1] : v]))
  }
  return value
}
const hugeArb = fc.constantFrom(...holes(REG.huge))
const exoticArb = fc.constantFrom(...holes([...REG.trapped, ...REG.exotic]))

const NUMBERS = [
  NaN,
  Infinity,
  -Infinity,
  -1,
  0,
  -0,
  0.5,
  1.5,
  1,
  60,
  2 ** 31 - 1,
  2 ** 31,
  2 ** 32,
  2 ** 53 + 2,
  1e300,
  5e-324,
  -(2 ** 31),
  Number.MAX_VALUE,
]
const numberArb = fc.oneof(fc.constantFrom(...NUMBERS), fc.double(), fc.integer())

const anything = fc.anything({
  maxDepth: 3,
  maxKeys: 6,
  withBigInt: true,
  withBoxedValues: true,
  withDate: true,
  withMap: true,
  withSet: true,
  withNullPrototype: true,
  withObjectString: true,
  withTypedArray: true,
  withSparseArray: true,
  stringUnit: unit,
})

/** Anything at all, weighted towards the nasty. */
const hostile = fc.oneof(
  { weight: 4, arbitrary: anything },
  { weight: 3, arbitrary: exoticArb },
  { weight: 2, arbitrary: numberArb },
  { weight: 1, arbitrary: hugeArb },
  { weight: 3, arbitrary: nameArb },
  { weight: 1, arbitrary: fc.constantFrom(undefined, null, true, false, [], ['a'], {}) },
)

const jsonObject = (stringUnit, maxKeys = 8) =>
  fc.dictionary(keyArb, fc.jsonValue({ stringUnit, maxDepth: 4 }), { maxKeys })

// ---------------------------------------------------------------------------------------------
// 1. fuzzing: every method, the constructor

const METHODS = ['create', 'get', 'refresh', 'update', 'kill', 'killAll']
const DOCUMENTED_CODES = new Set([
  'ERR_INVALID_ARG_TYPE',
  'ERR_INVALID_ARG_VALUE',
  'ERR_REDIS_TIMEOUT',
  'ERR_REDIS_CONNECTION',
  'ERR_REDIS_OFFLINE',
  'ERR_REDIS',
  'ERR_CLOSED',
])
const FIELDS = ['app', 'ownerId', 'token', 'data', 'duration']

/** Does the value (or its first level) hold an object whose traps/getters throw? */
function trapped(value) {
  if (TRAPPED.has(value)) return true
  if (value !== null && typeof value === 'object' && !TRAPPED.has(value)) {
    try {
      return Object.values(value).some((v) => TRAPPED.has(v))
    } catch {
      return true
    }
  }
  return false
}

const dtoArb = fc.record(
  {
    app: fc.oneof({ weight: 3, arbitrary: nameArb }, { weight: 1, arbitrary: hostile }),
    ownerId: fc.oneof(
      { weight: 3, arbitrary: nameArb },
      { weight: 1, arbitrary: numberArb },
      { weight: 1, arbitrary: hostile },
    ),
    token: fc.oneof({ weight: 3, arbitrary: nameArb }, { weight: 1, arbitrary: hostile }),
    data: fc.oneof(
      { weight: 3, arbitrary: jsonObject(unit) },
      {
        weight: 2,
        arbitrary: fc.object({
          maxDepth: 3,
          withBigInt: true,
          withBoxedValues: true,
          withDate: true,
          withMap: true,
          withSet: true,
          withNullPrototype: true,
          withTypedArray: true,
          withSparseArray: true,
          stringUnit: unit,
        }),
      },
      { weight: 3, arbitrary: hostile },
    ),
    duration: fc.oneof(
      { weight: 2, arbitrary: fc.integer({ min: 1, max: 2 ** 31 - 1 }) },
      { weight: 3, arbitrary: numberArb },
      { weight: 1, arbitrary: hostile },
    ),
  },
  { requiredKeys: [] },
)

const callArb = fc.record({
  method: fc.constantFrom(...METHODS),
  args: fc.oneof(
    { weight: 6, arbitrary: fc.tuple(dtoArb) },
    { weight: 2, arbitrary: fc.tuple(hostile) },
    { weight: 1, arbitrary: fc.array(hostile, { maxLength: 3 }) },
    { weight: 1, arbitrary: fc.tuple(dtoArb, hostile, hostile) },
  ),
})

function checkResolved(method, value) {
  switch (method) {
    case 'create':
      assert.equal(typeof value, 'string', 'create resolves to a token string')
      assert.ok(value.length > 0)
      break
    case 'get':
      if (value !== undefined) {
        assert.equal(typeof value.ownerId, 'string', 'get resolves to { ownerId: string, data }')
        assert.ok(
          value.data !== null && typeof value.data === 'object' && !Array.isArray(value.data),
          'get: data is an object',
        )
        assert.deepEqual(Object.keys(value).sort(), ['data', 'ownerId'])
      }
      break
    default:
      assert.equal(typeof value, 'boolean', `${method} resolves to a boolean`)
  }
}

/** Calls `fn`, asserting it returns a Promise (no synchronous throw); resolves to its outcome. */
async function outcome(fn, what) {
  let promise
  try {
    promise = fn()
  } catch (err) {
    assert.fail(`${what}: threw synchronously instead of rejecting: ${err && err.message}`)
  }
  assert.ok(promise instanceof Promise, `${what}: returns a Promise`)
  return promise.then(
    (value) => ({ ok: true, value }),
    (error) => ({ ok: false, error }),
  )
}

function checkRejection(error, what, { strict = true, library = true } = {}) {
  assert.ok(error instanceof Error, `${what}: rejected with a non-Error: ${show(error)}`)
  if (!strict || error[USER]) return
  assert.equal(typeof error.code, 'string', `${what}: rejection has a string code (${error.message})`)
  assert.ok(DOCUMENTED_CODES.has(error.code), `${what}: undocumented code ${error.code}: ${error.message}`)
  if (library) {
    // The server is up and local: only argument errors may come back, and they name the field.
    assert.ok(
      error.code === 'ERR_INVALID_ARG_TYPE' || error.code === 'ERR_INVALID_ARG_VALUE',
      `${what}: unexpected ${error.code}: ${error.message}`,
    )
    assert.ok(
      FIELDS.some((f) => error.message.includes(f)) || /\w+\(\)/.test(error.message),
      `${what}: message names no field: ${error.message}`,
    )
  }
}

test(
  'fuzz: every method resolves or rejects with a coded Error, never throws, never aborts',
  { timeout: 120_000 },
  async (t) => {
    const protoBefore = Object.getOwnPropertyNames(Object.prototype).sort()
    let resolved = 0
    let rejected = 0
    await check(
      t,
      fc.asyncProperty(callArb, async ({ method, args: generated }) => {
        const what = `${method}(${generated.map(show).join(', ')})`
        const args = generated.map(fill)
        const result = await outcome(() => sessions[method](...args), what)
        if (result.ok) {
          resolved++
          checkResolved(method, result.value)
          if (method === 'create')
            assert.equal(
              await sessions.kill({ app: args[0].app, token: result.value }),
              true,
              `${what}: the created session exists`,
            )
        } else {
          rejected++
          checkRejection(result.error, what, { strict: !args.some(trapped) })
        }
      }),
      3000,
    )
    t.diagnostic(`resolved ${resolved}, rejected ${rejected}`)
    assert.ok(resolved > 0 && rejected > 0, 'the generator reaches both outcomes')
    assert.deepEqual(
      Object.getOwnPropertyNames(Object.prototype).sort(),
      protoBefore,
      'Object.prototype was not polluted',
    )
    assert.equal({}.polluted, undefined)
    // The instance survived all of it.
    const token = await sessions.create({ app: 'after-fuzz', ownerId: 'o', data: { ok: 1 }, duration: 60 })
    assert.deepStrictEqual(await sessions.get({ app: 'after-fuzz', token }), { ownerId: 'o', data: { ok: 1 } })
  },
)

test('a revoked Proxy in any field rejects with a coded Error naming that field', async () => {
  // The library only needs typeof to refuse it (or JSON.stringify, which it already guards).
  const revoked = ALL.find(([name]) => name === 'revoked proxy')[1]
  const cases = [
    ['create', { app: revoked, ownerId: 'o' }, 'app'],
    ['create', { app: 'a', ownerId: revoked }, 'ownerId'],
    ['create', { app: 'a', ownerId: 'o', data: revoked }, 'data'],
    ['create', { app: 'a', ownerId: 'o', duration: revoked }, 'duration'],
    ['get', { app: 'a', token: revoked }, 'token'],
    ['refresh', { app: 'a', token: 't', duration: revoked }, 'duration'],
    ['update', { app: 'a', token: 't', data: revoked }, 'data'],
    ['killAll', { app: revoked, ownerId: 'o' }, 'app'],
  ]
  const failures = []
  for (const [method, dto, field] of cases) {
    const result = await outcome(() => sessions[method](dto), method)
    assert.equal(result.ok, false, `${method} with a revoked Proxy as ${field} must reject`)
    assert.ok(result.error instanceof Error)
    if (typeof result.error.code !== 'string' || !result.error.message.includes(field)) {
      failures.push(
        `${method}({ ${field}: <revoked Proxy> }) rejected with code ${result.error.code}: ${result.error.message}`,
      )
    }
  }
  assert.deepEqual(failures, [], 'rejections without a code or a field name')
})

test('fuzz: bad data and durations on a real session never alter it', { timeout: 120_000 }, async (t) => {
  const token = await sessions.create({ app: 'victim-app', ownerId: 'victim', data: { keep: 'me' }, duration: 600 })
  // README layout: S1:<app>:<first 16 bytes of SHA-256(token)>.
  const sessionKey = Buffer.concat([
    Buffer.from('S1:victim-app:'),
    crypto.createHash('sha256').update(token).digest().subarray(0, 16),
  ])
  const expiresAt = await server.command('PEXPIRETIME', sessionKey)
  assert.ok(expiresAt > 0, 'test setup: the session key has an expiry')
  const badDuration = fc.oneof(
    fc.constantFrom(NaN, Infinity, -Infinity, -1, 0, -0, 0.5, 1.5, 2 ** 31, 2 ** 53, 1e300, 5e-324, -(2 ** 31)),
    fc.double({ min: -1e6, max: 1e6 }).filter((d) => !Number.isInteger(d) || d <= 0),
    fc.double({ min: 2 ** 31, max: 1e308 }),
    hostile.filter((v) => typeof v !== 'number' && v !== undefined && v !== null),
  )
  const badData = fc.oneof(
    exoticArb.filter((hole) => {
      try {
        const s = JSON.stringify(fill(hole))
        return typeof s !== 'string' || s[0] !== '{' || s.length > 1 << 20 || Object.keys(JSON.parse(s)).length > 1024
      } catch {
        return true
      }
    }),
    fc.constantFrom(null, undefined, 5, 'str', true, [], [1], 10n),
  )
  const bad = fc.oneof(
    fc.record({ method: fc.constant('refresh'), duration: badDuration }),
    fc.record({ method: fc.constant('update'), data: badData }),
  )
  await check(
    t,
    fc.asyncProperty(bad, async (c) => {
      const dto = {
        app: 'victim-app',
        token,
        ...(c.method === 'refresh' ? { duration: fill(c.duration) } : { data: fill(c.data) }),
      }
      const what = `${c.method}(${show(c.duration ?? c.data)})`
      const result = await outcome(() => sessions[c.method](dto), what)
      assert.equal(result.ok, false, `${what}: must reject, resolved ${show(result.value)}`)
      checkRejection(result.error, what, { strict: !trapped(dto.data) })
      if (!trapped(dto.data)) assert.match(result.error.message, c.method === 'refresh' ? /duration/ : /data/, what)
    }),
    600,
  )
  assert.deepStrictEqual(await sessions.get({ app: 'victim-app', token }), { ownerId: 'victim', data: { keep: 'me' } })
  assert.equal(await server.command('PEXPIRETIME', sessionKey), expiresAt, "the session's expiry is untouched")
})

// Connection strings: only ever our own server. Anything that the library would read as a
// `redis://` URL must be one we built from our host and port; everything else is refused by the
// library (no `://`, or another scheme), so it never connects anywhere.
const SAFE_URLS = new Set()
function ours(url) {
  SAFE_URLS.add(url)
  return url
}
function safeConnectionString(value) {
  if (typeof value !== 'string') return true
  const scheme = value.split('://')
  if (scheme.length < 2) return true
  return scheme[0].toLowerCase() !== 'redis' || SAFE_URLS.has(value)
}

test(
  'fuzz: the constructor returns an instance or throws an Error; valid options never throw',
  { timeout: 120_000 },
  async (t) => {
    const { port } = server
    const host = `127.0.0.1:${port}`
    const oursArb = fc.oneof(
      fc.constant(ours(server.url)),
      fc.integer({ min: -1, max: 40 }).map((db) => ours(`redis://${host}/${db}`)),
      fc.tuple(fc.string({ unit, maxLength: 8 }), fc.string({ unit, maxLength: 8 })).map(([u, p]) => {
        let enc
        try {
          enc = `${encodeURIComponent(u)}:${encodeURIComponent(p)}`
        } catch {
          enc = 'user:pass' // lone surrogates cannot be URI-encoded
        }
        return ours(`redis://${enc}@${host}`)
      }),
      // Junk after the port (no digits, no / ? # @): the port no longer parses, or stays ours.
      fc
        .string({
          unit: fc.constantFrom(':', 'x', ' ', '\t', '[', ']', '%', '\u0000', '\ud800', 'é'),
          minLength: 1,
          maxLength: 6,
        })
        .map((junk) => ours(`redis://${host}${junk}`)),
      fc
        .string({ unit, maxLength: 6 })
        .map((p) => ours(`REDIS://${host}/${encodeURIComponent(p.replace(/[\ud800-\udfff]/g, ''))}`)),
    )
    const notUrl = fc
      .oneof(
        fc.string({ unit, maxLength: 30 }),
        fc
          .tuple(
            fc.constantFrom(
              'http',
              'rediss',
              'redis-cluster',
              'redis-sentinel',
              'redis+unix',
              'unix',
              'ftp',
              '',
              'redis ',
              ' redis',
              'redis\u0000',
              'rédis',
            ),
            fc.string({ unit, maxLength: 20 }),
          )
          .map(([s, rest]) => `${s}://${rest}`),
      )
      .filter(safeConnectionString)
    const optionValue = (valid) =>
      fc.oneof({ weight: 3, arbitrary: valid }, { weight: 2, arbitrary: numberArb }, { weight: 2, arbitrary: hostile })
    const optionsArb = fc.record(
      {
        connectionString: fc.oneof(
          { weight: 3, arbitrary: oursArb },
          { weight: 2, arbitrary: notUrl },
          { weight: 1, arbitrary: hostile },
        ),
        tokenEncoding: optionValue(
          fc.constantFrom(
            'base64',
            'base64url',
            'hex',
            'BASE64',
            'Hex',
            'utf8',
            'latin1',
            'binary',
            'ascii',
            'ucs2',
            'utf16le',
            '',
            'base32',
          ),
        ),
        tokenSize: optionValue(fc.integer({ min: -10, max: 1100 })),
        connectTimeout: optionValue(fc.integer({ min: -10, max: 100_000 })),
        commandTimeout: optionValue(fc.integer({ min: -10, max: 100_000 })),
        maxRetriesPerRequest: optionValue(fc.oneof(fc.constant(null), fc.integer({ min: -5, max: 100 }))),
        enableOfflineQueue: optionValue(fc.boolean()),
        offlineQueueLimit: optionValue(fc.integer({ min: -5, max: 1000 })),
      },
      { requiredKeys: [] },
    )
    const validArb = fc.record(
      {
        connectionString: fc.constant(ours(server.url)),
        tokenEncoding: fc.constantFrom('base64', 'base64url', 'hex'),
        tokenSize: fc.integer({ min: 8, max: 1024 }),
        connectTimeout: fc.integer({ min: 1000, max: 60_000 }),
        commandTimeout: fc.integer({ min: 1, max: 20_000 }),
        maxRetriesPerRequest: fc.oneof(fc.constant(null), fc.integer({ min: 0, max: 100 })),
        enableOfflineQueue: fc.boolean(),
        offlineQueueLimit: fc.integer({ min: 0, max: 1000 }),
      },
      { requiredKeys: [] },
    )
    const argArb = fc
      .oneof(
        { weight: 4, arbitrary: optionsArb.map((o) => ({ options: o, valid: false })) },
        { weight: 1, arbitrary: validArb.map((o) => ({ options: o, valid: true })) },
        { weight: 1, arbitrary: oursArb.map((url) => ({ options: url, valid: false })) },
        { weight: 1, arbitrary: notUrl.map((s) => ({ options: s, valid: false })) },
        { weight: 2, arbitrary: hostile.map((o) => ({ options: o, valid: false })) },
      )
      .filter(({ options }) => {
        // Never let a generated value point the library at a server we did not start.
        if (!safeConnectionString(options)) return false
        if (options !== null && typeof options === 'object' && !(options instanceof Hole) && !TRAPPED.has(options)) {
          try {
            return safeConnectionString(options.connectionString)
          } catch {
            return false
          }
        }
        return true
      })
    let built = 0
    let thrown = 0
    await check(
      t,
      fc.asyncProperty(argArb, async ({ options: generated, valid }) => {
        const options = fill(generated)
        let instance
        let error
        try {
          instance = new SpotsSessions(options)
        } catch (err) {
          error = err
        }
        if (instance) {
          built++
          instances.push(instance)
          // One call: valid options work (or time out cleanly, for a tiny commandTimeout); other
          // instances (a db or password our server refuses…) are disconnected with the call in
          // flight, which must settle it.
          const pending = outcome(
            () => instance.get({ app: 'ctor', token: 'none' }),
            `get on new SpotsSessions(${show(options)})`,
          )
          if (!valid) instance.disconnect()
          const got = await pending
          if (got.ok) assert.equal(got.value, undefined)
          else checkRejection(got.error, 'get on a fuzzed instance', { library: false })
          if (valid) instance.disconnect()
        } else {
          thrown++
          assert.ok(!valid, `valid options must not throw: ${show(options)}: ${error && error.message}`)
          assert.ok(error instanceof Error, `the constructor threw a non-Error: ${show(error)}`)
          if (!error[USER] && !trapped(options)) {
            assert.equal(typeof error.code, 'string', `constructor error has a code: ${error.message}`)
            assert.ok(error.message.length > 0)
          }
        }
      }),
      200,
    )
    t.diagnostic(`constructed ${built}, threw ${thrown}`)
    assert.ok(built > 0 && thrown > 0)
  },
)

// ---------------------------------------------------------------------------------------------
// 2. Property A: create → get round trip

/** Deep chains (objects and arrays) up to 1000 levels. */
const spineArb = fc
  .tuple(
    fc.integer({ min: 1, max: 1000 }),
    fc.jsonValue({ maxDepth: 1 }),
    fc.array(fc.boolean(), { minLength: 1, maxLength: 8 }),
    keyArb,
  )
  .map(([depth, leaf, kinds, key]) => {
    let v = leaf
    for (let i = 0; i < depth; i++) v = kinds[i % kinds.length] ? { [key]: v } : [v]
    return { spine: v, depth }
  })
/** Random trees mixing objects and arrays, built with letrec. */
const { tree } = fc.letrec((tie) => ({
  tree: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.jsonValue({ maxDepth: 0, stringUnit: unit }),
    fc.array(tie('tree'), { maxLength: 4 }),
    fc.dictionary(keyArb, tie('tree'), { maxKeys: 4 }),
  ),
}))
/** Wide objects: up to the 1024-key limit. */
const wideArb = fc
  .tuple(fc.integer({ min: 100, max: 1024 }), fc.jsonValue({ maxDepth: 1 }))
  .map(([n, v]) => Object.fromEntries(Array.from({ length: n }, (_, i) => [`k${i}`, i % 7 === 0 ? v : i])))

const dataArb = fc.oneof(
  { weight: 4, arbitrary: jsonObject(unit) },
  { weight: 2, arbitrary: jsonObject('binary', 30) },
  // fc.object() values JSON can represent: everything but BigInt (NaN, -0, undefined, Dates,
  // Maps, Sets, typed and sparse arrays, boxed values, null prototypes).
  {
    weight: 3,
    arbitrary: fc.object({
      key: keyArb,
      maxDepth: 3,
      withBoxedValues: true,
      withDate: true,
      withMap: true,
      withSet: true,
      withNullPrototype: true,
      withObjectString: true,
      withTypedArray: true,
      withSparseArray: true,
      stringUnit: unit,
    }),
  },
  { weight: 2, arbitrary: fc.dictionary(keyArb, tree, { maxKeys: 5 }) },
  { weight: 1, arbitrary: spineArb },
  { weight: 1, arbitrary: wideArb },
  { weight: 1, arbitrary: fc.constant({}) },
)
const ownerArb = fc.oneof(
  { weight: 6, arbitrary: nameArb.map((s) => ({ given: s, expected: s })) },
  {
    weight: 1,
    arbitrary: fc
      .oneof(fc.integer(), fc.double({ noNaN: true, noDefaultInfinity: true }))
      .map((n) => ({ given: n, expected: String(n) })),
  },
)

/** A top-level key JSON.stringify keeps, that UTF-8 cannot hold (a lone surrogate). */
const illFormedTopKey = (json) => Object.keys(json).some((k) => !k.isWellFormed())

test(
  'property A: get after create returns { ownerId, data: JSON.parse(JSON.stringify(data)) } exactly',
  { timeout: 120_000 },
  async (t) => {
    let created = 0
    let refused = 0
    await check(
      t,
      fc.asyncProperty(
        nameArb,
        ownerArb,
        dataArb,
        fc.option(fc.integer({ min: 1, max: 2 ** 31 - 1 }), { nil: undefined }),
        async (app, owner, data, duration) => {
          const expected = roundTrip(data)
          const result = await outcome(() => sessions.create({ app, ownerId: owner.given, data, duration }), 'create')
          if (!result.ok) {
            refused++
            checkRejection(result.error, 'create')
            assert.match(result.error.message, /data/, `create may only refuse the data: ${result.error.message}`)
            assert.ok(illFormedTopKey(expected), `create refused representable data: ${result.error.message}`)
            return
          }
          created++
          const token = result.value
          const got = await sessions.get({ app, token })
          assert.deepStrictEqual(got, { ownerId: owner.expected, data: expected })
          assert.equal(await sessions.kill({ app, token }), true)
          assert.equal(await sessions.get({ app, token }), undefined)
        },
      ),
      1500,
    )
    t.diagnostic(`created ${created}, refused (lone surrogate in a top-level key) ${refused}`)
    assert.ok(created > 0)
  },
)

// ---------------------------------------------------------------------------------------------
// 3. Property B: isolation of names

/** Strings that naive key building, escaping or pattern matching would confuse with `s`. */
const lookAlike = (s) =>
  fc.oneof(
    fc.constantFrom(
      s + 'x',
      'x' + s,
      s.slice(0, -1),
      s.slice(1),
      s + '\u0000',
      '\u0000' + s,
      s + ':',
      ':' + s,
      s + '*',
      '*',
      s.replace(/:/g, '\\.'),
      s.replace(/\\\./g, ':'),
      s.replace(/\{/g, '\\('),
      s.replace(/\\\(/g, '{'),
      s.replace(/\\/g, '\\\\'),
      s.replace(/\\\\/g, '\\'),
      s.toUpperCase(),
      s.toLowerCase(),
      s.normalize('NFD'),
      s.replace(/[\ud800-\udfff]/g, '\ufffd'),
      s.replace(/\ufffd/g, '\ud800'),
      s + '\ud800',
      s.replace(/./g, '?'),
      `${s}${s}`,
      '',
    ),
    nameArb,
  )
const withinLimit = (s) => wtf8Length(s) <= MAX_NAME

const pairArb = fc
  .tuple(nameArb, nameArb)
  .chain(([app, owner]) =>
    fc.record({
      a: fc.constant({ app, owner }),
      b: fc.oneof(
        fc.record({
          app: fc.oneof(fc.constant(app), lookAlike(app)),
          owner: fc.oneof(fc.constant(owner), lookAlike(owner)),
        }),
        // The same characters split differently between app and owner: ('a:b', 'c') vs ('a', 'b:c').
        fc.nat().map((k) => {
          const joined = `${app}:${owner}`
          const i = k % (joined.length + 1)
          return { app: joined.slice(0, i), owner: joined.slice(i).replace(/^:/, '') }
        }),
        fc.record({ app: nameArb, owner: nameArb }),
      ),
      third: fc.record({
        app: fc.oneof(fc.constant(app), lookAlike(app)),
        owner: fc.oneof(fc.constant(owner), lookAlike(owner)),
      }),
      tokenProbes: fc.array(fc.oneof(nameArb, fc.constant(null)), { maxLength: 3 }),
    }),
  )
  .filter(({ a, b }) => (a.app !== b.app || a.owner !== b.owner) && [a.app, a.owner, b.app, b.owner].every(withinLimit))

test("property B: no (app, token) or (app, ownerId) reaches another one's session", { timeout: 120_000 }, async (t) => {
  await check(
    t,
    fc.asyncProperty(pairArb, async ({ a, b, third, tokenProbes }) => {
      await server.command('FLUSHALL')
      const tA = await sessions.create({ app: a.app, ownerId: a.owner, data: { who: 'A' }, duration: 600 })
      const tB = await sessions.create({ app: b.app, ownerId: b.owner, data: { who: 'B' } })
      const A = { ownerId: a.owner, data: { who: 'A' } }
      const B = { ownerId: b.owner, data: { who: 'B' } }
      assert.deepStrictEqual(await sessions.get({ app: a.app, token: tA }), A)
      assert.deepStrictEqual(await sessions.get({ app: b.app, token: tB }), B)

      // (app, token) pairs that are neither session: the other app with each token, look-alike
      // tokens in both apps, random tokens.
      const real = new Set([`${a.app}\u0001${tA}`, `${b.app}\u0001${tB}`])
      const probes = []
      for (const app of new Set([a.app, b.app, third.app].filter(withinLimit))) {
        for (const token of [
          tA,
          tB,
          tA.slice(0, -1),
          tA + '=',
          tA.toLowerCase(),
          tB.slice(1),
          tA.slice(0, 20) + '*',
          '*',
          '?'.repeat(tA.length),
          ...tokenProbes.map((p) => p ?? tA + '\ud800'),
        ]) {
          if (!real.has(`${app}\u0001${token}`) && withinLimit(token)) probes.push({ app, token })
        }
      }
      for (const { app, token } of probes) {
        const what = `app ${show(app)} token ${show(token)}`
        assert.equal(await sessions.get({ app, token }), undefined, `get ${what}`)
        assert.equal(await sessions.refresh({ app, token, duration: 1 }), false, `refresh ${what}`)
        assert.equal(await sessions.update({ app, token, data: { who: 'intruder' } }), false, `update ${what}`)
        assert.equal(await sessions.kill({ app, token }), false, `kill ${what}`)
      }
      assert.deepStrictEqual(await sessions.get({ app: a.app, token: tA }), A, 'A untouched by the probes')
      assert.deepStrictEqual(await sessions.get({ app: b.app, token: tB }), B, 'B untouched by the probes')

      // killAll of a third (app, owner), distinct from both: kills nothing.
      const isA = third.app === a.app && third.owner === a.owner
      const isB = third.app === b.app && third.owner === b.owner
      if (!isA && !isB && withinLimit(third.app) && withinLimit(third.owner)) {
        assert.equal(await sessions.killAll({ app: third.app, ownerId: third.owner }), false, `killAll ${show(third)}`)
        assert.deepStrictEqual(await sessions.get({ app: a.app, token: tA }), A, `killAll ${show(third)} killed A`)
        assert.deepStrictEqual(await sessions.get({ app: b.app, token: tB }), B, `killAll ${show(third)} killed B`)
      }

      // killAll of B kills B only, then A's kills A.
      assert.equal(await sessions.killAll({ app: b.app, ownerId: b.owner }), true, 'killAll B')
      assert.equal(await sessions.get({ app: b.app, token: tB }), undefined, 'B is gone')
      assert.deepStrictEqual(await sessions.get({ app: a.app, token: tA }), A, 'killAll of B killed A')
      assert.equal(await sessions.killAll({ app: a.app, ownerId: a.owner }), true, 'killAll A')
      assert.equal(await sessions.get({ app: a.app, token: tA }), undefined, 'A is gone')
      assert.equal(await sessions.killAll({ app: b.app, ownerId: b.owner }), false)
    }),
    500,
  )
})

// ---------------------------------------------------------------------------------------------
// 4. Property C: update is a shallow merge with JSON semantics

const KEY_POOL = [
  'a',
  'b',
  'c',
  'd',
  '',
  '__proto__',
  'constructor',
  'toString',
  'hasOwnProperty',
  'ÿ',
  '\u00ff\u00ff',
  'a:b',
  '*',
  '\u0000',
  '{x}',
  '\\',
  '1',
  '01',
  '-0',
]
const mergeKey = fc.oneof({ weight: 4, arbitrary: fc.constantFrom(...KEY_POOL) }, { weight: 1, arbitrary: keyArb })
const mergeValue = fc.oneof(
  { weight: 4, arbitrary: fc.jsonValue({ maxDepth: 2, stringUnit: unit }) },
  { weight: 2, arbitrary: fc.constant(null) },
  { weight: 2, arbitrary: fc.constant(undefined) },
  { weight: 1, arbitrary: fc.constantFrom(() => 1, Symbol('ignored')) }, // JSON.stringify drops these, like undefined
)
const patchArb = fc.dictionary(mergeKey, mergeValue, { maxKeys: 6 })

test(
  'property C: after random updates, get equals the shallow merge computed with JSON semantics',
  { timeout: 120_000 },
  async (t) => {
    let applied = 0
    let refused = 0
    await check(
      t,
      fc.asyncProperty(
        nameArb,
        fc.dictionary(mergeKey, fc.jsonValue({ maxDepth: 2, stringUnit: unit }), { maxKeys: 6 }),
        fc.array(patchArb, { minLength: 1, maxLength: 8 }),
        async (app, initial, patches) => {
          const initialJson = roundTrip(initial)
          let token
          try {
            token = await sessions.create({ app, ownerId: 'merge', data: initial, duration: 600 })
          } catch (err) {
            checkRejection(err, 'create')
            assert.ok(illFormedTopKey(initialJson), `create refused representable data: ${err.message}`)
            return
          }
          const state = new Map(Object.entries(initialJson))
          for (const patch of patches) {
            const json = roundTrip(patch)
            const what = `update(${show(patch)})`
            const result = await outcome(() => sessions.update({ app, token, data: patch }), what)
            if (!result.ok) {
              refused++
              checkRejection(result.error, what)
              assert.match(result.error.message, /data/)
              assert.ok(illFormedTopKey(json), `${what}: refused a representable patch: ${result.error.message}`)
            } else {
              applied++
              assert.equal(result.value, true, `${what}: the session exists`)
              for (const [k, v] of Object.entries(json)) {
                if (v === null) state.delete(k)
                else state.set(k, v)
              }
            }
            assert.deepStrictEqual(
              await sessions.get({ app, token }),
              { ownerId: 'merge', data: Object.fromEntries(state) },
              `after ${what}`,
            )
          }
          assert.equal(await sessions.kill({ app, token }), true)
        },
      ),
      800,
    )
    t.diagnostic(`updates applied ${applied}, refused (lone surrogate in a top-level key) ${refused}`)
    assert.ok(applied > 0)
  },
)
