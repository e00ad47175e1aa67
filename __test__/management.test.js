'use strict'

// Session management beyond 1.x (CONTRACT.md, "Session management"): sessionIdOf, list, count,
// kill by id, killAll with exceptToken, create with maxSessions / maxAge, get with refresh,
// rotate. Every call on a single server and on Redis Cluster (the topology harness), then what
// only a single server promises (atomic races), the format-1 compatibility (sessions without
// a creation time) and hostile input for the new arguments.

const { describe, test, before, after } = require('node:test')
const assert = require('node:assert/strict')
const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')
const { SpotsSessions } = require('..')
const { startRedis, sleep } = require('./helpers/redis.js')
const { startCluster } = require('./helpers/topologies.js')
const { sessionId, sessionKey, indexKey } = require('./helpers/layout.js')
const { supports } = require('./helpers/server-binary.js')

const CREATED_FIELD = Buffer.from([0xfe])
const DEADLINE_FIELD = Buffer.from([0xfd])
const idText = (token) => sessionId(token).toString('base64url')
const num = (v) => Number(Buffer.isBuffer(v) ? v.toString() : v)
const idsOf = (list) => list.map((s) => s.sessionId)
// eslint-disable-next-line no-loss-of-precision -- deliberately more digits than a double holds: the double it rounds to must round-trip
const BIG = 12345678901234567890

/** Polls `fn` until it returns true, for at most `ms` (the machine is shared: be generous). */
async function eventually(what, fn, ms = 15_000) {
  const deadline = Date.now() + ms
  for (;;) {
    if (await fn()) return
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`)
    await sleep(100)
  }
}

async function rejectsNaming(promise, fields, code) {
  const err = await promise.then(
    (v) => assert.fail(`expected a rejection naming ${fields}, resolved with ${JSON.stringify(v)}`),
    (e) => e,
  )
  assert.ok(err instanceof Error, `an Error, got ${err}`)
  for (const field of [].concat(fields))
    assert.ok(err.message.includes(field), `message names ${field}: ${err.message}`)
  assert.ok(['ERR_INVALID_ARG_TYPE', 'ERR_INVALID_ARG_VALUE'].includes(err.code), `coded: ${err.code}`)
  if (code) assert.equal(err.code, code)
  return err
}

/**
 * The calls on one topology. `start()` resolves to `{ sessions, command(...args), stop(),
 * cluster }` where `command` is one raw command against the data.
 */
function defineManagementSuite(label, start, options = {}) {
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

    test('sessionIdOf: 22 base64url characters of the stored id, stable, per token', async () => {
      const app = fresh('sid')
      const token = await s.create({ app, ownerId: 'o' })
      const id = SpotsSessions.sessionIdOf(token)
      assert.match(id, /^[A-Za-z0-9_-]{22}$/)
      assert.equal(id, idText(token), 'the base64url of the 16 id bytes the layout stores')
      assert.equal(SpotsSessions.sessionIdOf(token), id, 'stable')
      assert.notEqual(SpotsSessions.sessionIdOf(token + 'x'), id)
      assert.ok(!id.includes(token.slice(0, 10)), 'not the token itself')
      assert.equal(SpotsSessions.sessionIdOf(''), idText(''))
      assert.equal(
        SpotsSessions.sessionIdOf('\ud800'),
        sessionId(Buffer.from([0xed, 0xa0, 0x80])).toString('base64url'),
        'lone surrogates as WTF-8',
      )
      const [listed] = await s.list({ app, ownerId: 'o' })
      assert.equal(listed.sessionId, id)
      assert.throws(
        () => SpotsSessions.sessionIdOf(42),
        (e) => e.code === 'ERR_INVALID_ARG_TYPE' && /token/.test(e.message),
      )
      assert.throws(
        () => SpotsSessions.sessionIdOf(),
        (e) => e.code === 'ERR_INVALID_ARG_TYPE',
      )
    })

    test('list: every live session of that owner in that app, newest first, with times and data', async () => {
      const app = fresh('list')
      const before = Date.now()
      const tokens = []
      for (let i = 0; i < 4; i++) {
        tokens.push(await s.create({ app, ownerId: 'u1', data: { i, n: BIG }, duration: i === 3 ? undefined : 600 }))
        await sleep(5) // distinct creation times (ms), so that the order is checkable
      }
      await s.create({ app, ownerId: 'u2', data: {} })
      await s.create({ app: app + 'x', ownerId: 'u1', data: {} })
      const list = await s.list({ app, ownerId: 'u1' })
      assert.deepEqual(idsOf(list), tokens.map(idText).reverse(), 'newest first')
      for (const info of list) {
        assert.deepEqual(Object.keys(info), ['sessionId', 'createdAt', 'expiresAt', 'data'])
        assert.ok(
          Number.isInteger(info.createdAt) &&
            info.createdAt >= before - 60_000 &&
            info.createdAt <= Date.now() + 60_000,
          `createdAt ${info.createdAt}`,
        )
      }
      assert.deepEqual(
        list.map((x) => x.data),
        [3, 2, 1, 0].map((i) => ({ i, n: BIG })),
      )
      assert.equal(list[0].expiresAt, null, 'no duration: never expires')
      for (const info of list.slice(1)) {
        assert.ok(
          Math.abs(info.expiresAt - (info.createdAt + 600_000)) < 5_000,
          `expiresAt ${info.expiresAt} vs createdAt ${info.createdAt}`,
        )
      }
      assert.ok(list[1].createdAt >= list[2].createdAt && list[2].createdAt >= list[3].createdAt)
      assert.equal(await s.count({ app, ownerId: 'u1' }), 4)
      assert.equal(await s.count({ app, ownerId: 'u2' }), 1)
      assert.deepEqual(await s.list({ app, ownerId: 'nobody' }), [])
      assert.equal(await s.count({ app, ownerId: 'nobody' }), 0)
      // get still returns exactly { ownerId, data }: no reserved field leaks into data
      assert.deepEqual(await s.get({ app, token: tokens[0] }), { ownerId: 'u1', data: { i: 0, n: BIG } })
      // a numeric ownerId is its string, as everywhere
      await s.create({ app, ownerId: 7, data: {} })
      assert.equal(await s.count({ app, ownerId: '7' }), 1)
      assert.equal((await s.list({ app, ownerId: 7 })).length, 1)
    })

    test('list and count never report a session that is gone (killed, expired, evicted)', async () => {
      const app = fresh('gone')
      const [a, b, c, d] = await Promise.all(
        [1, 2, 3, 4].map((i) => s.create({ app, ownerId: 'o', data: { i }, duration: i === 4 ? 1 : 600 })),
      )
      await h.command('DEL', sessionKey(app, b)) // as if Redis evicted it: the index still lists it
      await s.kill({ app, token: c })
      await eventually('the 1 s session to expire', async () => (await s.get({ app, token: d })) === undefined)
      assert.deepEqual(idsOf(await s.list({ app, ownerId: 'o' })), [idText(a)])
      assert.equal(await s.count({ app, ownerId: 'o' }), 1)
      if (!h.cluster) {
        // single server: the dead members were pruned as they were seen
        assert.equal(await h.command('ZCARD', indexKey(app, 'o')), 1)
      }
    })

    test('kill by sessionId: the same as kill by token', async () => {
      const app = fresh('killid')
      const [a, b] = await Promise.all([
        s.create({ app, ownerId: 'o' }),
        s.create({ app, ownerId: 'o', duration: 600 }),
      ])
      assert.equal(await s.kill({ app, sessionId: SpotsSessions.sessionIdOf(a) }), true)
      assert.equal(await s.get({ app, token: a }), undefined)
      assert.equal(await s.kill({ app, sessionId: SpotsSessions.sessionIdOf(a) }), false, 'gone already')
      assert.equal(await s.kill({ app: app + 'x', sessionId: SpotsSessions.sessionIdOf(b) }), false, 'another app')
      assert.deepEqual(idsOf(await s.list({ app, ownerId: 'o' })), [idText(b)])
      assert.equal(await s.kill({ app, sessionId: (await s.list({ app, ownerId: 'o' }))[0].sessionId }), true)
      assert.equal(await s.get({ app, token: b }), undefined)
      assert.equal(await h.command('EXISTS', indexKey(app, 'o')), 0, 'the index went with its last session')
    })

    test('killAll with exceptToken: "sign out everywhere else"', async () => {
      const app = fresh('except')
      const tokens = await Promise.all(
        [0, 1, 2, 3].map((i) => s.create({ app, ownerId: 'o', data: { i }, duration: 600 })),
      )
      const other = await s.create({ app, ownerId: 'p' })
      assert.equal(await s.killAll({ app, ownerId: 'o', exceptToken: tokens[2] }), true)
      for (const [i, token] of tokens.entries()) {
        assert.deepEqual(await s.get({ app, token }), i === 2 ? { ownerId: 'o', data: { i } } : undefined)
      }
      assert.deepEqual(idsOf(await s.list({ app, ownerId: 'o' })), [idText(tokens[2])], 'still listed')
      assert.equal(await h.command('ZCARD', indexKey(app, 'o')), 1)
      assert.ok((await h.command('TTL', indexKey(app, 'o'))) > 0, 'the index keeps a TTL')
      assert.equal(await s.killAll({ app, ownerId: 'o', exceptToken: tokens[2] }), false, 'nothing else to kill')
      // a token of another owner (or none at all) protects nothing of this owner
      assert.equal(await s.killAll({ app, ownerId: 'o', exceptToken: other }), true)
      assert.equal(await s.count({ app, ownerId: 'o' }), 0)
      assert.ok(await s.get({ app, token: other }), "another owner's session is untouched")
      assert.equal(await s.killAll({ app, ownerId: 'p', exceptToken: 'unknown' }), true)
    })

    test('create with maxSessions: the oldest-created are killed so that exactly maxSessions remain', async () => {
      const app = fresh('max')
      const tokens = []
      for (let i = 0; i < 6; i++) {
        tokens.push(await s.create({ app, ownerId: 'o', data: { i }, duration: 600, maxSessions: 3 }))
        await sleep(5)
        assert.equal(await s.count({ app, ownerId: 'o' }), Math.min(i + 1, 3))
      }
      assert.deepEqual(idsOf(await s.list({ app, ownerId: 'o' })), tokens.slice(3).map(idText).reverse())
      for (const t of tokens.slice(0, 3)) assert.equal(await s.get({ app, token: t }), undefined)
      // maxSessions: 1 keeps only the new one; other owners and apps are untouched
      const keep = await s.create({ app, ownerId: 'other' })
      const newest = await s.create({ app, ownerId: 'o', maxSessions: 1 })
      assert.deepEqual(idsOf(await s.list({ app, ownerId: 'o' })), [idText(newest)])
      assert.ok(await s.get({ app, token: keep }))
      // without maxSessions there is no limit
      await s.create({ app, ownerId: 'o' })
      assert.equal(await s.count({ app, ownerId: 'o' }), 2)
    })

    test('create with maxAge: refresh and get({ refresh }) never extend past createdAt + maxAge', async () => {
      const app = fresh('maxage')
      const token = await s.create({ app, ownerId: 'o', data: { a: 1 }, duration: 100, maxAge: 200 })
      const [info] = await s.list({ app, ownerId: 'o' })
      assert.ok(Math.abs(info.expiresAt - (info.createdAt + 100_000)) < 5_000, 'duration applies while shorter')
      const deadline = num(await h.command('HGET', sessionKey(app, token), DEADLINE_FIELD))
      assert.equal(deadline, info.createdAt + 200_000, 'the deadline stored is createdAt + maxAge')
      assert.equal(await s.refresh({ app, token, duration: 1000 }), true)
      let [after] = await s.list({ app, ownerId: 'o' })
      assert.ok(after.expiresAt <= deadline, `refresh capped: ${after.expiresAt} <= ${deadline}`)
      assert.ok(after.expiresAt > deadline - 5_000)
      assert.ok((await h.command('PEXPIRETIME', sessionKey(app, token)).catch(() => deadline)) <= deadline)
      assert.deepEqual(await s.get({ app, token, refresh: 5000 }), { ownerId: 'o', data: { a: 1 } })
      ;[after] = await s.list({ app, ownerId: 'o' })
      assert.ok(after.expiresAt <= deadline, 'get with refresh capped too')
      const score = Number(String(await h.command('ZSCORE', indexKey(app, 'o'), sessionId(token))))
      assert.ok(
        score * 1000 >= after.expiresAt && score * 1000 < after.expiresAt + 2000,
        'the index score follows the capped expiry',
      )
      // a shorter refresh still applies
      assert.equal(await s.refresh({ app, token, duration: 10 }), true)
      ;[after] = await s.list({ app, ownerId: 'o' })
      assert.ok(after.expiresAt < deadline - 100_000)
      // maxAge without duration: the session expires at the deadline
      const short = await s.create({ app, ownerId: 'p', maxAge: 1 })
      const [p] = await s.list({ app, ownerId: 'p' })
      assert.equal(
        p.expiresAt !== null && p.expiresAt <= p.createdAt + 1000 + 5,
        true,
        `expires at the deadline: ${JSON.stringify(p)}`,
      )
      assert.equal(await s.refresh({ app, token: short, duration: 3600 }).then(() => true), true)
      await eventually(
        'the maxAge: 1 session to end despite the refresh',
        async () => (await s.get({ app, token: short })) === undefined,
      )
      assert.equal(await s.count({ app, ownerId: 'p' }), 0)
    })

    test('get with refresh: the session, and its remaining life set in the same call', async () => {
      const app = fresh('getref')
      const token = await s.create({ app, ownerId: 'o', data: { x: [1, { y: null }] }, duration: 10 })
      assert.deepEqual(await s.get({ app, token, refresh: 5000 }), { ownerId: 'o', data: { x: [1, { y: null }] } })
      const pttl = await h.command('PTTL', sessionKey(app, token))
      assert.ok(pttl > 4_000_000 && pttl <= 5_000_000, `PTTL ${pttl}`)
      const score = Number(String(await h.command('ZSCORE', indexKey(app, 'o'), sessionId(token))))
      assert.ok(score * 1000 >= Date.now() + 4_000_000, 'the index entry is extended too')
      assert.equal(await s.get({ app, token: 'nope', refresh: 60 }), undefined)
      assert.equal(await h.command('EXISTS', indexKey(app, 'nobody')), 0)
      // refresh: undefined / null is a plain get
      assert.deepEqual(await s.get({ app, token, refresh: undefined }), { ownerId: 'o', data: { x: [1, { y: null }] } })
      assert.deepEqual(await s.get({ app, token, refresh: null }), { ownerId: 'o', data: { x: [1, { y: null }] } })
    })

    test('rotate: a new token for the same session; the old one is dead at once', async () => {
      const app = fresh('rotate')
      const older = await s.create({ app, ownerId: 'o', data: { keep: 'me' }, duration: 3000, maxAge: 5000 })
      await sleep(5)
      const token = await s.create({ app, ownerId: 'o', data: { a: 1 }, duration: 600 })
      await sleep(5)
      const newer = await s.create({ app, ownerId: 'o', duration: 900 })
      const before = await s.list({ app, ownerId: 'o' })
      const scoreBefore = String(await h.command('ZSCORE', indexKey(app, 'o'), sessionId(token)))
      const rotated = await s.rotate({ app, token })
      assert.equal(typeof rotated, 'string')
      assert.notEqual(rotated, token)
      assert.equal(rotated.length, token.length, 'same tokenSize and encoding')
      assert.equal(await s.get({ app, token }), undefined, 'the old token is dead')
      assert.deepEqual(await s.get({ app, token: rotated }), { ownerId: 'o', data: { a: 1 } })
      const after = await s.list({ app, ownerId: 'o' })
      assert.deepEqual(
        idsOf(after),
        [idText(newer), idText(rotated), idText(older)],
        'same place (createdAt) in the list',
      )
      assert.equal(after[1].createdAt, before[1].createdAt, 'createdAt kept')
      assert.ok(Math.abs(after[1].expiresAt - before[1].expiresAt) < 2000, 'expiry kept')
      assert.equal(
        String(await h.command('ZSCORE', indexKey(app, 'o'), sessionId(rotated))),
        scoreBefore,
        'the old index score',
      )
      assert.equal(await h.command('ZSCORE', indexKey(app, 'o'), sessionId(token)), null, 'the old id is unlisted')
      assert.equal(await h.command('ZCARD', indexKey(app, 'o')), 3)
      // the deadline travels with the session
      const r2 = await s.rotate({ app, token: older })
      const deadline = num(await h.command('HGET', sessionKey(app, r2), DEADLINE_FIELD))
      assert.equal(deadline, before[2].createdAt + 5_000_000)
      // the old token cannot rotate, kill or refresh any more
      assert.equal(await s.rotate({ app, token }), undefined)
      assert.equal(await s.kill({ app, token }), false)
      assert.equal(await s.refresh({ app, token, duration: 60 }), false)
      assert.equal(await s.rotate({ app, token: 'never existed' }), undefined)
      assert.equal(await s.killAll({ app, ownerId: 'o' }), true)
      for (const t of [rotated, r2, newer]) assert.equal(await s.get({ app, token: t }), undefined)
    })

    test('concurrent logins with maxSessions, and killAll with exceptToken racing create: listed = live', async () => {
      const app = fresh('concurrent')
      const tokens = await Promise.all(
        Array.from({ length: 20 }, (_, i) =>
          s.create({ app, ownerId: 'o', data: { i }, duration: 600, maxSessions: 4 }),
        ),
      )
      const alive = async (list) => {
        const out = []
        for (const t of list) if (await s.get({ app, token: t })) out.push(idText(t))
        return out.sort()
      }
      const live = await alive(tokens)
      // A single server evicts atomically: exactly 4. On a cluster racing logins may each evict
      // (README): at most 4, at least 1 (the last login's own session is never evicted).
      if (h.cluster) assert.ok(live.length >= 1 && live.length <= 4, `${live.length} live`)
      else assert.equal(live.length, 4)
      assert.deepEqual(idsOf(await s.list({ app, ownerId: 'o' })).sort(), live)
      assert.equal(await s.count({ app, ownerId: 'o' }), live.length)

      const keep = await s.create({ app, ownerId: 'k', data: { keep: true }, duration: 600 })
      await Promise.all(Array.from({ length: 5 }, () => s.create({ app, ownerId: 'k', duration: 600 })))
      const racing = []
      const creates = Array.from({ length: 10 }, () =>
        s.create({ app, ownerId: 'k', duration: 600 }).then((t) => racing.push(t)),
      )
      await Promise.all([...creates, s.killAll({ app, ownerId: 'k', exceptToken: keep })])
      assert.deepEqual(await s.get({ app, token: keep }), { ownerId: 'k', data: { keep: true } })
      const kept = [idText(keep), ...(await alive(racing))].sort()
      assert.deepEqual(
        idsOf(await s.list({ app, ownerId: 'k' })).sort(),
        kept,
        'every live session is listed (none orphaned)',
      )
      assert.equal(await s.killAll({ app, ownerId: 'k' }), true)
      assert.equal(await s.count({ app, ownerId: 'k' }), 0)
      assert.equal(await s.get({ app, token: keep }), undefined)
    })

    test('sessions created before this version (no createdAt stored) list with createdAt: null and count as oldest', async () => {
      const app = fresh('format1')
      const legacy = await s.create({ app, ownerId: 'o', data: { legacy: true }, duration: 600 })
      // What the 2.0 layout wrote: no creation-time field.
      assert.equal(await h.command('HDEL', sessionKey(app, legacy), CREATED_FIELD), 1)
      await sleep(5)
      const modern = await s.create({ app, ownerId: 'o', data: { legacy: false } })
      const list = await s.list({ app, ownerId: 'o' })
      assert.deepEqual(
        list.map((x) => [x.sessionId, x.createdAt === null, x.data]),
        [
          [idText(modern), false, { legacy: false }],
          [idText(legacy), true, { legacy: true }],
        ],
      )
      assert.ok(list[1].expiresAt > Date.now())
      assert.deepEqual(await s.get({ app, token: legacy }), { ownerId: 'o', data: { legacy: true } })
      // rotate and refresh work on it; maxSessions evicts it first
      const rotated = await s.rotate({ app, token: legacy })
      assert.equal((await s.list({ app, ownerId: 'o' }))[1].createdAt, null)
      await s.create({ app, ownerId: 'o', maxSessions: 2 })
      assert.equal(await s.get({ app, token: rotated }), undefined, 'no createdAt: evicted first')
      assert.ok(await s.get({ app, token: modern }))
      assert.equal(await s.count({ app, ownerId: 'o' }), 2)
    })
  })
}

defineManagementSuite('single server', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'spots-manage-'))
  const server = await startRedis({ dir })
  return {
    cluster: false,
    server,
    sessions: new SpotsSessions({ connectionString: server.url, commandTimeout: 10_000 }),
    command: (...args) => server.command(...args),
    async stop() {
      await server.stop()
      fs.rmSync(dir, { recursive: true, force: true })
    },
  }
})

defineManagementSuite(
  'Redis Cluster (3 masters)',
  async () => {
    const h = await startCluster()
    return {
      cluster: true,
      sessions: new SpotsSessions({ cluster: h.seeds, commandTimeout: 10_000 }),
      command: (...args) => h.command(...args),
      stop: () => h.stop(),
    }
  },
  {
    // The harness starts cluster nodes with --cluster-port, which Redis 6.2 does not know.
    skip: supports(7) ? false : 'the cluster harness needs Redis 7.0+ (--cluster-port)',
  },
)

// ---------------------------------------------------------------------------------------------
// Single server only: each call is one script, so races have exact outcomes.

describe('single server: races', () => {
  let server
  let s
  before(async () => {
    server = await startRedis()
    s = new SpotsSessions({ connectionString: server.url, commandTimeout: 20_000 })
  })
  after(async () => {
    await s.quit()
    await server.stop()
  })

  test('50 concurrent logins of one owner with maxSessions: 5 leave exactly 5', async () => {
    for (const max of [5, 1, 49]) {
      const app = `race-max-${max}`
      const tokens = await Promise.all(
        Array.from({ length: 50 }, (_, i) =>
          s.create({ app, ownerId: 'o', data: { i }, duration: 600, maxSessions: max }),
        ),
      )
      assert.equal(new Set(tokens).size, 50)
      assert.equal(await s.count({ app, ownerId: 'o' }), max)
      const list = await s.list({ app, ownerId: 'o' })
      assert.equal(list.length, max)
      assert.equal(await server.command('ZCARD', indexKey(app, 'o')), max, 'the index holds exactly the survivors')
      const alive = []
      for (const token of tokens) if (await s.get({ app, token })) alive.push(idText(token))
      assert.deepEqual(alive.sort(), idsOf(list).sort(), 'the listed sessions are exactly the live ones')
      // the survivors are the newest-created: every killed one is at most as old as the oldest survivor
      const oldestSurvivor = Math.min(...list.map((x) => x.createdAt))
      assert.ok(list.every((x) => x.createdAt >= oldestSurvivor))
    }
  })

  test('rotate racing get: a get never returns another session', async () => {
    const app = 'race-rotate'
    const n = 40
    const tokens = await Promise.all(
      Array.from({ length: n }, (_, i) => s.create({ app, ownerId: `o${i}`, data: { i }, duration: 600 })),
    )
    const current = [...tokens]
    const mismatches = []
    const check = (i, got) => {
      if (got !== undefined && (got.ownerId !== `o${i}` || got.data.i !== i)) mismatches.push({ i, got })
    }
    const work = []
    for (let round = 0; round < 5; round++) {
      for (let i = 0; i < n; i++) {
        const from = current[i]
        work.push(
          s.rotate({ app, token: from }).then((t) => {
            if (t !== undefined) current[i] = t
          }),
        )
        work.push(s.get({ app, token: from }).then((got) => check(i, got)))
        work.push(s.get({ app, token: tokens[i] }).then((got) => check(i, got)))
      }
      await Promise.all(work.splice(0))
    }
    assert.deepEqual(mismatches, [])
    for (let i = 0; i < n; i++) {
      assert.deepEqual(await s.get({ app, token: current[i] }), { ownerId: `o${i}`, data: { i } })
      assert.equal(await s.get({ app, token: tokens[i] }), undefined)
      assert.equal(await s.count({ app, ownerId: `o${i}` }), 1)
      assert.equal(await server.command('ZCARD', indexKey(app, `o${i}`)), 1)
    }
  })

  test('killAll with exceptToken racing create: the kept session stays, every live session stays listed', async () => {
    for (let round = 0; round < 5; round++) {
      const app = `race-except-${round}`
      const keep = await s.create({ app, ownerId: 'o', data: { keep: true }, duration: 600 })
      const first = await Promise.all(Array.from({ length: 10 }, () => s.create({ app, ownerId: 'o', duration: 600 })))
      const racing = []
      const creates = Array.from({ length: 20 }, () =>
        s.create({ app, ownerId: 'o', duration: 600 }).then((t) => racing.push(t)),
      )
      const killed = s.killAll({ app, ownerId: 'o', exceptToken: keep })
      await Promise.all([...creates, killed])
      assert.equal(await killed, true)
      assert.deepEqual(await s.get({ app, token: keep }), { ownerId: 'o', data: { keep: true } })
      for (const t of first) assert.equal(await s.get({ app, token: t }), undefined)
      const alive = [keep]
      for (const t of racing) if (await s.get({ app, token: t })) alive.push(t)
      const list = await s.list({ app, ownerId: 'o' })
      assert.deepEqual(idsOf(list).sort(), alive.map(idText).sort(), 'listed = live')
      assert.equal(await server.command('ZCARD', indexKey(app, 'o')), alive.length, 'no live session is orphaned')
    }
  })
})

// ---------------------------------------------------------------------------------------------
// Hostile input for the new arguments: coded errors naming the field, never a crash, nothing
// reaches Redis.

describe('hostile input for the new arguments', () => {
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
  const NOT_NUMBERS = ['3', {}, [], true, 10n, Symbol('s'), () => 1]
  const BAD_COUNTS = [0, -0, -1, 1.5, 10_001, 1e300, NaN, Infinity, -Infinity]
  const BAD_SECONDS = [0, -1, 1.5, 2147483648, NaN, Infinity, -Infinity]

  test('maxSessions: a whole number from 1 to 10000', async () => {
    for (const v of NOT_NUMBERS)
      await rejectsNaming(s.create({ app: 'h', ownerId: 'o', maxSessions: v }), 'maxSessions', 'ERR_INVALID_ARG_TYPE')
    for (const v of BAD_COUNTS)
      await rejectsNaming(s.create({ app: 'h', ownerId: 'o', maxSessions: v }), 'maxSessions', 'ERR_INVALID_ARG_VALUE')
    assert.equal(typeof (await s.create({ app: 'h', ownerId: 'o', maxSessions: 10_000 })), 'string')
    assert.equal(await s.count({ app: 'h', ownerId: 'o' }), 1, 'the refused calls created nothing')
  })

  test('maxAge: whole seconds, at least duration', async () => {
    for (const v of NOT_NUMBERS)
      await rejectsNaming(s.create({ app: 'h2', ownerId: 'o', maxAge: v }), 'maxAge', 'ERR_INVALID_ARG_TYPE')
    for (const v of BAD_SECONDS)
      await rejectsNaming(s.create({ app: 'h2', ownerId: 'o', maxAge: v }), 'maxAge', 'ERR_INVALID_ARG_VALUE')
    const err = await rejectsNaming(
      s.create({ app: 'h2', ownerId: 'o', duration: 61, maxAge: 60 }),
      ['maxAge', 'duration'],
      'ERR_INVALID_ARG_VALUE',
    )
    assert.match(err.message, /61/)
    // a bad duration is still reported as duration
    await rejectsNaming(s.create({ app: 'h2', ownerId: 'o', duration: -1, maxAge: 60 }), 'duration')
    assert.equal(typeof (await s.create({ app: 'h2', ownerId: 'o', duration: 60, maxAge: 60 })), 'string')
    assert.equal(typeof (await s.create({ app: 'h2', ownerId: 'o', maxAge: 2147483647 })), 'string')
    assert.equal(await s.count({ app: 'h2', ownerId: 'o' }), 2)
  })

  test('get: refresh as a duration', async () => {
    const token = await s.create({ app: 'h3', ownerId: 'o', duration: 60 })
    for (const v of NOT_NUMBERS)
      await rejectsNaming(s.get({ app: 'h3', token, refresh: v }), 'refresh', 'ERR_INVALID_ARG_TYPE')
    for (const v of BAD_SECONDS)
      await rejectsNaming(s.get({ app: 'h3', token, refresh: v }), 'refresh', 'ERR_INVALID_ARG_VALUE')
    const pttl = await server.command('PTTL', sessionKey('h3', token))
    assert.ok(pttl <= 60_000, 'refused refreshes changed nothing')
  })

  test('kill: exactly one of token and sessionId; a malformed sessionId', async () => {
    const token = await s.create({ app: 'h4', ownerId: 'o' })
    const id = SpotsSessions.sessionIdOf(token)
    await rejectsNaming(s.kill({ app: 'h4', token, sessionId: id }), ['token', 'sessionId'], 'ERR_INVALID_ARG_VALUE')
    await rejectsNaming(s.kill({ app: 'h4' }), ['token', 'sessionId'], 'ERR_INVALID_ARG_TYPE')
    await rejectsNaming(s.kill({ app: 'h4', token: null, sessionId: null }), ['token', 'sessionId'])
    const tail = 'B' // the last character carries only 2 bits: only A, Q, g, w are canonical
    for (const bad of [
      '',
      'abc',
      id + 'A',
      id.slice(0, 21),
      id.slice(0, 20) + '==',
      '+'.repeat(22),
      '/'.repeat(22),
      'é'.repeat(22),
      '\0'.repeat(22),
      id.slice(0, 21) + tail,
      ' '.repeat(22),
      'x'.repeat(5000),
    ]) {
      await rejectsNaming(s.kill({ app: 'h4', sessionId: bad }), 'sessionId', 'ERR_INVALID_ARG_VALUE')
    }
    for (const bad of [42, {}, [], true, 10n])
      await rejectsNaming(s.kill({ app: 'h4', sessionId: bad }), 'sessionId', 'ERR_INVALID_ARG_TYPE')
    await rejectsNaming(s.kill({ app: 42, sessionId: id }), 'app')
    await rejectsNaming(s.kill({ app: 'x'.repeat(5000), sessionId: id }), 'app')
    assert.ok(await s.get({ app: 'h4', token }), 'still alive after the refused calls')
    assert.equal(await s.kill({ app: 'h4', sessionId: id }), true)
  })

  test('killAll: exceptToken a string; list, count, rotate: the usual names', async () => {
    const token = await s.create({ app: 'h5', ownerId: 'o' })
    for (const v of [42, {}, [], true, 10n, Symbol('s')])
      await rejectsNaming(s.killAll({ app: 'h5', ownerId: 'o', exceptToken: v }), 'exceptToken', 'ERR_INVALID_ARG_TYPE')
    await rejectsNaming(
      s.killAll({ app: 'h5', ownerId: 'o', exceptToken: 'x'.repeat(5000) }),
      'exceptToken',
      'ERR_INVALID_ARG_VALUE',
    )
    for (const method of ['list', 'count']) {
      await rejectsNaming(s[method](), method)
      await rejectsNaming(s[method]({ app: 'h5' }), 'ownerId')
      await rejectsNaming(s[method]({ ownerId: 'o' }), 'app')
      await rejectsNaming(s[method]({ app: 'h5', ownerId: 'x'.repeat(5000) }), 'ownerId')
    }
    await rejectsNaming(s.rotate({ app: 'h5' }), 'token')
    await rejectsNaming(s.rotate({ app: 'h5', token: 'x'.repeat(5000) }), 'token')
    await rejectsNaming(s.rotate(null), 'rotate')
    assert.ok(await s.get({ app: 'h5', token }))
    // names with every awkward character are still exact keys
    for (const name of ['*', '?', '[a]', ':', '{x}', '', '\ud800', 'a\0b']) {
      const t = await s.create({ app: name, ownerId: name, data: { name } })
      assert.deepEqual(
        (await s.list({ app: name, ownerId: name })).map((x) => x.data),
        [{ name }],
      )
      assert.equal(await s.count({ app: name, ownerId: name + 'x' }), 0)
      const r = await s.rotate({ app: name, token: t })
      assert.equal(await s.kill({ app: name, sessionId: SpotsSessions.sessionIdOf(r) }), true)
    }
  })
})
