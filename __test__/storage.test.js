'use strict'

// The storage invariants of CONTRACT.md, checked by looking inside Redis. The test itself may use
// KEYS (on its own throwaway server); the library may not.

const { test, describe, before, after } = require('node:test')
const assert = require('node:assert/strict')
const { startRedis, sleep } = require('./helpers/redis.js')
const { supports } = require('./helpers/server-binary.js')
const { SpotsSessions } = require('..')
const layout = require('./helpers/layout.js')

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

// ---------------------------------------------------------------------------------------------
// helpers

// Keys and members hold raw bytes (session ids are binary); these helpers carry them as latin1
// strings (one char per byte) and send them back as the same bytes.
const bytes = (s) => (typeof s === 'string' ? Buffer.from(s, 'latin1') : s)
const latin1 = (b) => b.toString('latin1')
const esc = layout.esc
const sessionId = (token) => latin1(layout.sessionId(token))
const sessionKey = (app, token) => latin1(layout.sessionKey(app, token))
const indexKey = (app, owner) => latin1(Buffer.from(layout.indexKey(app, owner)))

const resp = (...args) => server.command(...args.map(bytes))

// The session layout's keys. Kill receipts (`R1:`, short-lived: see the README's storage layout)
// are left out; the TTL test checks them on their own.
async function keys(pattern = '*') {
  return (await resp('KEYS', pattern))
    .map(latin1)
    .filter((k) => !k.startsWith('R1:'))
    .sort()
}

const int = async (...args) => {
  const out = await resp(...args)
  const n = Number(out)
  assert.ok(Number.isInteger(n), `${args.join(' ')} returned ${JSON.stringify(String(out))}`)
  return n
}
const pttl = (key) => int('PTTL', key)
// PEXPIRETIME (Redis 7) as a script, so that the suite also runs on Redis 6.2: the server's
// time plus PTTL, read again until both TIME readings fall in the same millisecond, so that the
// sum is the stored expiry exactly. -1 / -2 as PEXPIRETIME: no TTL / no key.
const PEXPIRETIME_LUA = `
for _ = 1, 100 do
  local t1 = redis.call('TIME')
  local ttl = redis.call('PTTL', KEYS[1])
  local t2 = redis.call('TIME')
  if ttl < 0 then return ttl end
  local ms1 = tonumber(t1[1]) * 1000 + math.floor(tonumber(t1[2]) / 1000)
  local ms2 = tonumber(t2[1]) * 1000 + math.floor(tonumber(t2[2]) / 1000)
  if ms1 == ms2 then return ms1 + ttl end
end
return redis.error_reply('PEXPIRETIME emulation: the clock never held still')
`
const pexpiretime = (key) => (supports(7) ? int('PEXPIRETIME', key) : int('EVAL', PEXPIRETIME_LUA, '1', key))
const exists = async (key) => (await int('EXISTS', key)) === 1
/** The index score of a session expiring at `ms`: whole seconds, rounded up. */
const scoreOf = (ms) => Math.ceil(ms / 1000)

/** ZRANGE … WITHSCORES as [{ member, score }]; scores are numbers (Infinity for +inf). */
async function zmembers(key) {
  const flat = await resp('ZRANGE', key, '0', '-1', 'WITHSCORES')
  const result = []
  for (let i = 0; i < flat.length; i += 2) {
    const score = flat[i + 1].toString()
    result.push({ member: latin1(flat[i]), score: score === 'inf' ? Infinity : Number(score) })
  }
  return result
}

/** Every 16-unit window of `s` (string or Buffer). */
function windows(s, n = 16) {
  const out = []
  for (let i = 0; i + n <= s.length; i++) out.push(s.subarray ? s.subarray(i, i + n) : s.slice(i, i + n))
  return out
}

// ---------------------------------------------------------------------------------------------

describe('1) O(1): no KEYS, no SCAN on any request path', () => {
  test('INFO commandstats shows no keys/scan after every method, several times', async () => {
    await server.raw('FLUSHALL')
    // Some unrelated keys, so that a scan would have something to walk.
    for (let i = 0; i < 20; i++) await server.raw('SET', `unrelated:${i}`, 'x')
    assert.equal(await server.raw('CONFIG', 'RESETSTAT'), 'OK')
    for (let round = 0; round < 3; round++) {
      for (const app of ['o1', '*', 'a:b', '{x}']) {
        for (const ownerId of ['u1', '*', '']) {
          const t1 = await sessions.create({ app, ownerId, data: { round }, duration: 600 })
          const t2 = await sessions.create({ app, ownerId })
          assert.ok(await sessions.get({ app, token: t1 }))
          assert.equal(await sessions.get({ app, token: '*' }), undefined)
          assert.equal(await sessions.refresh({ app, token: t2, duration: 60 }), true)
          assert.equal(await sessions.refresh({ app, token: '*', duration: 60 }), false)
          assert.equal(await sessions.update({ app, token: t1, data: { round: null, x: 1 } }), true)
          assert.equal(await sessions.update({ app, token: '?', data: { x: 1 } }), false)
          assert.equal(await sessions.kill({ app, token: t1 }), true)
          assert.equal(await sessions.kill({ app, token: t1 }), false)
          assert.equal(await sessions.killAll({ app, ownerId }), true)
          assert.equal(await sessions.killAll({ app, ownerId }), false)
        }
      }
    }
    const stats = await server.raw('INFO', 'commandstats')
    // The stats do capture the library's traffic (so the absence below means something).
    assert.match(stats, /^cmdstat_(evalsha|eval|fcall):calls=\d+/m)
    assert.match(stats, /^cmdstat_hgetall:calls=\d+/m)
    assert.doesNotMatch(stats, /^cmdstat_keys:/m, 'KEYS was called')
    assert.doesNotMatch(stats, /^cmdstat_scan:/m, 'SCAN was called')
  })
})

// ---------------------------------------------------------------------------------------------

describe('2) the documented key layout', () => {
  test("create in 'my-app' for 'u1' makes exactly one S1 hash and one O1 zset", async () => {
    await server.raw('FLUSHALL')
    const token = await sessions.create({ app: 'my-app', ownerId: 'u1', data: { name: 'John', n: 1 }, duration: 600 })
    const all = await keys()
    assert.equal(all.length, 2, `keys: ${JSON.stringify(all)}`)
    const sKeys = all.filter((k) => k.startsWith('S1:my-app:'))
    assert.equal(sKeys.length, 1, JSON.stringify(all))
    assert.equal(sKeys[0].length, 'S1:my-app:'.length + 16)
    assert.equal(sKeys[0], sessionKey('my-app', token), 'the id is SHA-256(token)[0..16], raw')
    assert.ok(all.includes('O1:my-app:u1'), JSON.stringify(all))
    assert.equal(String(await resp('TYPE', sKeys[0])), 'hash')
    assert.equal(String(await resp('TYPE', 'O1:my-app:u1')), 'zset')
    // Hash contents: field 0xFF -> escaped owner; one field per top-level data key -> JSON text.
    const flat = await resp('HGETALL', sKeys[0])
    const fields = new Map()
    for (let i = 0; i < flat.length; i += 2) fields.set(flat[i].toString('latin1'), flat[i + 1].toString('utf8'))
    assert.equal(fields.get('\xff'), 'u1')
    assert.equal(fields.get('name'), '"John"')
    assert.equal(fields.get('n'), '1')
    // Field 0xFE -> the creation time, ms since the epoch on the server's clock, as decimal text
    // (session management; no 0xFD deadline without maxAge).
    assert.match(fields.get('\xfe'), /^[1-9][0-9]{12}$/)
    assert.ok(Math.abs(Number(fields.get('\xfe')) - Date.now()) < 60_000, 'the creation time is now')
    assert.equal(fields.size, 4)
    // Index contents: the session id, scored with its expiry in whole seconds (rounded up).
    const members = await zmembers('O1:my-app:u1')
    assert.deepEqual(
      members.map((m) => m.member),
      [sessionId(token)],
    )
    assert.equal(members[0].score, scoreOf(await pexpiretime(sKeys[0])))
  })

  test('names are escaped: \\ -> \\\\, : -> \\., { -> \\(, } -> \\)', async () => {
    await server.raw('FLUSHALL')
    const cases = [
      ['a:b', 'c'],
      ['{x}', 'y'],
      ['a\\b', 'u:{v}\\w'],
      ['p\\.q', '\\('],
    ]
    for (const [app, ownerId] of cases) {
      await server.raw('FLUSHALL')
      const token = await sessions.create({ app, ownerId, duration: 600 })
      const all = await keys()
      assert.deepEqual(all, [indexKey(app, ownerId), sessionKey(app, token)].sort(), `(${app}, ${ownerId})`)
      for (const k of all) {
        // The escaped names never hold a brace or a separator; only the fixed-length binary id
        // at the end of a session key may hold any byte.
        const named = k.startsWith('S1:') ? k.slice(0, -16) : k
        assert.doesNotMatch(named, /[{}]/, `no hash tag from user input in ${named}`)
        assert.equal(named.split(':').length, 3, `exactly two separators in ${named}`)
      }
      const flat = await resp('HGETALL', sessionKey(app, token))
      assert.equal(flat[0].toString('latin1'), '\xff')
      assert.equal(flat[1].toString('utf8'), esc(ownerId))
    }
    await server.raw('FLUSHALL')
    const t = await sessions.create({ app: 'a:b', ownerId: 'o' })
    const sKeys = await keys('S1:*')
    assert.equal(sKeys.length, 1)
    assert.ok(sKeys[0].startsWith('S1:a\\.b:'), sKeys[0])
    assert.equal(sKeys[0], 'S1:a\\.b:' + sessionId(t))
    assert.deepEqual(await keys('O1:*'), ['O1:a\\.b:o'])
  })
})

// ---------------------------------------------------------------------------------------------

describe('3) no usable token in the keyspace', () => {
  test('no key name or value holds the token, its bytes, or a 16-char piece of it', async () => {
    await server.raw('FLUSHALL')
    const canary = 'canary-value-0123456789'
    const hexSessions = new SpotsSessions({
      connectionString: server.url,
      commandTimeout: 10_000,
      tokenEncoding: 'hex',
      tokenSize: 32,
    })
    const tokens = []
    try {
      for (let i = 0; i < 3; i++) {
        tokens.push(await sessions.create({ app: 'leak', ownerId: `u${i}`, data: { canary, i }, duration: 600 }))
        tokens.push(await sessions.create({ app: 'leak', ownerId: 'shared', data: { canary } }))
        tokens.push(await hexSessions.create({ app: 'leak', ownerId: 'hex', data: { canary }, duration: 600 }))
      }
      assert.equal(await sessions.refresh({ app: 'leak', token: tokens[0], duration: 900 }), true)
      assert.equal(await sessions.update({ app: 'leak', token: tokens[1], data: { more: 'x' } }), true)
    } finally {
      await hexSessions.quit()
    }

    const names = await resp('KEYS', '*')
    assert.ok(names.length >= 2 + 3 + 1, `keys: ${names.length}`)
    const blobs = [] // every key name and every raw value, as Buffers
    for (const name of names) {
      blobs.push(name)
      blobs.push(await resp('DUMP', name))
      const type = (await resp('TYPE', name)).toString()
      if (type === 'hash') blobs.push(...(await resp('HGETALL', name)))
      else if (type === 'zset') blobs.push(...(await resp('ZRANGE', name, '0', '-1', 'WITHSCORES')))
      else assert.fail(`unexpected key type ${type} for ${name}`)
    }
    const texts = blobs.map((b) => b.toString('latin1'))
    // Sanity: the dump does contain the stored data, so a leaked token would be found.
    assert.ok(
      blobs.some((b) => b.includes(canary)),
      'the canary is visible in the dump',
    )

    for (const token of tokens) {
      const isHex = /^[0-9a-f]+$/.test(token) && token.length === 64
      const raw = Buffer.from(token, isHex ? 'hex' : 'base64')
      assert.equal(raw.length, isHex ? 32 : 128)
      const textForms = [token, raw.toString('base64'), raw.toString('base64url'), raw.toString('hex')]
      for (const form of textForms) {
        for (const piece of windows(form)) {
          for (const t of texts) assert.ok(!t.includes(piece), `a 16-char piece of a token (${piece}) is stored`)
        }
      }
      for (const piece of windows(raw)) {
        for (const b of blobs) assert.equal(b.indexOf(piece), -1, '16 raw token bytes are stored')
      }
    }
  })
})

// ---------------------------------------------------------------------------------------------

describe('4) update', () => {
  test('leaves the remaining life unchanged', async () => {
    await server.raw('FLUSHALL')
    const app = 'upd'
    const token = await sessions.create({ app, ownerId: 'u', data: { a: 1 }, duration: 1000 })
    assert.equal(await sessions.refresh({ app, token, duration: 50 }), true)
    const key = sessionKey(app, token)
    // Shorten the life behind the library's back, so that re-applying either the create or the
    // refresh duration would be visible.
    assert.equal(await int('PEXPIRE', key, '40000'), 1)
    const before = await pttl(key)
    assert.ok(before > 0 && before <= 40000, `PTTL before: ${before}`)
    assert.equal(await sessions.update({ app, token, data: { a: 2, b: 'x' } }), true)
    const afterUpdate = await pttl(key)
    assert.ok(afterUpdate > 0, `PTTL after update: ${afterUpdate}`)
    assert.ok(afterUpdate <= before, `update extended the life: ${before} -> ${afterUpdate}`)
    assert.ok(before - afterUpdate <= 1000, `update shortened the life: ${before} -> ${afterUpdate}`)
    assert.equal(await sessions.update({ app, token, data: { a: null } }), true)
    const afterDelete = await pttl(key)
    assert.ok(
      afterDelete > 0 && afterDelete <= afterUpdate && afterUpdate - afterDelete <= 1000,
      `after delete-update: ${afterDelete}`,
    )
    assert.deepEqual(await sessions.get({ app, token }), { ownerId: 'u', data: { b: 'x' } })

    // A session without a duration stays without one.
    const forever = await sessions.create({ app, ownerId: 'u', data: { a: 1 } })
    assert.equal(await pttl(sessionKey(app, forever)), -1)
    assert.equal(await sessions.update({ app, token: forever, data: { a: null, c: 3 } }), true)
    assert.equal(await pttl(sessionKey(app, forever)), -1)
    assert.deepEqual(await sessions.get({ app, token: forever }), { ownerId: 'u', data: { c: 3 } })
  })

  test('never creates a missing session', async () => {
    await server.raw('FLUSHALL')
    const app = 'upd-missing'
    const token = await sessions.create({ app, ownerId: 'u', duration: 600 })
    const snapshot = await keys()
    // Every key but kill receipts (the kill below leaves one).
    const count = async () => (await int('DBSIZE')) - (await resp('KEYS', 'R1:*')).length
    const dbsize = await count()
    for (const unknown of ['unknown-token', '', '*', token + 'x']) {
      assert.equal(await sessions.update({ app, token: unknown, data: { x: 1 } }), false)
      assert.equal(
        await exists(sessionKey(app, unknown)),
        false,
        `update created a session for ${JSON.stringify(unknown)}`,
      )
    }
    assert.equal(await sessions.update({ app: 'other-app', token, data: { x: 1 } }), false)
    assert.equal(await exists(sessionKey('other-app', token)), false)
    // A killed session is not resurrected either.
    const killed = await sessions.create({ app, ownerId: 'u', duration: 600 })
    assert.equal(await sessions.kill({ app, token: killed }), true)
    assert.equal(await sessions.update({ app, token: killed, data: { x: 1 } }), false)
    assert.equal(await exists(sessionKey(app, killed)), false)
    assert.deepEqual(await keys(), snapshot)
    assert.equal(await count(), dbsize)
  })
})

// ---------------------------------------------------------------------------------------------

describe('5) the owner index', () => {
  async function checkIndex(app, owner, liveTokens) {
    const idx = indexKey(app, owner)
    const members = await zmembers(idx)
    const ids = liveTokens.map(sessionId).sort()
    assert.deepEqual(members.map((m) => m.member).sort(), ids, 'index members are exactly the live sessions')
    const indexExpiry = await pexpiretime(idx)
    for (const token of liveTokens) {
      const key = sessionKey(app, token)
      const sessionExpiry = await pexpiretime(key)
      const sessionTtl = await pttl(key)
      assert.notEqual(sessionExpiry, -2, 'session exists')
      const member = members.find((m) => m.member === sessionId(token))
      if (sessionExpiry === -1) {
        assert.equal(sessionTtl, -1)
        assert.equal(member.score, Infinity, 'a session without expiry scores +inf')
        assert.equal(indexExpiry, -1, 'the index of a session without expiry has no expiry')
        assert.equal(await pttl(idx), -1)
      } else {
        assert.equal(
          member.score,
          scoreOf(sessionExpiry),
          'the index score is the session expiry, in seconds rounded up',
        )
        if (indexExpiry !== -1) {
          assert.ok(
            indexExpiry >= sessionExpiry,
            `index expires at ${indexExpiry}, before its session (${sessionExpiry})`,
          )
        }
        // And in PTTL terms, in one script, the index first: Redis before 7.2 reads the clock
        // for each PTTL, and the index may expire only 1 ms after its session.
        const [ip, sp] = await resp(
          'EVAL',
          "return {redis.call('PTTL', KEYS[2]), redis.call('PTTL', KEYS[1])}",
          '2',
          key,
          idx,
        )
        assert.ok(sp > 0)
        assert.ok(ip === -1 || ip >= sp, `index PTTL ${ip} < session PTTL ${sp}`)
      }
    }
    return members
  }

  test('every live session is in its index, and the index outlives them, after create and refresh', async () => {
    await server.raw('FLUSHALL')
    const app = 'idx'
    const owner = 'u:1'
    const t = []
    t.push(await sessions.create({ app, ownerId: owner, duration: 100 }))
    await checkIndex(app, owner, t)
    t.push(await sessions.create({ app, ownerId: owner, duration: 300 }))
    t.push(await sessions.create({ app, ownerId: owner, duration: 200 }))
    await checkIndex(app, owner, t)
    const idx = indexKey(app, owner)
    assert.ok((await pttl(idx)) > 200 * 1000, 'the index lives as long as the longest session')

    // Refresh the longest-lived to shorter, and another to longer.
    assert.equal(await sessions.refresh({ app, token: t[1], duration: 10 }), true)
    await checkIndex(app, owner, t)
    assert.equal(await sessions.refresh({ app, token: t[0], duration: 1000 }), true)
    await checkIndex(app, owner, t)
    assert.ok((await pttl(idx)) > 900 * 1000)
    // Shorten everything: the index may shrink but never below its sessions.
    for (const token of t) assert.equal(await sessions.refresh({ app, token, duration: 20 }), true)
    await checkIndex(app, owner, t)

    // A session without a duration: the index loses its TTL.
    t.push(await sessions.create({ app, ownerId: owner }))
    await checkIndex(app, owner, t)
    assert.equal(await pttl(idx), -1)
    assert.equal(await pttl(sessionKey(app, t[3])), -1)
    // More sessions with a duration do not give the index a TTL back while it is needed.
    t.push(await sessions.create({ app, ownerId: owner, duration: 30 }))
    assert.equal(await sessions.refresh({ app, token: t[0], duration: 40 }), true)
    await checkIndex(app, owner, t)
    assert.equal(await pttl(idx), -1)
    // Once the endless session is given a duration, everything has a TTL again.
    assert.equal(await sessions.refresh({ app, token: t[3], duration: 50 }), true)
    await checkIndex(app, owner, t)
    assert.ok((await pttl(idx)) > 0)

    // Other owners and apps have their own indexes.
    const other = await sessions.create({ app, ownerId: 'u:2', duration: 100 })
    await checkIndex(app, 'u:2', [other])
    await checkIndex(app, owner, t)
  })

  test('expired members are pruned by the next create and refresh of that owner', async () => {
    await server.raw('FLUSHALL')
    const app = 'prune'
    // Owner A: pruned by create. Owner B: pruned by refresh.
    const a1 = await sessions.create({ app, ownerId: 'A', duration: 1 })
    const a2 = await sessions.create({ app, ownerId: 'A', duration: 1 })
    const b1 = await sessions.create({ app, ownerId: 'B', duration: 1 })
    const b2 = await sessions.create({ app, ownerId: 'B', duration: 600 })
    assert.equal(await int('ZCARD', indexKey(app, 'A')), 2)
    assert.equal(await int('ZCARD', indexKey(app, 'B')), 2)
    await sleep(2200)
    const a3 = await sessions.create({ app, ownerId: 'A', duration: 600 })
    const membersA = await zmembers(indexKey(app, 'A'))
    assert.deepEqual(
      membersA.map((m) => m.member),
      [sessionId(a3)],
      'create pruned the expired members',
    )
    assert.equal(await sessions.refresh({ app, token: b2, duration: 600 }), true)
    const membersB = await zmembers(indexKey(app, 'B'))
    assert.deepEqual(
      membersB.map((m) => m.member),
      [sessionId(b2)],
      'refresh pruned the expired member',
    )
    for (const token of [a1, a2, b1]) assert.equal(await exists(sessionKey(app, token)), false)
  })

  test('kill removes the member; killAll removes the index key', async () => {
    await server.raw('FLUSHALL')
    const app = 'idx-kill'
    const owner = '{o}'
    const t1 = await sessions.create({ app, ownerId: owner, duration: 100 })
    const t2 = await sessions.create({ app, ownerId: owner, duration: 200 })
    const t3 = await sessions.create({ app, ownerId: owner })
    const idx = indexKey(app, owner)
    assert.equal(await int('ZCARD', idx), 3)
    assert.equal(await sessions.kill({ app, token: t1 }), true)
    assert.deepEqual((await zmembers(idx)).map((m) => m.member).sort(), [sessionId(t2), sessionId(t3)].sort())
    assert.equal(await exists(sessionKey(app, t1)), false)
    assert.equal(await sessions.kill({ app, token: t2 }), true)
    assert.deepEqual(
      (await zmembers(idx)).map((m) => m.member),
      [sessionId(t3)],
    )
    assert.equal(await sessions.kill({ app, token: t3 }), true)
    assert.equal(await exists(idx), false, 'the index of an owner with no sessions is gone')

    const u = []
    for (let i = 0; i < 3; i++) u.push(await sessions.create({ app, ownerId: owner, duration: 100 }))
    u.push(await sessions.create({ app, ownerId: owner }))
    const keep = await sessions.create({ app, ownerId: 'other', duration: 100 })
    assert.equal(await int('ZCARD', idx), 4)
    assert.equal(await sessions.killAll({ app, ownerId: owner }), true)
    assert.equal(await exists(idx), false, 'killAll removed the index key')
    for (const token of u) assert.equal(await exists(sessionKey(app, token)), false)
    assert.deepEqual(await keys(), [indexKey(app, 'other'), sessionKey(app, keep)].sort())
  })
})

// ---------------------------------------------------------------------------------------------

describe('6) TTLs', () => {
  test('every key has a TTL, except the session and index of a session created without one', async () => {
    await server.raw('FLUSHALL')
    const app = 'ttl'
    const endless = await sessions.create({ app, ownerId: 'forever', data: { a: 1 } })
    const tokens = []
    for (const ownerId of ['x', 'y', 'z:1']) {
      tokens.push(await sessions.create({ app, ownerId, data: { a: 1 }, duration: 100 }))
      tokens.push(await sessions.create({ app, ownerId, data: { a: 1 }, duration: 300 }))
    }
    assert.equal(await sessions.refresh({ app, token: tokens[0], duration: 500 }), true)
    assert.equal(await sessions.refresh({ app, token: tokens[1], duration: 5 }), true)
    assert.equal(await sessions.update({ app, token: tokens[2], data: { b: 2, a: null } }), true)
    assert.equal(await sessions.kill({ app, token: tokens[3] }), true)
    assert.equal(await sessions.killAll({ app, ownerId: 'z:1' }), true)
    assert.equal(await sessions.update({ app, token: endless, data: { b: 2 } }), true)

    const noTtl = new Set([sessionKey(app, endless), indexKey(app, 'forever')])
    const receipts = (await resp('KEYS', 'R1:*')).map(latin1)
    assert.equal(receipts.length, 2, 'one kill receipt for the kill, one for the killAll')
    for (const key of receipts) assert.ok((await pttl(key)) > 0, `receipt ${key} has a TTL`)
    const all = await keys()
    assert.equal(all.length, 2 + 3 + 2, JSON.stringify(all))
    for (const key of all) {
      const ttl = await pttl(key)
      if (noTtl.has(key)) assert.equal(ttl, -1, `${key} should have no TTL`)
      else assert.ok(ttl > 0, `${key} has PTTL ${ttl}`)
    }
  })

  test('killing the only endless session gives its index a TTL again', async () => {
    await server.raw('FLUSHALL')
    const app = 'ttl-kill'
    const endless = await sessions.create({ app, ownerId: 'o' })
    const timed = await sessions.create({ app, ownerId: 'o', duration: 100 })
    const idx = indexKey(app, 'o')
    assert.equal(await pttl(idx), -1)
    assert.equal(await sessions.kill({ app, token: endless }), true)
    // Only `timed` is left: the index must not outlive the store forever.
    const idxTtl = await pttl(idx)
    assert.ok(idxTtl > 0, `after the endless session was killed, the index has PTTL ${idxTtl} (must be > 0)`)
    assert.ok((await pexpiretime(idx)) >= (await pexpiretime(sessionKey(app, timed))), 'and still outlives its session')
  })

  test('an index does not outlive all of its sessions forever', async () => {
    await server.raw('FLUSHALL')
    const app = 'ttl-leak'
    const endless = await sessions.create({ app, ownerId: 'o' })
    const timed = await sessions.create({ app, ownerId: 'o', duration: 1 })
    assert.equal(await sessions.kill({ app, token: endless }), true)
    await sleep(2200)
    assert.equal(await sessions.get({ app, token: timed }), undefined)
    // No session of this owner is alive and none was created without a TTL that still exists:
    // no key may be left that will never expire.
    const idx = indexKey(app, 'o')
    const left = await keys()
    for (const key of left) {
      const ttl = await pttl(key)
      assert.ok(ttl > 0, `${key} is left behind with PTTL ${ttl} and no live session`)
    }
    assert.equal(await sessions.killAll({ app, ownerId: 'o' }), false)
    assert.equal(await exists(idx), false)
  })
})

// ---------------------------------------------------------------------------------------------

describe('7) expiry', () => {
  test('a session with duration 1 is gone for every method after ~2.2 s', async () => {
    await server.raw('FLUSHALL')
    const app = 'exp'
    const t1 = await sessions.create({ app, ownerId: 'short', data: { a: 1 }, duration: 1 })
    const t2 = await sessions.create({ app, ownerId: 'short', data: { a: 2 }, duration: 1 })
    const control = await sessions.create({ app, ownerId: 'long', data: { a: 3 }, duration: 600 })
    assert.deepEqual(await sessions.get({ app, token: t1 }), { ownerId: 'short', data: { a: 1 } })
    await sleep(2200)
    assert.equal(await sessions.get({ app, token: t1 }), undefined)
    assert.equal(await sessions.refresh({ app, token: t1, duration: 600 }), false)
    assert.equal(await sessions.update({ app, token: t1, data: { a: 9 } }), false)
    assert.equal(await sessions.kill({ app, token: t1 }), false)
    assert.equal(await sessions.get({ app, token: t1 }), undefined, 'not resurrected by refresh/update')
    assert.equal(await exists(sessionKey(app, t1)), false)
    assert.equal(await sessions.update({ app, token: t2, data: { a: 9 } }), false)
    assert.equal(await sessions.refresh({ app, token: t2, duration: 600 }), false)
    assert.equal(await sessions.get({ app, token: t2 }), undefined)
    assert.equal(await sessions.killAll({ app, ownerId: 'short' }), false)
    assert.deepEqual(await keys(`S1:${app}:*`), [sessionKey(app, control)])
    assert.deepEqual(await sessions.get({ app, token: control }), { ownerId: 'long', data: { a: 3 } })
  })
})
