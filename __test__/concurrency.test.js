'use strict'

// Concurrent calls on the same sessions never lose each other's writes, and killAll never
// misses a session that a racing create made.

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

test('200 concurrent updates of different fields on one session lose none', async () => {
  const token = await sessions.create({ app: 'c', ownerId: 'o', data: { start: true }, duration: 600 })
  const results = await Promise.all(
    Array.from({ length: 200 }, (_, i) =>
      (i % 2 ? sessions : second).update({ app: 'c', token, data: { [`field${i}`]: i } })),
  )
  assert.ok(results.every((r) => r === true))
  const { data } = await sessions.get({ app: 'c', token })
  const expected = { start: true }
  for (let i = 0; i < 200; i++) expected[`field${i}`] = i
  assert.deepStrictEqual(data, expected)
})

test('concurrent updates and deletes of the same field end in one of the written states', async () => {
  const token = await sessions.create({ app: 'c', ownerId: 'o', data: { counter: 0, other: 'x' }, duration: 600 })
  await Promise.all(Array.from({ length: 100 }, (_, i) =>
    (i % 2 ? sessions : second).update({ app: 'c', token, data: { counter: i % 10 === 0 ? null : i } })))
  const { data } = await sessions.get({ app: 'c', token })
  assert.equal(data.other, 'x')
  assert.ok(!('counter' in data) || (Number.isInteger(data.counter) && data.counter % 10 !== 0))
})

test('killAll racing creates never leaves a session outside the index', async () => {
  for (let round = 0; round < 5; round++) {
    const owner = `racer${round}`
    const creates = []
    let killAll
    for (let i = 0; i < 100; i++) {
      creates.push((i % 2 ? sessions : second).create({ app: 'race', ownerId: owner, data: { i }, duration: i % 3 ? 600 : undefined }))
      if (i === 50) killAll = sessions.killAll({ app: 'race', ownerId: owner })
    }
    const tokens = await Promise.all(creates)
    assert.equal(await killAll, true)
    // Whatever survived the first killAll must be found by the index now.
    await second.killAll({ app: 'race', ownerId: owner })
    const left = await Promise.all(tokens.map((token) => sessions.get({ app: 'race', token })))
    assert.deepStrictEqual(left.filter(Boolean), [], `round ${round}: sessions escaped killAll`)
    assert.equal(await server.raw('EXISTS', `O1:race:${owner}`), '0')
  }
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
  const tokens = await Promise.all(Array.from({ length: 1000 }, (_, i) =>
    sessions.create({ app: 'bulk', ownerId: `o${i % 20}`, data: { i }, duration: 600 })))
  const got = await Promise.all(tokens.map((token) => sessions.get({ app: 'bulk', token })))
  got.forEach((g, i) => assert.deepStrictEqual(g, { ownerId: `o${i % 20}`, data: { i } }))
  const killed = await Promise.all(Array.from({ length: 20 }, (_, i) => sessions.killAll({ app: 'bulk', ownerId: `o${i}` })))
  assert.ok(killed.every(Boolean))
  assert.equal(await server.raw('EVAL', "return #redis.call('KEYS', 'S1:bulk:*')", '0'), '0')
})
