'use strict'

// migrateFromV1 and the `spots-sessions migrate-v1` CLI, on a real redis-server and on the
// Redis Cluster harness. The 1.x sessions are written by a faithful 1.x implementation
// (helpers/v1.js, on ioredis), exactly as the 1.x package wrote them.

const { describe, test, before, after } = require('node:test')
const assert = require('node:assert/strict')
const Redis = require('ioredis')
const { SpotsSessions } = require('..')
const { startRedis, freePort } = require('./helpers/redis.js')
const { startCluster, startSentinel } = require('./helpers/topologies.js')
const { sessionKey, sessionId, indexKey, esc } = require('./helpers/layout.js')
const { V1Sessions } = require('./helpers/v1.js')
const { runCli } = require('./helpers/cli.js')

/** `M1:<app>:<id>`: the "migrated" marker (README, "Migrating from 1.x"). */
function markerKey(app, token) {
  return Buffer.concat([Buffer.from(`M1:${esc(app)}:`), sessionId(token)])
}

/** A stand-in 1.x token of a length 1.x can produce (16 characters: 8 bytes in hex). */
const tok = (i) => `1x-token-${i}`.padEnd(16, '0')

describe('migrateFromV1 on a single server', () => {
  let redis
  let v1
  let io
  let sessions

  before(async () => {
    redis = await startRedis()
    v1 = new V1Sessions({ connectionString: redis.url })
    io = new Redis(redis.url)
    sessions = new SpotsSessions(redis.url)
  })

  after(async () => {
    await sessions.quit()
    await v1.quit()
    await io.quit()
    await redis.stop()
  })

  test('1.x sessions become 2.x sessions: same token, owner, data, remaining life; killAll finds them', async () => {
    await io.flushall()
    const nested = {
      user: { name: 'Ann', roles: ['a', 'b'], prefs: { dark: true, n: null } },
      n: 1.5,
      s: 'x"y\\z',
      e: {},
    }
    const b64 = new V1Sessions({ client: io, tokenEncoding: 'base64', tokenSize: 128 })
    const b64url = new V1Sessions({ client: io, tokenEncoding: 'base64url', tokenSize: 64 })
    const hex = new V1Sessions({ client: io, tokenEncoding: 'hex', tokenSize: 32 })
    const made = []
    // Enough base64 tokens that `/` and `+` certainly occur (each is 1/64 of the characters).
    for (let i = 0; i < 5; i++) {
      made.push({
        app: 'app-1',
        ownerId: 'owner-1',
        data: { i, ...nested },
        duration: 3600,
        token: await b64.create({ app: 'app-1', ownerId: 'owner-1', data: { i, ...nested }, duration: 3600 }),
      })
    }
    // A 64-byte base64url token lacks both `-` and `_` about 6% of the time, so make them
    // until one has either (each attempt is one more 1.x session to migrate).
    for (let i = 0; i < 40 && !made.some((m) => /[-_]/.test(m.token)); i++) {
      made.push({
        app: 'app-1',
        ownerId: 'owner-2',
        data: { kind: 'url', i },
        duration: 120,
        token: await b64url.create({ app: 'app-1', ownerId: 'owner-2', data: { kind: 'url', i }, duration: 120 }),
      })
    }
    made.push({
      app: 'other app:{x}',
      ownerId: 'owner:1',
      data: { kind: 'hex' },
      token: await hex.create({ app: 'other app:{x}', ownerId: 'owner:1', data: { kind: 'hex' } }),
    })
    made.push({
      app: 'app-1',
      ownerId: '42',
      data: {},
      duration: 30,
      token: await b64.create({ app: 'app-1', ownerId: 42, data: {}, duration: 30 }),
    })
    const tokens = made.map((m) => m.token).join('')
    assert.ok(tokens.includes('/') && tokens.includes('+'), 'base64 tokens with / and +')
    assert.ok(
      made.some((m) => /[-_]/.test(m.token)),
      'a base64url token with - or _',
    )

    const report = await sessions.migrateFromV1()
    assert.deepEqual(report, {
      scanned: made.length,
      migrated: made.length,
      alreadyMigrated: 0,
      skipped: [],
      deleted: 0,
      errors: [],
    })

    for (const m of made) {
      const got = await sessions.get({ app: m.app, token: m.token })
      assert.deepEqual(
        got,
        { ownerId: m.ownerId, data: JSON.parse(JSON.stringify(m.data)) },
        `${m.app} ${m.token.slice(0, 8)}`,
      )
      // The remaining life is the 1.x key's, to the second (both count down together).
      const [[, oldTtl], [, newTtl]] = await io
        .pipeline()
        .pttl(V1Sessions.key(m.app, m.token, m.ownerId))
        .pttl(sessionKey(m.app, m.token))
        .exec()
      if (m.duration) {
        assert.ok(newTtl > 0 && Math.abs(newTtl - oldTtl) <= 1000, `TTL ${newTtl} ms vs 1.x ${oldTtl} ms`)
      } else {
        assert.equal(oldTtl, -1)
        assert.equal(newTtl, -1, 'a session without duration never expires')
      }
      assert.notEqual(
        await io.zscore(indexKey(m.app, m.ownerId), sessionId(m.token)),
        null,
        'listed in its owner index',
      )
    }
    // The 1.x keys are left alone without deleteOld.
    assert.equal((await io.keys('app:*')).length, made.length)

    // Every method works on a migrated session.
    const [first, second] = made
    assert.equal(await sessions.update({ app: first.app, token: first.token, data: { i: null, added: [1] } }), true)
    const updated = await sessions.get({ app: first.app, token: first.token })
    assert.equal(updated.data.i, undefined)
    assert.deepEqual(updated.data.added, [1])
    assert.equal(await sessions.refresh({ app: first.app, token: first.token, duration: 60 }), true)
    const ttl = await io.ttl(sessionKey(first.app, first.token))
    assert.ok(ttl > 0 && ttl <= 60, `refreshed TTL ${ttl}`)
    assert.equal(await sessions.kill({ app: second.app, token: second.token }), true)
    assert.equal(await sessions.get({ app: second.app, token: second.token }), undefined)
    // killAll finds the migrated sessions through the index the migration built.
    assert.equal(await sessions.killAll({ app: 'app-1', ownerId: 'owner-1' }), true)
    for (const m of made.filter((x) => x.ownerId === 'owner-1')) {
      assert.equal(await sessions.get({ app: m.app, token: m.token }), undefined)
    }
    assert.deepEqual((await sessions.get({ app: 'app-1', token: made[5].token })).data, { kind: 'url', i: 0 })
  })

  test('a dry run counts and writes nothing', async () => {
    await io.flushall()
    const tokens = []
    for (let i = 0; i < 20; i++)
      tokens.push(await v1.create({ app: 'dry', ownerId: `o${i % 3}`, data: { i }, duration: 600 }))
    await io.set('app:dry|token:x|ownerId:a|ownerId:b', '{}')
    const before = (await io.keys('*')).sort()
    const report = await sessions.migrateFromV1({ dryRun: true, deleteOld: true })
    assert.equal(report.scanned, 21)
    assert.equal(report.migrated, 20)
    assert.equal(report.deleted, 20, 'a dry run says what a real run would delete')
    assert.equal(report.skipped.length, 1)
    assert.deepEqual((await io.keys('*')).sort(), before)
    assert.equal(await sessions.get({ app: 'dry', token: tokens[0] }), undefined)
  })

  test('idempotent: a second run migrates 0, catches keys 1.x wrote since, never resurrects or overwrites', async () => {
    await io.flushall()
    const old = []
    for (let i = 0; i < 30; i++)
      old.push(await v1.create({ app: 'idem', ownerId: `o${i % 4}`, data: { i }, duration: 600 }))
    const first = await sessions.migrateFromV1({ batchSize: 7 })
    assert.equal(first.migrated, 30)

    // Through 2.x after the first run: one session killed, one updated, one refreshed.
    assert.equal(await sessions.kill({ app: 'idem', token: old[0] }), true)
    assert.equal(await sessions.update({ app: 'idem', token: old[1], data: { i: 'changed by 2.x' } }), true)
    // A 1.x instance still running changes its copy too: 2.x's must win.
    assert.equal(await v1.update({ app: 'idem', token: old[1], data: { i: 'changed by 1.x' } }), true)
    // A 1.x instance, still running in the rolling deploy, creates new sessions.
    const fresh = []
    for (let i = 0; i < 5; i++)
      fresh.push(await v1.create({ app: 'idem', ownerId: 'late', data: { late: i }, duration: 600 }))

    const second = await sessions.migrateFromV1({ batchSize: 7 })
    assert.equal(second.scanned, 35)
    assert.equal(second.migrated, 5, 'only what 1.x wrote since')
    assert.equal(second.alreadyMigrated, 30)
    assert.equal(await sessions.get({ app: 'idem', token: old[0] }), undefined, 'a session 2.x killed stays dead')
    assert.deepEqual((await sessions.get({ app: 'idem', token: old[1] })).data, { i: 'changed by 2.x' })
    for (const t of fresh) assert.equal((await sessions.get({ app: 'idem', token: t })).ownerId, 'late')

    const third = await sessions.migrateFromV1()
    assert.equal(third.migrated, 0)
    assert.equal(third.alreadyMigrated, 35)
    assert.equal(await sessions.get({ app: 'idem', token: old[0] }), undefined)
  })

  test('the marker outlives the 1.x key and goes with it', async () => {
    await io.flushall()
    const t = await v1.create({ app: 'mark', ownerId: 'o', data: {}, duration: 100 })
    const forever = await v1.create({ app: 'mark', ownerId: 'o', data: {} })
    await sessions.migrateFromV1()
    const oldTtl = await io.pttl(V1Sessions.key('mark', t, 'o'))
    const markTtl = await io.pttl(markerKey('mark', t))
    assert.ok(markTtl > oldTtl + 86_000_000, `marker ${markTtl} ms vs 1.x key ${oldTtl} ms`)
    assert.equal(await io.pttl(markerKey('mark', forever)), -1, 'no TTL when the 1.x key has none')
    await sessions.migrateFromV1({ deleteOld: true })
    assert.equal(await io.exists(markerKey('mark', t), markerKey('mark', forever)), 0)
  })

  test('ambiguous, corrupt and wrongly typed keys are reported and left alone', async () => {
    await io.flushall()
    const good = await v1.create({ app: 'ok', ownerId: 'o', data: { a: 1 }, duration: 600 })
    // Names that split more than one way: reported by what every reading agrees on, no token.
    const ambiguous = [
      // An app containing `|token:`: the owner is certain, the app is not.
      [V1Sessions.key('my|token:app', tok(0), 'o'), { app: null, ownerId: 'o' }],
      // An ownerId containing `|ownerId:`: the app is certain, the owner is not.
      [V1Sessions.key('app', tok(1), 'x|ownerId:y'), { app: 'app', ownerId: null }],
      // An ownerId containing `|token:`.
      [V1Sessions.key('app', tok(2), 'x|token:y'), { app: null, ownerId: 'x|token:y' }],
    ]
    // Names that split: reported by app, ownerId and the token's sessionId.
    const corrupt = [
      [tok(3), 'string', '{"a":', /not JSON/],
      [tok(4), 'string', 'null', /JSON object/],
      [tok(5), 'string', '[1,2]', /JSON object/],
      [tok(6), 'hash', null, /wrong type: a hash/],
      [tok(7), 'list', null, /wrong type: a list/],
    ]
    const bad = {}
    for (const [key] of ambiguous) bad[key] = ['string', '{"a":1}']
    for (const [token, type, value] of corrupt) bad[V1Sessions.key('app', token, 'o')] = [type, value]
    for (const [key, [type, value]] of Object.entries(bad)) {
      if (type === 'string') await io.set(key, value, 'EX', 600)
      else if (type === 'hash') await io.hset(key, 'f', 'v')
      else await io.rpush(key, 'v')
    }
    // Not 1.x session keys at all: never scanned, never reported.
    await io.set('app:config', '{}')
    await io.set('app:x|ownerId:o|token:t', '{}')
    const before = (await io.keys('*')).sort()

    const report = await sessions.migrateFromV1()
    assert.equal(report.migrated, 1)
    assert.equal(report.scanned, 1 + Object.keys(bad).length)
    assert.equal(report.skipped.length, Object.keys(bad).length)
    const unsplit = report.skipped.filter((e) => e.sessionId === null)
    for (const [, where] of ambiguous) {
      const found = unsplit.filter((e) => e.app === where.app && e.ownerId === where.ownerId)
      assert.equal(found.length, 1, `${JSON.stringify(where)} in ${JSON.stringify(unsplit)}`)
      assert.match(found[0].reason, /ambiguous/)
    }
    for (const [token, , , reason] of corrupt) {
      const found = report.skipped.filter((e) => e.sessionId === SpotsSessions.sessionIdOf(token))
      assert.equal(found.length, 1, token)
      assert.deepEqual([found[0].app, found[0].ownerId], ['app', 'o'])
      assert.match(found[0].reason, reason, token)
    }
    assert.ok(!JSON.stringify(report).includes('1x-token-'), 'no token in the report')
    assert.deepEqual(report.errors, [])
    // Left alone: the same keys (plus the migrated session, its index and marker), same values.
    const after = (await io.keys('*')).filter((k) => !/^[SOM]1:/.test(k)).sort()
    assert.deepEqual(after, before)
    for (const [key, [type, value]] of Object.entries(bad)) {
      assert.equal(await io.type(key), type)
      if (type === 'string') assert.equal(await io.get(key), value)
    }
    assert.deepEqual((await sessions.get({ app: 'ok', token: good })).data, { a: 1 })
    assert.equal(await sessions.get({ app: 'app', token: tok(3) }), undefined)
    // deleteOld deletes only what it converted.
    const last = await sessions.migrateFromV1({ deleteOld: true })
    assert.equal(last.deleted, 1)
    assert.equal(last.skipped.length, Object.keys(bad).length)
    for (const key of Object.keys(bad)) assert.equal(await io.exists(key), 1)
  })

  test('deleteOld removes the 1.x keys; the sessions live on', async () => {
    await io.flushall()
    const tokens = []
    for (let i = 0; i < 25; i++) tokens.push(await v1.create({ app: 'del', ownerId: 'o', data: { i }, duration: 600 }))
    const first = await sessions.migrateFromV1({ deleteOld: true, batchSize: 10 })
    assert.equal(first.migrated, 25)
    assert.equal(first.deleted, 25)
    assert.deepEqual(await io.keys('app:*'), [])
    assert.deepEqual(await io.keys('M1:*'), [], 'no marker is left behind')
    for (const [i, t] of tokens.entries()) assert.deepEqual((await sessions.get({ app: 'del', token: t })).data, { i })
    assert.deepEqual(await sessions.migrateFromV1({ deleteOld: true }), {
      scanned: 0,
      migrated: 0,
      alreadyMigrated: 0,
      skipped: [],
      deleted: 0,
      errors: [],
    })
  })

  test('onProgress hears every batch; its Promise is awaited', async () => {
    await io.flushall()
    for (let i = 0; i < 60; i++) await v1.create({ app: 'prog', ownerId: 'o', data: { i } })
    for (let i = 0; i < 200; i++) await io.set(`unrelated:${i}`, 'x')
    const seen = []
    let inCallback = false
    const report = await sessions.migrateFromV1({
      batchSize: 10,
      onProgress: async (p) => {
        assert.equal(inCallback, false, 'no batch runs while onProgress is pending')
        inCallback = true
        seen.push(p)
        await new Promise((resolve) => setImmediate(resolve))
        inCallback = false
      },
    })
    assert.equal(report.migrated, 60)
    assert.ok(seen.length > 2, `${seen.length} progress calls`)
    assert.equal(seen.at(-1).done, true)
    assert.equal(seen.filter((p) => p.done).length, 1)
    assert.equal(seen.at(-1).migrated, 60)
    assert.equal(seen[0].totalKeys, 260)
    for (let i = 1; i < seen.length; i++) {
      assert.ok(seen[i].scanned >= seen[i - 1].scanned)
      assert.equal(seen[i].batches, i + 1)
    }
  })

  test('an onProgress that throws stops the run, which rejects with the report so far', async () => {
    await io.flushall()
    for (let i = 0; i < 30; i++) await v1.create({ app: 'stop', ownerId: 'o', data: {} })
    const err = await sessions
      .migrateFromV1({
        batchSize: 5,
        onProgress: () => {
          throw new Error('stop here')
        },
      })
      .then(
        () => null,
        (e) => e,
      )
    assert.equal(err?.message, 'stop here')
    assert.ok(err.report.scanned > 0 && err.report.scanned < 30, `stopped after one batch: ${err.report.scanned}`)
    // Resumable: the next run converts the rest.
    const rest = await sessions.migrateFromV1()
    assert.equal(rest.migrated + rest.alreadyMigrated, 30)
    assert.equal(rest.alreadyMigrated, err.report.migrated)
  })

  test('bad options are refused, naming the option', async () => {
    for (const [opts, field] of [
      [{ batchSize: 0 }, 'batchSize'],
      [{ batchSize: 1.5 }, 'batchSize'],
      [{ batchSize: 100001 }, 'batchSize'],
      [{ batchSize: '10' }, 'batchSize'],
      [{ dryRun: 'yes' }, 'dryRun'],
      [{ deleteOld: 1 }, 'deleteOld'],
      [{ onProgress: 'log' }, 'onProgress'],
      ['all', 'migrateFromV1'],
    ]) {
      await assert.rejects(sessions.migrateFromV1(opts), (err) => {
        assert.ok(err.message.startsWith(field), `${JSON.stringify(opts)}: ${err.message}`)
        assert.match(err.code, /^ERR_INVALID_ARG_/)
        return true
      })
    }
  })

  test('after quit() it rejects with ERR_CLOSED', async () => {
    const closed = new SpotsSessions(redis.url)
    await closed.quit()
    await assert.rejects(closed.migrateFromV1(), { code: 'ERR_CLOSED' })
  })

  test('migration runs beside live 2.x traffic on the same instance', async () => {
    await io.flushall()
    const tokens = []
    for (let i = 0; i < 300; i++)
      tokens.push(await v1.create({ app: 'live', ownerId: `o${i % 10}`, data: { i }, duration: 600 }))
    const running = sessions.migrateFromV1({ batchSize: 50 })
    const created = []
    for (let i = 0; i < 100; i++)
      created.push(await sessions.create({ app: 'live', ownerId: 'new', data: { i }, duration: 600 }))
    const report = await running
    assert.equal(report.migrated, 300)
    for (const [i, t] of created.entries())
      assert.deepEqual((await sessions.get({ app: 'live', token: t })).data, { i })
    for (const [i, t] of tokens.entries()) assert.deepEqual((await sessions.get({ app: 'live', token: t })).data, { i })
  })

  test('CLI: migrate-v1 --json, --dry-run, --delete-old, --help, bad usage', async () => {
    await io.flushall()
    const tokens = []
    for (let i = 0; i < 12; i++) tokens.push(await v1.create({ app: 'cli', ownerId: 'o', data: { i }, duration: 600 }))
    await io.set('app:cli|token:a|token:b|ownerId:o', '{}')

    const dry = await runCli(['migrate-v1', redis.url, '--dry-run', '--json'])
    assert.equal(dry.code, 0, dry.stderr)
    const dryReport = JSON.parse(dry.stdout)
    assert.equal(dryReport.migrated, 12)
    assert.equal(await sessions.get({ app: 'cli', token: tokens[0] }), undefined)

    const run = await runCli(['migrate-v1', redis.url, '--json', '--batch-size', '5'])
    assert.equal(run.code, 0, run.stderr)
    const report = JSON.parse(run.stdout)
    assert.equal(report.scanned, 13)
    assert.equal(report.migrated, 12)
    assert.equal(report.skipped.length, 1)
    const [skipped] = report.skipped
    assert.deepEqual([skipped.app, skipped.ownerId, skipped.sessionId], [null, 'o', null])
    assert.match(skipped.reason, /ambiguous name/)
    assert.deepEqual(report.errors, [])
    assert.deepEqual((await sessions.get({ app: 'cli', token: tokens[3] })).data, { i: 3 })

    const human = await runCli(['migrate-v1', redis.url, '--delete-old'])
    assert.equal(human.code, 0, human.stderr)
    assert.match(human.stdout, /already migrated:\s+12/)
    assert.match(human.stdout, /deleted \(1\.x\):\s+12/)
    assert.match(human.stdout, /ambiguous name/)
    assert.equal((await io.keys('app:*')).length, 1, 'only the skipped key is left')

    const help = await runCli(['migrate-v1', '--help'])
    assert.equal(help.code, 0)
    assert.match(help.stdout, /Usage: spots-sessions migrate-v1 \[<connection-string>\]/)
    const none = await runCli([])
    assert.equal(none.code, 2)
    const unknown = await runCli(['migrate-v1', redis.url, '--frobnicate'])
    assert.equal(unknown.code, 2)
    assert.match(unknown.stderr, /unknown option --frobnicate/)
    const badUrl = await runCli(['migrate-v1', 'ftp://nowhere'])
    assert.equal(badUrl.code, 2, badUrl.stderr)
  })

  test('CLI: a server that cannot be reached exits non-zero with a clear message', async () => {
    const port = await freePort()
    const res = await runCli(['migrate-v1', `redis://127.0.0.1:${port}`, '--json'])
    assert.equal(res.code, 1, res.stderr)
    assert.match(res.stderr, /the migration failed/)
    assert.match(JSON.parse(res.stdout).failed, /ERR_REDIS/)
  })
})

describe('migrateFromV1 on Redis Cluster', () => {
  let cluster
  let io
  let v1
  let sessions

  before(async () => {
    cluster = await startCluster()
    io = new Redis.Cluster(cluster.seeds)
    v1 = new V1Sessions({ client: io })
    sessions = new SpotsSessions({ cluster: cluster.seeds })
  })

  after(async () => {
    await sessions?.quit()
    await io?.quit()
    await cluster?.stop()
  })

  test('every master is scanned; sessions, TTLs, index, idempotence, no resurrection, deleteOld', async () => {
    const made = []
    for (let i = 0; i < 90; i++) {
      const s = {
        app: `app${i % 3}`,
        ownerId: `o${i % 5}`,
        data: { i, deep: { a: [i] } },
        duration: i % 9 === 0 ? undefined : 600,
      }
      s.token = await v1.create(s)
      made.push(s)
    }
    // The 1.x keys really are spread over every master.
    const perMaster = await cluster.commandAll('DBSIZE')
    assert.ok(perMaster.length >= 3 && perMaster.every((n) => n > 0), `keys per master: ${perMaster}`)

    const dry = await sessions.migrateFromV1({ dryRun: true, batchSize: 20 })
    assert.equal(dry.migrated, 90)
    assert.equal(await cluster.dbsize(), 90, 'the dry run wrote nothing')

    const report = await sessions.migrateFromV1({ batchSize: 20 })
    assert.deepEqual(report, { scanned: 90, migrated: 90, alreadyMigrated: 0, skipped: [], deleted: 0, errors: [] })
    for (const m of made) {
      assert.deepEqual(await sessions.get({ app: m.app, token: m.token }), { ownerId: m.ownerId, data: m.data })
      const oldTtl = await cluster.command('PTTL', V1Sessions.key(m.app, m.token, m.ownerId))
      const newTtl = await cluster.command('PTTL', sessionKey(m.app, m.token))
      if (m.duration) assert.ok(Math.abs(newTtl - oldTtl) <= 1000, `TTL ${newTtl} vs ${oldTtl}`)
      else assert.equal(newTtl, -1)
    }

    const victim = made[1]
    assert.equal(await sessions.kill({ app: victim.app, token: victim.token }), true)
    const late = await v1.create({ app: 'app0', ownerId: 'late', data: { late: true }, duration: 600 })
    const again = await sessions.migrateFromV1({ batchSize: 20 })
    assert.equal(again.migrated, 1)
    assert.equal(again.alreadyMigrated, 90)
    assert.equal(await sessions.get({ app: victim.app, token: victim.token }), undefined, 'not resurrected')
    assert.deepEqual((await sessions.get({ app: 'app0', token: late })).data, { late: true })

    // killAll finds migrated sessions on Cluster too.
    assert.equal(await sessions.killAll({ app: 'app2', ownerId: 'o2' }), true)
    for (const m of made.filter((x) => x.app === 'app2' && x.ownerId === 'o2')) {
      assert.equal(await sessions.get({ app: m.app, token: m.token }), undefined)
    }

    const cleanup = await sessions.migrateFromV1({ deleteOld: true })
    assert.equal(cleanup.deleted, 91)
    const leftovers = (await cluster.commandAll('KEYS', '*')).flat().map(String)
    assert.deepEqual(
      leftovers.filter((k) => k.startsWith('app:') || k.startsWith('M1:')),
      [],
    )
    assert.deepEqual((await sessions.get({ app: made[0].app, token: made[0].token })).data, made[0].data)
  })
})

describe('migrateFromV1 through Sentinel', () => {
  let sentinel
  let sessions

  before(async () => {
    sentinel = await startSentinel()
    sessions = new SpotsSessions({ sentinels: sentinel.sentinels, name: sentinel.name })
  })

  after(async () => {
    await sessions?.quit()
    await sentinel?.stop()
  })

  test('the master is migrated, by the method and by the CLI with a redis-sentinel:// URL', async () => {
    const master = sentinel.serverFor(await sentinel.currentMaster())
    const io = new Redis(master.url)
    try {
      const v1 = new V1Sessions({ client: io })
      const tokens = []
      for (let i = 0; i < 10; i++)
        tokens.push(await v1.create({ app: 'sent', ownerId: 'o', data: { i }, duration: 600 }))
      const dry = await runCli(['migrate-v1', sentinel.url, '--dry-run', '--json'])
      assert.equal(dry.code, 0, dry.stderr)
      assert.equal(JSON.parse(dry.stdout).migrated, 10)
      const report = await sessions.migrateFromV1({ batchSize: 3 })
      assert.equal(report.migrated, 10)
      for (const [i, t] of tokens.entries())
        assert.deepEqual(await sessions.get({ app: 'sent', token: t }), { ownerId: 'o', data: { i } })
      const cli = await runCli(['migrate-v1', sentinel.url, '--delete-old', '--json'])
      assert.equal(cli.code, 0, cli.stderr)
      assert.deepEqual(JSON.parse(cli.stdout), {
        scanned: 10,
        migrated: 0,
        alreadyMigrated: 10,
        skipped: [],
        deleted: 10,
        errors: [],
      })
      assert.deepEqual(await io.keys('app:*'), [])
    } finally {
      await io.quit()
    }
  })
})
