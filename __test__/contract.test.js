'use strict'

// CONTRACT.md's constructor and "Methods" table against a real redis-server: the shared suite
// (shared/session-suite.js: every method, expiry, storage, hostile names, concurrency; the
// topology suites run it on TLS, Sentinel and Cluster), then what only this file checks: the
// constructor forms, a db number in the URL, tokenEncoding and tokenSize, a refresh that
// shortens a life, and that a call on a missing session writes no key at all. The server matrix
// (scripts/matrix.sh) runs this file on Redis 6.2 and Valkey 8 too.

const { test, describe, before, after } = require('node:test')
const assert = require('node:assert/strict')
const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')
const { SpotsSessions } = require('..')
const { startRedis, sleep } = require('./helpers/redis')
const { sessionKey } = require('./helpers/layout')
const { defineSessionSuite } = require('./shared/session-suite.js')

defineSessionSuite('the shared session suite on a single server', {
  async start() {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'spots-contract-'))
    const server = await startRedis({ dir })
    return {
      url: server.url,
      command: (...args) => server.command(...args),
      async stop() {
        await server.stop()
        fs.rmSync(dir, { recursive: true, force: true })
      },
    }
  },
  options: (h) => ({ connectionString: h.url }),
})

let server
let sessions
const app = 'contract-app'

before(async () => {
  server = await startRedis()
  sessions = new SpotsSessions({ connectionString: server.url, commandTimeout: 10_000 })
})

after(async () => {
  await sessions.quit()
  await server.stop()
})

describe('constructor', () => {
  test('all documented forms construct without waiting for Redis', async () => {
    for (const s of [
      new SpotsSessions(),
      new SpotsSessions({}),
      new SpotsSessions(server.url),
      new SpotsSessions({ connectionString: server.url, tokenEncoding: 'base64', tokenSize: 128 }),
    ]) {
      assert.ok(s instanceof SpotsSessions)
      s.disconnect()
    }
  })

  test('a bare connection string with a db number selects that db', async () => {
    const s = new SpotsSessions(`${server.url}/3`)
    const token = await s.create({ app, ownerId: 'db3', data: {}, duration: 60 })
    assert.equal(await server.raw('-n', '3', 'DBSIZE'), '2')
    assert.equal((await s.get({ app, token })).ownerId, 'db3')
    assert.equal(await sessions.get({ app, token }), undefined, 'db 0 does not see db 3')
    await s.quit()
  })
})

describe('create', () => {
  test('honours tokenEncoding and tokenSize', async () => {
    for (const [encoding, size, re, len] of [
      ['hex', 16, /^[0-9a-f]+$/, 32],
      ['base64url', 32, /^[A-Za-z0-9_-]+$/, 43],
      ['base64', 8, /^[A-Za-z0-9+/]+=*$/, 12],
    ]) {
      const s = new SpotsSessions({ connectionString: server.url, tokenEncoding: encoding, tokenSize: size })
      const token = await s.create({ app, ownerId: 'enc', data: {}, duration: 60 })
      assert.match(token, re, encoding)
      assert.equal(token.length, len, encoding)
      assert.equal(Buffer.from(token, encoding).toString(encoding), token, 'decodes as Node would')
      assert.equal((await s.get({ app, token })).ownerId, 'enc')
      await s.quit()
    }
  })
})

describe('refresh', () => {
  test('sets the remaining life to duration, shorter as well as longer, and resolves true', async () => {
    const token = await sessions.create({ app, ownerId: 'r', data: {}, duration: 10 })
    assert.equal(await sessions.refresh({ app, token, duration: 5000 }), true)
    const ttl = await server.command('TTL', sessionKey(app, token))
    assert.ok(ttl > 4990 && ttl <= 5000, `TTL near 5000 s, got ${ttl}`)
    assert.equal(await sessions.refresh({ app, token, duration: 1 }), true)
    await sleep(2200)
    assert.equal(await sessions.get({ app, token }), undefined, 'shortened life expired')
  })

  test('resolves false when not found and creates nothing', async () => {
    const before = await server.raw('DBSIZE')
    assert.equal(await sessions.refresh({ app, token: 'missing', duration: 60 }), false)
    assert.equal(await server.raw('DBSIZE'), before)
  })
})

describe('update', () => {
  test('resolves false when not found and creates nothing', async () => {
    const before = await server.raw('DBSIZE')
    assert.equal(await sessions.update({ app, token: 'missing', data: { a: 1 } }), false)
    assert.equal(await server.raw('DBSIZE'), before)
  })
})
