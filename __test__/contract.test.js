'use strict'

// One test (at least) per row of CONTRACT.md's "Methods" table, against a real redis-server.

const { test, describe, before, after } = require('node:test')
const assert = require('node:assert/strict')
const { SpotsSessions } = require('..')
const { startRedis, sleep } = require('./helpers/redis')
const { sessionKey } = require('./helpers/layout')

let server
let sessions
const app = 'contract-app'

before(async () => {
  server = await startRedis()
  sessions = new SpotsSessions({ connectionString: server.url, commandTimeout: 2000 })
})

after(async () => {
  await sessions.quit()
  await server.stop()
})

const sample = () => ({
  firstName: 'John',
  lastName: 'Doe',
  currentDeviceToken: '123',
  n: 12345678901234567890,
  float: 0.1,
  neg: -0,
  nested: { list: [1, 'two', null, { deep: true }], empty: {} },
  nothing: null,
  when: new Date(0),
  dropped: undefined,
  fn() {},
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
  test('resolves to a base64 token of tokenSize random bytes', async () => {
    const token = await sessions.create({ app, ownerId: 'u1', data: { a: 1 }, duration: 60 })
    assert.equal(typeof token, 'string')
    assert.equal(token.length, 172)
    assert.match(token, /^[A-Za-z0-9+/]{171}=$/)
    assert.equal(Buffer.from(token, 'base64').length, 128)
    const other = await sessions.create({ app, ownerId: 'u1', data: { a: 1 }, duration: 60 })
    assert.notEqual(token, other)
  })

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

  test('data comes back as JSON.parse(JSON.stringify(data))', async () => {
    const data = sample()
    const token = await sessions.create({ app, ownerId: 'u2', data, duration: 60 })
    const got = await sessions.get({ app, token })
    assert.deepStrictEqual(got, { ownerId: 'u2', data: JSON.parse(JSON.stringify(data)) })
    assert.equal(got.data.n, 12345678901234567890)
    assert.equal(Object.is(got.data.neg, 0), true)
  })

  test('data and duration are optional: no duration means no expiry', async () => {
    const token = await sessions.create({ app, ownerId: 'forever' })
    assert.deepStrictEqual(await sessions.get({ app, token }), { ownerId: 'forever', data: {} })
    assert.equal(await server.command('PTTL', sessionKey(app, token)), -1, 'the session without duration has no TTL')
    assert.equal(await sessions.kill({ app, token }), true)
  })
})

describe('get', () => {
  test('resolves to { ownerId, data }', async () => {
    const token = await sessions.create({ app, ownerId: '123qwe', data: { x: [1] }, duration: 60 })
    assert.deepStrictEqual(await sessions.get({ app, token }), { ownerId: '123qwe', data: { x: [1] } })
  })

  test('resolves to undefined, not null, when not found', async () => {
    const got = await sessions.get({ app, token: 'no-such-token' })
    assert.equal(got, undefined)
    assert.notEqual(got, null)
  })

  test('a token of one app is not a session of another app', async () => {
    const token = await sessions.create({ app: 'app-a', ownerId: 'o', data: {}, duration: 60 })
    assert.equal(await sessions.get({ app: 'app-b', token }), undefined)
    assert.ok(await sessions.get({ app: 'app-a', token }))
  })
})

describe('refresh', () => {
  test('sets the remaining life to duration and resolves true', async () => {
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

  test('gives eternal sessions a life', async () => {
    const token = await sessions.create({ app, ownerId: 'eternal', data: { a: 1 } })
    assert.equal(await sessions.refresh({ app, token, duration: 1 }), true)
    await sleep(2200)
    assert.equal(await sessions.get({ app, token }), undefined)
  })
})

describe('update', () => {
  test('shallow merge: null deletes a key, undefined is ignored, others are set', async () => {
    const token = await sessions.create({
      app, ownerId: 'up', duration: 60,
      data: { name: 'John', age: 20, keep: { deep: 1 }, untouched: 'u' },
    })
    assert.equal(await sessions.update({ app, token, data: { name: null, age: 25, untouched: undefined, keep: { other: 2 }, added: [null] } }), true)
    assert.deepStrictEqual(await sessions.get({ app, token }), {
      ownerId: 'up',
      data: { age: 25, keep: { other: 2 }, untouched: 'u', added: [null] },
    })
  })

  test('deleting every key leaves an existing, empty session', async () => {
    const token = await sessions.create({ app, ownerId: 'up2', data: { a: 1 }, duration: 60 })
    assert.equal(await sessions.update({ app, token, data: { a: null } }), true)
    assert.deepStrictEqual(await sessions.get({ app, token }), { ownerId: 'up2', data: {} })
    assert.equal(await sessions.update({ app, token, data: {} }), true)
  })

  test('keeps the remaining life unchanged', async () => {
    const token = await sessions.create({ app: 'ttl-app', ownerId: 'o', data: { a: 1 }, duration: 100 })
    await sleep(1100)
    assert.equal(await sessions.update({ app: 'ttl-app', token, data: { b: 2 } }), true)
    const ttl = await server.command('TTL', sessionKey('ttl-app', token))
    assert.ok(ttl <= 99 && ttl >= 97, `TTL kept counting down, got ${ttl}`)
  })

  test('resolves false when not found and creates nothing', async () => {
    const before = await server.raw('DBSIZE')
    assert.equal(await sessions.update({ app, token: 'missing', data: { a: 1 } }), false)
    assert.equal(await server.raw('DBSIZE'), before)
  })
})

describe('kill', () => {
  test('resolves true, then false; the session is gone', async () => {
    const token = await sessions.create({ app, ownerId: 'k', data: {}, duration: 60 })
    assert.equal(await sessions.kill({ app, token }), true)
    assert.equal(await sessions.get({ app, token }), undefined)
    assert.equal(await sessions.kill({ app, token }), false)
    assert.equal(await sessions.refresh({ app, token, duration: 60 }), false)
    assert.equal(await sessions.update({ app, token, data: { a: 1 } }), false)
  })
})

describe('killAll', () => {
  test('kills only that owner in only that app', async () => {
    const mine = await Promise.all([1, 2, 3].map(() => sessions.create({ app: 'ka', ownerId: 'victim', data: {}, duration: 60 })))
    const eternal = await sessions.create({ app: 'ka', ownerId: 'victim', data: {} })
    const otherOwner = await sessions.create({ app: 'ka', ownerId: 'bystander', data: {}, duration: 60 })
    const otherApp = await sessions.create({ app: 'kb', ownerId: 'victim', data: {}, duration: 60 })
    assert.equal(await sessions.killAll({ app: 'ka', ownerId: 'victim' }), true)
    for (const token of [...mine, eternal]) assert.equal(await sessions.get({ app: 'ka', token }), undefined)
    assert.ok(await sessions.get({ app: 'ka', token: otherOwner }))
    assert.ok(await sessions.get({ app: 'kb', token: otherApp }))
    assert.equal(await sessions.killAll({ app: 'ka', ownerId: 'victim' }), false)
  })

  test('resolves false for an owner with no sessions', async () => {
    assert.equal(await sessions.killAll({ app: 'ka', ownerId: 'nobody' }), false)
  })

  test('resolves false when every session has already expired', async () => {
    await sessions.create({ app: 'ka', ownerId: 'expiring', data: {}, duration: 1 })
    await sleep(2200)
    assert.equal(await sessions.killAll({ app: 'ka', ownerId: 'expiring' }), false)
  })
})

describe('expiry', () => {
  test('an expired session is gone for every method', async () => {
    const token = await sessions.create({ app: 'exp', ownerId: 'e', data: { a: 1 }, duration: 1 })
    assert.ok(await sessions.get({ app: 'exp', token }))
    await sleep(2200)
    assert.equal(await sessions.get({ app: 'exp', token }), undefined)
    assert.equal(await sessions.refresh({ app: 'exp', token, duration: 60 }), false)
    assert.equal(await sessions.update({ app: 'exp', token, data: { b: 1 } }), false)
    assert.equal(await sessions.kill({ app: 'exp', token }), false)
    assert.equal(await sessions.killAll({ app: 'exp', ownerId: 'e' }), false)
    assert.equal(await sessions.get({ app: 'exp', token }), undefined, 'update did not resurrect it')
  })

  test('a refreshed session outlives its original duration', async () => {
    const token = await sessions.create({ app: 'exp', ownerId: 'e2', data: {}, duration: 1 })
    assert.equal(await sessions.refresh({ app: 'exp', token, duration: 60 }), true)
    await sleep(1500)
    assert.ok(await sessions.get({ app: 'exp', token }))
  })
})
