'use strict'

// Property-based tests (fast-check) of session management, in the style of properties.test.js:
//   D. random sequences of create (with duration / maxAge / maxSessions), kill by id, killAll
//      with exceptToken, rotate, get with refresh and refresh, checked after every step against
//      a model in JS: list and count report exactly the model's live sessions with their data,
//      newest first; maxSessions evicts exactly the oldest-created; no expiry passes a maxAge
//      deadline; the owner index holds exactly the live sessions;
//   E. sessionIdOf(token) is base64url(SHA-256(WTF-8(token))[0..16]) for any string;
//   F. kill({ sessionId }) with any string resolves only for a canonical id, else rejects
//      naming sessionId.
//
// The seed is fixed (override with FC_SEED=<n>; scale the runs with FC_RUNS=<factor>) and
// printed in every test's diagnostics and failure message.

const { test, before, after } = require('node:test')
const assert = require('node:assert/strict')
const crypto = require('node:crypto')
const fc = require('fast-check')
const { startRedis } = require('./helpers/redis.js')
const { indexKey } = require('./helpers/layout.js')
const { SpotsSessions } = require('..')

const SEED = process.env.FC_SEED !== undefined ? Number(process.env.FC_SEED) : 20250611
const RUNS = process.env.FC_RUNS !== undefined ? Number(process.env.FC_RUNS) : 1

let server
let sessions

before(async () => {
  server = await startRedis()
  sessions = new SpotsSessions({ connectionString: server.url, commandTimeout: 10_000 })
})

after(async () => {
  await sessions.quit()
  await server.stop()
})

async function check(t, property, numRuns) {
  const runs = Math.max(1, Math.round(numRuns * RUNS))
  t.diagnostic(`fast-check seed ${SEED}, ${runs} runs (rerun with FC_SEED=${SEED})`)
  try {
    await fc.assert(property, { seed: SEED, numRuns: runs, verbose: process.env.FC_VERBOSE ? 2 : 0 })
  } catch (err) {
    const cause = err.cause instanceof Error ? `\nCause: ${err.cause.message}` : ''
    err.message = `[fast-check seed ${SEED}] ${err.message}${cause}`
    throw err
  }
}

/** WTF-8: UTF-8, with lone surrogates encoded as if they were scalar values (src/text.rs). */
function wtf8(s) {
  const out = []
  for (let i = 0; i < s.length; i++) {
    let c = s.charCodeAt(i)
    if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length) {
      const d = s.charCodeAt(i + 1)
      if (d >= 0xdc00 && d <= 0xdfff) {
        c = 0x10000 + ((c - 0xd800) << 10) + (d - 0xdc00)
        i++
      }
    }
    if (c < 0x80) out.push(c)
    else if (c < 0x800) out.push(0xc0 | (c >> 6), 0x80 | (c & 63))
    else if (c < 0x10000) out.push(0xe0 | (c >> 12), 0x80 | ((c >> 6) & 63), 0x80 | (c & 63))
    else out.push(0xf0 | (c >> 18), 0x80 | ((c >> 12) & 63), 0x80 | ((c >> 6) & 63), 0x80 | (c & 63))
  }
  return Buffer.from(out)
}
const idOf = (token) => crypto.createHash('sha256').update(wtf8(token)).digest().subarray(0, 16).toString('base64url')

const OWNERS = ['u0', 'u1', 'u:{2}']
const pick = fc.nat({ max: 1000 })
const opArb = fc.oneof(
  {
    weight: 5,
    arbitrary: fc.record({
      op: fc.constant('create'),
      owner: fc.constantFrom(...OWNERS),
      data: fc.dictionary(fc.constantFrom('a', 'b', '', 'ÿ', '__proto__'), fc.jsonValue({ maxDepth: 1 }), {
        maxKeys: 3,
      }),
      duration: fc.option(fc.integer({ min: 600, max: 10_000 }), { nil: undefined }),
      maxAge: fc.option(fc.integer({ min: 600, max: 20_000 }), { nil: undefined }),
      maxSessions: fc.option(fc.integer({ min: 1, max: 4 }), { nil: undefined }),
    }),
  },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('killById'), pick }) },
  {
    weight: 1,
    arbitrary: fc.record({
      op: fc.constant('killAllExcept'),
      owner: fc.constantFrom(...OWNERS),
      pick: fc.option(pick, { nil: undefined }),
    }),
  },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('rotate'), pick }) },
  {
    weight: 2,
    arbitrary: fc.record({ op: fc.constant('getRefresh'), pick, refresh: fc.integer({ min: 600, max: 30_000 }) }),
  },
  {
    weight: 1,
    arbitrary: fc.record({ op: fc.constant('refresh'), pick, duration: fc.integer({ min: 600, max: 30_000 }) }),
  },
)

test(
  'property D: list, count and the index follow a model through random management calls',
  { timeout: 300_000 },
  async (t) => {
    let steps = 0
    await check(
      t,
      fc.asyncProperty(fc.array(opArb, { minLength: 1, maxLength: 25 }), async (ops) => {
        await server.command('FLUSHALL')
        const app = 'prop-manage'
        // token -> { owner, data, createdAt (from list), maxAge }
        const live = new Map()
        const dead = []
        const all = () => [...live.keys()]
        const chosen = (k) => (live.size === 0 ? undefined : all()[k % live.size])
        const ofOwner = (owner) => all().filter((tk) => live.get(tk).owner === owner)

        async function verify(what) {
          for (const owner of OWNERS) {
            const list = await sessions.list({ app, ownerId: owner })
            const expected = ofOwner(owner)
            assert.deepEqual(
              list.map((x) => x.sessionId).sort(),
              expected.map(idOf).sort(),
              `${what}: list of ${owner}`,
            )
            assert.equal(await sessions.count({ app, ownerId: owner }), expected.length, `${what}: count of ${owner}`)
            assert.equal(
              await server.command('ZCARD', indexKey(app, owner)),
              expected.length,
              `${what}: index of ${owner}`,
            )
            for (let i = 1; i < list.length; i++)
              assert.ok(list[i - 1].createdAt >= list[i].createdAt, `${what}: newest first`)
            for (const token of expected) {
              const s = live.get(token)
              const info = list.find((x) => x.sessionId === idOf(token))
              assert.deepStrictEqual(info.data, s.data, `${what}: data`)
              if (s.createdAt === undefined) s.createdAt = info.createdAt
              assert.equal(info.createdAt, s.createdAt, `${what}: createdAt is kept`)
              if (s.maxAge !== undefined)
                assert.ok(
                  info.expiresAt !== null && info.expiresAt <= s.createdAt + s.maxAge * 1000,
                  `${what}: within maxAge`,
                )
              if (s.maxAge === undefined && s.expires === null) assert.equal(info.expiresAt, null)
            }
          }
          for (const token of dead.slice(-5))
            assert.equal(await sessions.get({ app, token }), undefined, `${what}: a dead token stays dead`)
        }

        for (const o of ops) {
          steps++
          const what = JSON.stringify(o)
          if (o.op === 'create') {
            if (o.maxAge !== undefined && o.duration !== undefined && o.maxAge < o.duration) {
              await assert.rejects(
                sessions.create({ app, ownerId: o.owner, data: o.data, duration: o.duration, maxAge: o.maxAge }),
                (e) => e.code === 'ERR_INVALID_ARG_VALUE' && /maxAge/.test(e.message),
              )
              continue
            }
            // The model's eviction: the oldest-created (by the times list reported; ties by id), the new one kept.
            const evicted = []
            if (o.maxSessions !== undefined) {
              const mine = ofOwner(o.owner).map((tk) => ({
                tk,
                c: live.get(tk).createdAt,
                id: Buffer.from(idOf(tk), 'base64url'),
              }))
              mine.sort((a, b) => a.c - b.c || Buffer.compare(a.id, b.id))
              evicted.push(...mine.slice(0, Math.max(0, mine.length + 1 - o.maxSessions)).map((x) => x.tk))
            }
            const token = await sessions.create({
              app,
              ownerId: o.owner,
              data: o.data,
              duration: o.duration,
              maxAge: o.maxAge,
              maxSessions: o.maxSessions,
            })
            for (const tk of evicted) {
              live.delete(tk)
              dead.push(tk)
            }
            live.set(token, {
              owner: o.owner,
              data: JSON.parse(JSON.stringify(o.data)),
              maxAge: o.maxAge,
              expires: o.duration === undefined && o.maxAge === undefined ? null : 1,
            })
          } else if (o.op === 'killById') {
            const token = chosen(o.pick) ?? dead[o.pick % Math.max(1, dead.length)]
            if (token === undefined) continue
            const was = live.has(token)
            assert.equal(await sessions.kill({ app, sessionId: SpotsSessions.sessionIdOf(token) }), was, what)
            live.delete(token)
            if (was) dead.push(token)
          } else if (o.op === 'killAllExcept') {
            const keep = o.pick === undefined ? undefined : chosen(o.pick)
            const victims = ofOwner(o.owner).filter((tk) => tk !== keep)
            assert.equal(await sessions.killAll({ app, ownerId: o.owner, exceptToken: keep }), victims.length > 0, what)
            for (const tk of victims) {
              live.delete(tk)
              dead.push(tk)
            }
          } else if (o.op === 'rotate') {
            const token = chosen(o.pick)
            if (token === undefined) {
              assert.equal(await sessions.rotate({ app, token: 'none' }), undefined)
              continue
            }
            const next = await sessions.rotate({ app, token })
            assert.equal(typeof next, 'string', what)
            live.set(next, live.get(token))
            live.delete(token)
            dead.push(token)
          } else if (o.op === 'getRefresh' || o.op === 'refresh') {
            const token = chosen(o.pick)
            if (token === undefined) continue
            const s = live.get(token)
            if (o.op === 'getRefresh') {
              assert.deepStrictEqual(
                await sessions.get({ app, token, refresh: o.refresh }),
                { ownerId: s.owner, data: s.data },
                what,
              )
            } else {
              assert.equal(await sessions.refresh({ app, token, duration: o.duration }), true, what)
            }
            s.expires = 1
          }
          await verify(what)
        }
      }),
      60,
    )
    t.diagnostic(`${steps} calls checked`)
  },
)

// Any UTF-16 code unit (lone surrogates included) or any astral character.
const codeUnit = fc.oneof(
  fc.constantFrom('\ud800', '\udfff', '\u0000'),
  fc.integer({ min: 0, max: 0xffff }).map((c) => String.fromCharCode(c)),
  fc.integer({ min: 0x10000, max: 0x10ffff }).map((c) => String.fromCodePoint(c)),
)

test('property E: sessionIdOf(token) is base64url(SHA-256(WTF-8(token))[0..16]) for any string', async (t) => {
  await check(
    t,
    fc.property(fc.string({ unit: codeUnit, maxLength: 64 }), (token) => {
      const id = SpotsSessions.sessionIdOf(token)
      assert.equal(id, idOf(token))
      assert.match(id, /^[A-Za-z0-9_-]{21}[AQgw]$/)
    }),
    2000,
  )
})

test('property F: kill({ sessionId }) resolves only for a canonical id, else rejects naming sessionId', async (t) => {
  const canonical = /^[A-Za-z0-9_-]{21}[AQgw]$/
  const b64 = fc.constantFrom(...'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_+/=. é\u0000')
  const arb = fc.oneof(
    fc.string({ minLength: 20, maxLength: 24, unit: b64 }),
    fc.string({ maxLength: 40 }),
    fc.string({ minLength: 22, maxLength: 22, unit: b64 }),
    fc.uint8Array({ minLength: 16, maxLength: 16 }).map((b) => Buffer.from(b).toString('base64url')),
  )
  let accepted = 0
  await check(
    t,
    fc.asyncProperty(arb, async (sessionId) => {
      const result = await sessions.kill({ app: 'prop-f', sessionId }).then(
        (v) => ({ v }),
        (e) => ({ e }),
      )
      if (canonical.test(sessionId)) {
        accepted++
        assert.equal(result.v, false, `a well-formed, unknown id: ${JSON.stringify(sessionId)}`)
      } else {
        assert.ok(result.e instanceof Error, `must reject ${JSON.stringify(sessionId)}`)
        assert.equal(result.e.code, 'ERR_INVALID_ARG_VALUE')
        assert.match(result.e.message, /sessionId/)
      }
    }),
    1000,
  )
  t.diagnostic(`${accepted} well-formed ids`)
})
