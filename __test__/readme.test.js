'use strict'

// The original package's README examples, run verbatim (only their unbalanced braces mended)
// against a real redis-server. They construct `new SpotsSessions({})`, i.e. the default
// server; SPOTS_SESSIONS_REDIS_URL points that default at the server this test started.

const { test, before, after } = require('node:test')
const assert = require('node:assert/strict')
const { SpotsSessions } = require('..')
const { startRedis } = require('./helpers/redis')
const { sessionKey, sessionId, indexKey, OWNER_FIELD } = require('./helpers/layout')

let server

// The README's examples use the literal token 'qwerty'. Seed that session through the documented
// storage layout (format 1), so the examples find it: this also pins the layout down.
async function seedQwerty() {
  const expiry = Math.ceil(Date.now() / 1000) + 3600
  const session = sessionKey('my-app', 'qwerty')
  await server.command('HSET', session, OWNER_FIELD, '123qwe', 'name', '"Jane"', 'age', '24')
  await server.command('EXPIREAT', session, expiry)
  await server.command('ZADD', indexKey('my-app', '123qwe'), expiry, sessionId('qwerty'))
  await server.command('EXPIREAT', indexKey('my-app', '123qwe'), expiry)
}

before(async () => {
  server = await startRedis()
  process.env.SPOTS_SESSIONS_REDIS_URL = server.url
})

after(async () => {
  delete process.env.SPOTS_SESSIONS_REDIS_URL
  await server.stop()
})

test('the seeded layout is what the native package reads', async () => {
  await seedQwerty()
  const s = new SpotsSessions({})
  assert.deepStrictEqual(await s.get({ app: 'my-app', token: 'qwerty' }), {
    ownerId: '123qwe',
    data: { name: 'Jane', age: 24 },
  })
  await s.quit()
})

test('Instantiate the client', async () => {
  // Pass an optional connection string to the constructor
  // new SpotsSessions('redis://localhost:6379')
  const spotsSessions = new SpotsSessions({
    connectionString: 'redis://localhost:6379',
    tokenEncoding: 'base64',
    tokenSize: 128,
  })
  assert.ok(spotsSessions instanceof SpotsSessions)
  // Only constructed: this test never sends anything to port 6379.
  spotsSessions.disconnect()
})

test('Create a session', async () => {
  const spotsSessions = new SpotsSessions({})

  const token = await spotsSessions.create({
    app: 'my-app',
    ownerId: '123qwe',
    data: {
      firstName: 'John',
      lastName: 'Doe',
      currentDeviceToken: '123',
    },
    duration: 3600,
  })

  assert.equal(typeof token, 'string')
  assert.equal(token.length, 172)
  assert.deepStrictEqual(await spotsSessions.get({ app: 'my-app', token }), {
    ownerId: '123qwe',
    data: { firstName: 'John', lastName: 'Doe', currentDeviceToken: '123' },
  })
})

test('Gets a session', async () => {
  const spotsSessions = new SpotsSessions({})

  const { ownerId, data } = await spotsSessions.get({
    app: 'my-app',
    token: 'qwerty',
  })

  assert.equal(ownerId, '123qwe')
  assert.deepStrictEqual(data, { name: 'Jane', age: 24 })
})

test('Refreshes a session', async () => {
  const spotsSessions = new SpotsSessions({})

  const success = await spotsSessions.refresh({
    app: 'my-app',
    token: 'qwerty',
    duration: 7200,
  })

  assert.equal(success, true)
})

test('Updates a session', async () => {
  const spotsSessions = new SpotsSessions({})

  const success = await spotsSessions.update({
    app: 'my-app',
    token: 'qwerty',
    data: {
      name: null, // Use null to delete existing values, undefined values will be ignored
      age: 25,
    },
  })

  assert.equal(success, true)
  assert.deepStrictEqual((await spotsSessions.get({ app: 'my-app', token: 'qwerty' })).data, { age: 25 })
})

test('Kills a session', async () => {
  const spotsSessions = new SpotsSessions({})

  const success = await spotsSessions.kill({
    app: 'my-app',
    token: 'qwerty',
  })

  assert.equal(success, true)
  assert.equal(await spotsSessions.get({ app: 'my-app', token: 'qwerty' }), undefined)
})

test('Kills all sessions of a user', async () => {
  const spotsSessions = new SpotsSessions({})

  const success = await spotsSessions.killAll({
    app: 'my-app',
    ownerId: '123qwe',
  })

  assert.equal(success, true, 'the session from "Create a session" was killed')
  // Nothing is left but killAll's short-lived receipt (README, storage layout).
  assert.equal(await server.raw('EVAL', "return #redis.call('KEYS', '*') - #redis.call('KEYS', 'R1:*')", '0'), '0')
})
