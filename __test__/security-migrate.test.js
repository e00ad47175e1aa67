'use strict'

// Issue 21, items 1, 2 and 7: no migration output holds a 1.x token or session data (a 1.x key's
// name holds the raw token); no error or output holds a connection string's password; 1.x keys
// whose token 1.x could not have issued (empty, or shorter than 8 random bytes) are skipped.

const { describe, test, before, after } = require('node:test')
const assert = require('node:assert/strict')
const crypto = require('node:crypto')
const Redis = require('ioredis')
const { SpotsSessions } = require('..')
const { startRedis, freePort } = require('./helpers/redis.js')
const { V1Sessions } = require('./helpers/v1.js')
const { runCli: runCliWith } = require('./helpers/cli.js')

const ENV = 'SPOTS_SESSIONS_REDIS_URL'

/** The CLI, with SPOTS_SESSIONS_REDIS_URL unset unless `env` sets it. */
const runCli = (args, env = {}) => runCliWith(args, { [ENV]: undefined, ...env })

/** A token as 1.x made them: base64 of `size` random bytes. */
const v1Token = (size = 32) => crypto.randomBytes(size).toString('base64')

/** Asserts that `text` holds none of `secrets` (tokens, data markers, passwords). */
function assertNoSecret(text, secrets, what) {
  for (const secret of secrets) {
    assert.ok(!text.includes(secret), `${what} holds a secret (${secret.slice(0, 6)}…):\n${text}`)
  }
  // Not even a 1.x key name, which is where tokens hide (a reason may name the separator).
  assert.ok(!/app:[^\s"`]*\|token:/.test(text), `${what} holds a 1.x key name:\n${text}`)
}

function assertEntryShape(entry) {
  assert.deepEqual(Object.keys(entry).sort(), ['app', 'ownerId', 'reason', 'sessionId'])
  assert.equal(typeof entry.reason, 'string')
  for (const f of ['app', 'ownerId', 'sessionId']) assert.ok(entry[f] === null || typeof entry[f] === 'string', f)
}

describe('migration output never holds a 1.x token or session data', () => {
  let redis
  let io
  let sessions
  // What no output may hold: every token written below, and markers inside session data.
  const secrets = []
  const tokens = {}

  before(async () => {
    redis = await startRedis()
    io = new Redis(redis.url)
    sessions = new SpotsSessions(redis.url)
  })

  after(async () => {
    await sessions.quit()
    await io.quit()
    await redis.stop()
  })

  // One key of every kind that is skipped, one that fails, one that converts.
  async function seed() {
    await io.flushall()
    secrets.length = 0
    const v1 = new V1Sessions({ client: io })
    tokens.good = await v1.create({ app: 'web', ownerId: 'u1', data: { secretData: 'DATA-GOOD' }, duration: 600 })
    for (const name of ['notJson', 'stringValue', 'hash', 'ambiguous', 'failing', 'numberValue'])
      tokens[name] = v1Token()
    const keys = {
      notJson: [V1Sessions.key('web', tokens.notJson, 'u2'), '{"secretData":"DATA-NOTJSON"'],
      // serde's own message would quote this string.
      stringValue: [V1Sessions.key('web', tokens.stringValue, 'u3'), '"DATA-STRING"'],
      numberValue: [V1Sessions.key('web', tokens.numberValue, 'u3'), '31415926535'],
      // An app containing `|token:`: the name splits two ways.
      ambiguous: [V1Sessions.key('my|token:app', tokens.ambiguous, 'u4'), '{"secretData":"DATA-AMBIGUOUS"}'],
      empty: ['app:web|token:|ownerId:admin', '{"role":"DATA-EMPTY"}'],
      short: ['app:web|token:abc12|ownerId:admin', '{"role":"DATA-SHORT"}'],
      // Its owner's index is a string, so the conversion's ZADD fails with WRONGTYPE.
      failing: [V1Sessions.key('bad', tokens.failing, 'u5'), '{"secretData":"DATA-FAILING"}'],
    }
    for (const [key, value] of Object.values(keys)) await io.set(key, value, 'EX', 600)
    await io.hset(V1Sessions.key('web', tokens.hash, 'u6'), 'secretData', 'DATA-HASH')
    await io.set('O1:bad:u5', 'not an index')
    secrets.push(...Object.values(tokens), 'DATA-', '31415926535')
    // The short token: too short to search for in output on its own, so its key is (above).
    return keys
  }

  test('report entries are { app, ownerId, sessionId, reason }, with no token and no data', async () => {
    await seed()
    const report = await sessions.migrateFromV1()
    assert.equal(report.migrated, 1)
    assert.equal(report.scanned, 9)
    assertNoSecret(JSON.stringify(report), secrets, 'the report')
    for (const e of [...report.skipped, ...report.errors]) assertEntryShape(e)

    const byOwner = (list, app, ownerId) => list.filter((e) => e.app === app && e.ownerId === ownerId)
    const one = (list, app, ownerId) => {
      const found = byOwner(list, app, ownerId)
      assert.equal(found.length, 1, `${app}/${ownerId} in ${JSON.stringify(list)}`)
      return found[0]
    }
    const notJson = one(report.skipped, 'web', 'u2')
    assert.match(notJson.reason, /not JSON/)
    assert.equal(notJson.sessionId, SpotsSessions.sessionIdOf(tokens.notJson))
    const [a, b] = byOwner(report.skipped, 'web', 'u3').sort((x, y) => x.reason.localeCompare(y.reason))
    assert.match(a.reason, /must be a JSON object, got a number/)
    assert.match(b.reason, /must be a JSON object, got a string/)
    assert.match(one(report.skipped, 'web', 'u6').reason, /wrong type: a hash/)
    // The ambiguous name: the owner is fixed by the name, the app and token are not.
    const ambiguous = one(report.skipped, null, 'u4')
    assert.match(ambiguous.reason, /ambiguous name.*not shown/)
    assert.equal(ambiguous.sessionId, null)
    // Tokens 1.x never issued: skipped, and without a sessionId (which would give them away).
    const admin = byOwner(report.skipped, 'web', 'admin')
    assert.equal(admin.length, 2)
    assert.ok(admin.some((e) => /empty token/.test(e.reason)))
    assert.ok(admin.some((e) => /token too short: 5 characters/.test(e.reason)))
    for (const e of admin) assert.equal(e.sessionId, null)
    assert.equal(report.skipped.length, 7)

    assert.equal(report.errors.length, 1)
    const failed = report.errors[0]
    assert.deepEqual(
      { app: failed.app, ownerId: failed.ownerId, sessionId: failed.sessionId },
      { app: 'bad', ownerId: 'u5', sessionId: SpotsSessions.sessionIdOf(tokens.failing) },
    )
    assert.match(failed.reason, /WRONGTYPE/)
  })

  test('1.x keys with an empty or too short token never become sessions', async () => {
    await seed()
    await sessions.migrateFromV1()
    assert.equal(await sessions.get({ app: 'web', token: '' }), undefined)
    assert.equal(await sessions.get({ app: 'web', token: 'abc12' }), undefined)
    assert.deepEqual(await sessions.list({ app: 'web', ownerId: 'admin' }), [])
    assert.deepEqual((await sessions.get({ app: 'web', token: tokens.good })).data, { secretData: 'DATA-GOOD' })
    // Left alone, for whoever wants to look at them.
    assert.equal(await io.exists('app:web|token:|ownerId:admin'), 1)
  })

  test('err.report of a run that stops holds no token either', async () => {
    await seed()
    const err = await sessions
      .migrateFromV1({
        batchSize: 3,
        onProgress: (p) => {
          // As soon as the report so far lists a key (on the last batch at the latest).
          if (p.skipped + p.errors > 0) throw new Error('stop here')
        },
      })
      .then(
        () => null,
        (e) => e,
      )
    assert.equal(err?.message, 'stop here')
    assert.ok(err.report.skipped.length + err.report.errors.length > 0, JSON.stringify(err.report))
    assertNoSecret(JSON.stringify(err.report), secrets, 'err.report')
    for (const e of [...err.report.skipped, ...err.report.errors]) assertEntryShape(e)
  })

  test('a Redis error that echoes the keys (a disabled MGET) does not reach the message', async () => {
    const locked = await startRedis({ args: ['--rename-command', 'MGET', ''] })
    const lockedIo = new Redis(locked.url)
    const lockedSessions = new SpotsSessions(locked.url)
    try {
      const token = v1Token()
      await lockedIo.set(V1Sessions.key('web', token, 'u1'), '{"secretData":"DATA-MGET"}')
      const err = await lockedSessions.migrateFromV1().then(
        () => null,
        (e) => e,
      )
      assert.ok(err, 'the run fails: MGET is disabled')
      assert.match(err.message, /unknown command/)
      assertNoSecret(`${err.message} ${err.stack} ${JSON.stringify(err.report)}`, [token, 'DATA-'], 'the error')
    } finally {
      await lockedSessions.quit()
      await lockedIo.quit()
      await locked.stop()
    }
  })

  test('CLI: the summary, --json and --dry-run hold no token; the connection string may come from the environment', async () => {
    await seed()
    const dry = await runCli(['migrate-v1', redis.url, '--dry-run'])
    assert.equal(dry.code, 0, dry.all) // a dry run writes nothing, so the failing key cannot fail
    assertNoSecret(dry.all, secrets, 'the dry-run summary')
    assert.match(dry.stdout, /skipped:\s+7/)
    assert.match(dry.stdout, /app "web" · ownerId "admin" · sessionId \?/)
    assert.match(dry.stdout, /empty token/)

    const json = await runCli(['migrate-v1', redis.url, '--json'])
    assertNoSecret(json.all, secrets, 'the --json output')
    const report = JSON.parse(json.stdout)
    assert.equal(report.migrated, 1)
    assert.equal(report.errors.length, 1)
    for (const e of [...report.skipped, ...report.errors]) assertEntryShape(e)

    // No positional argument: SPOTS_SESSIONS_REDIS_URL.
    const fromEnv = await runCli(['migrate-v1', '--json'], { [ENV]: redis.url })
    assert.equal(fromEnv.code, 1, fromEnv.all) // the failing key still fails
    assertNoSecret(fromEnv.all, secrets, 'the --json output')
    const again = JSON.parse(fromEnv.stdout)
    assert.equal(again.alreadyMigrated, 1)
    assert.equal(again.skipped.length, 7)

    const human = await runCli(['migrate-v1'], { [ENV]: redis.url })
    assertNoSecret(human.all, secrets, 'the summary')
    assert.match(human.stdout, /already migrated:\s+1/)

    const neither = await runCli(['migrate-v1'])
    assert.equal(neither.code, 2)
    assert.match(neither.stderr, /SPOTS_SESSIONS_REDIS_URL/)
    const help = await runCli(['migrate-v1', '--help'])
    assert.match(help.stdout, /SPOTS_SESSIONS_REDIS_URL/)
  })
})

describe('no error or output holds the password of a connection string', () => {
  const BAD = [
    ['redis://user:s3cret@127.0.0.1:notaport', /InvalidPort/],
    ['redis://user:s3cret@127.0.0.1:6379/db99999', /Invalid integer/],
    ['redis://user:s3cret@127.0.0.1:6379/99999', /Invalid integer/],
    ['redis://user:s3cret@bad host:6379', /InvalidDomainCharacter/],
    ['redis://user:s3c/ret@127.0.0.1:6379', /must be percent-encoded/],
    ['user:s3cret@127.0.0.1:6379', /not a URL/],
  ]

  const refusal = (fn) => {
    try {
      fn()
    } catch (err) {
      return err
    }
    assert.fail('did not throw')
  }

  test('the constructor, with a connection string', () => {
    for (const [url, what] of BAD) {
      for (const options of [url, { connectionString: url }]) {
        const err = refusal(() => new SpotsSessions(options))
        assert.equal(err.code, 'ERR_INVALID_ARG_VALUE', err.message)
        assert.ok(!err.message.includes('s3c') && !err.stack.includes('s3c'), err.message)
        assert.match(err.message, /^connectionString: /)
        assert.match(err.message, what)
      }
    }
    const err = refusal(() => new SpotsSessions('redis://user:s3cret@127.0.0.1:notaport'))
    assert.match(err.message, /'redis:\/\/\*\*\*@127\.0\.0\.1:notaport'/)
  })

  test('the constructor, with SPOTS_SESSIONS_REDIS_URL', () => {
    const saved = process.env[ENV]
    try {
      for (const [url, what] of BAD) {
        process.env[ENV] = url
        for (const options of [undefined, {}]) {
          const err = refusal(() => new SpotsSessions(options))
          assert.ok(!err.message.includes('s3c'), err.message)
          assert.match(err.message, /^SPOTS_SESSIONS_REDIS_URL: /)
          assert.match(err.message, what)
        }
      }
    } finally {
      if (saved === undefined) delete process.env[ENV]
      else process.env[ENV] = saved
    }
  })

  test('a call to an unreachable server rejects without the password', async () => {
    const port = await freePort()
    const sessions = new SpotsSessions({
      connectionString: `redis://user:s3cret@127.0.0.1:${port}`,
      commandTimeout: 300,
      connectTimeout: 200,
    })
    try {
      const err = await sessions.get({ app: 'a', token: 't' }).then(
        () => null,
        (e) => e,
      )
      assert.ok(err)
      assert.ok(!err.message.includes('s3cret'), err.message)
    } finally {
      sessions.disconnect()
    }
  })

  test('the CLI, with the connection string as an argument or in SPOTS_SESSIONS_REDIS_URL', async () => {
    for (const [url, what] of BAD) {
      const arg = await runCli(['migrate-v1', url, '--json'])
      assert.equal(arg.code, 2, arg.all)
      assert.ok(!arg.all.includes('s3c'), arg.all)
      assert.match(arg.stderr, /connectionString: /)
      assert.match(arg.stderr, what)
      const env = await runCli(['migrate-v1'], { [ENV]: url })
      assert.equal(env.code, 2, env.all)
      assert.ok(!env.all.includes('s3c'), env.all)
      assert.match(env.stderr, /SPOTS_SESSIONS_REDIS_URL: /)
    }
    // A connection string passed where an option was meant is not echoed whole either.
    const typo = await runCli(['migrate-v1', '--url=redis://user:s3cret@127.0.0.1:6379'])
    assert.equal(typo.code, 2)
    assert.ok(!typo.all.includes('s3cret'), typo.all)
    assert.match(typo.stderr, /unknown option --url=redis:\/\/\*\*\*@127\.0\.0\.1:6379/)
  })
})
