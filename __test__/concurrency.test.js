'use strict'

// Concurrent calls on the same sessions never lose each other's writes. (200 concurrent updates
// of different fields, and killAll racing creates: shared/session-suite.js, on every topology.)

const { test, before, after } = require('node:test')
const assert = require('node:assert/strict')
const { SpotsSessions } = require('..')
const { startRedis } = require('./helpers/redis')

let server
let sessions
let second

before(async () => {
  server = await startRedis()
  sessions = new SpotsSessions({ connectionString: server.url, commandTimeout: 5000 })
  // A second instance (its own connection) makes the races real across connections too.
  second = new SpotsSessions({ connectionString: server.url, commandTimeout: 5000 })
})

after(async () => {
  await Promise.all([sessions.quit(), second.quit()])
  await server.stop()
})

test('concurrent updates and deletes of the same field end in one of the written states', async () => {
  const token = await sessions.create({ app: 'c', ownerId: 'o', data: { counter: 0, other: 'x' }, duration: 600 })
  await Promise.all(
    Array.from({ length: 100 }, (_, i) =>
      (i % 2 ? sessions : second).update({ app: 'c', token, data: { counter: i % 10 === 0 ? null : i } }),
    ),
  )
  const { data } = await sessions.get({ app: 'c', token })
  assert.equal(data.other, 'x')
  assert.ok(!('counter' in data) || (Number.isInteger(data.counter) && data.counter % 10 !== 0))
})

test('refresh and kill racing on one session: a resolved true did what it says', async () => {
  for (let i = 0; i < 50; i++) {
    const token = await sessions.create({ app: 'rk', ownerId: 'o', data: {}, duration: 600 })
    const [refreshed, killed] = await Promise.all([
      second.refresh({ app: 'rk', token, duration: 900 }),
      sessions.kill({ app: 'rk', token }),
    ])
    assert.equal(killed, true)
    assert.equal(typeof refreshed, 'boolean')
    assert.equal(await sessions.get({ app: 'rk', token }), undefined, 'kill won for good')
  }
  // Every index entry left behind is pruned or removed: no member without a session.
  const members = (await server.raw('ZRANGE', 'O1:rk:o', '0', '-1')).split('\n').filter(Boolean)
  assert.deepStrictEqual(members, [])
})

test('thousands of mixed calls in flight all settle correctly', async () => {
  const tokens = await Promise.all(
    Array.from({ length: 1000 }, (_, i) =>
      sessions.create({ app: 'bulk', ownerId: `o${i % 20}`, data: { i }, duration: 600 }),
    ),
  )
  const got = await Promise.all(tokens.map((token) => sessions.get({ app: 'bulk', token })))
  got.forEach((g, i) => assert.deepStrictEqual(g, { ownerId: `o${i % 20}`, data: { i } }))
  const killed = await Promise.all(
    Array.from({ length: 20 }, (_, i) => sessions.killAll({ app: 'bulk', ownerId: `o${i}` })),
  )
  assert.ok(killed.every(Boolean))
  assert.equal(await server.raw('EVAL', "return #redis.call('KEYS', 'S1:bulk:*')", '0'), '0')
})

test('calls made in one burst run in the order they were made, and each settles alone', async () => {
  const { sessionKey } = require('./helpers/layout')
  const app = 'burst'
  const [t1, t2, t3] = await Promise.all(
    [1, 2, 3].map((v) => sessions.create({ app, ownerId: 'o', data: { v }, duration: 600 })),
  )
  // A session key that is not a hash: only the call on that key fails.
  const wrongType = 'not-a-hash-token'
  await server.command('SET', sessionKey(app, wrongType), 'x')
  const calls = [
    sessions.update({ app, token: t1, data: { v: 10 } }),
    sessions.get({ app, token: t1 }),
    sessions.get({ app, token: t2 }),
    sessions.kill({ app, token: t2 }),
    sessions.get({ app, token: t2 }),
    sessions.get({ app, token: wrongType }),
    sessions.get({ app, token: 'missing' }),
    sessions.get({ app, token: t3 }),
  ]
  const values = (await Promise.allSettled(calls)).map((s) => (s.status === 'fulfilled' ? s.value : s.reason))
  assert.equal(values[0], true)
  assert.deepStrictEqual(values[1], { ownerId: 'o', data: { v: 10 } }, 'a get made after an update sees it')
  assert.deepStrictEqual(values[2], { ownerId: 'o', data: { v: 2 } })
  assert.equal(values[3], true)
  assert.equal(values[4], undefined, 'a get made after a kill does not find the session')
  assert.equal(values[5].code, 'ERR_REDIS')
  assert.match(values[5].message, /WRONGTYPE/)
  assert.equal(values[6], undefined)
  assert.deepStrictEqual(values[7], { ownerId: 'o', data: { v: 3 } })
})
