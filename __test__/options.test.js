'use strict'

// The constructor's options are defined once, in Rust (src/options.rs): these tests keep the
// JavaScript type checks in step with that definition and check that the defaults live in Rust.

const { test } = require('node:test')
const assert = require('node:assert/strict')
const fs = require('node:fs')
const path = require('node:path')
const { SpotsSessions } = require('../index.js')
const { describeConnection, ErrorCode } = require('../binding.js')

// The fields of `SessionsOptions` as napi-rs generated them from the Rust struct.
function rustOptionNames() {
  const dts = fs.readFileSync(path.join(__dirname, '..', 'binding.d.ts'), 'utf8')
  const body = /export interface SessionsOptions \{([^}]*)\}/.exec(dts)[1]
  return [...body.matchAll(/^\s*(\w+)\??:/gm)].map((m) => m[1])
}

test('every option of the Rust struct is type-checked by name, and only those', () => {
  const names = rustOptionNames()
  assert.equal(names.length, 19, names.join(', '))
  for (const name of names) {
    assert.throws(
      () => new SpotsSessions({ [name]: Symbol('wrong') }),
      (err) => err instanceof TypeError && err.code === ErrorCode.InvalidArgType && err.message.startsWith(`${name}:`),
      name,
    )
  }
  // An option the struct does not have is ignored, as ioredis ignores unknown options.
  new SpotsSessions({ lazyConnect: true, connectionString: 'redis://127.0.0.1:1' }).disconnect()
})

test('defaults are applied natively: node ports by role, the default host, tls: true, null retries', () => {
  const sentinel = describeConnection({ sentinels: [{ host: 's1' }, { port: 26380 }], name: 'm' })
  assert.deepEqual(sentinel.nodes.map(({ host, port }) => `${host}:${port}`).sort(), ['127.0.0.1:26380', 's1:26379'])
  const cluster = describeConnection({ cluster: [{ host: 'n1' }], tls: true })
  assert.deepEqual(
    cluster.nodes.map(({ host, port }) => `${host}:${port}`),
    ['n1:6379'],
  )
  assert.equal(cluster.tls, true)
  assert.equal(describeConnection({ host: 'h', tls: false }).tls, false)
  const single = describeConnection({})
  assert.deepEqual([single.kind, single.nodes[0].host, single.nodes[0].port], ['single', '127.0.0.1', 6379])
  new SpotsSessions({ connectionString: 'redis://127.0.0.1:1', maxRetriesPerRequest: null }).disconnect()
})

test('SPOTS_SESSIONS_REDIS_URL is the default server, read when the instance is made', () => {
  const saved = process.env.SPOTS_SESSIONS_REDIS_URL
  try {
    process.env.SPOTS_SESSIONS_REDIS_URL = 'redis://127.0.0.1:1234/3'
    const c = describeConnection({})
    assert.deepEqual([c.nodes[0].port, c.db], [1234, 3])
    // A server shape in the options wins over the variable.
    assert.equal(describeConnection({ port: 6390 }).nodes[0].port, 6390)
    process.env.SPOTS_SESSIONS_REDIS_URL = ''
    assert.equal(describeConnection({}).nodes[0].port, 6379)
  } finally {
    if (saved === undefined) delete process.env.SPOTS_SESSIONS_REDIS_URL
    else process.env.SPOTS_SESSIONS_REDIS_URL = saved
  }
})

test('error codes come from the Rust ErrorCode enum', async () => {
  const s = new SpotsSessions('redis://127.0.0.1:1')
  s.disconnect()
  await assert.rejects(s.get({ app: 'a', token: 't' }), (err) => err.code === ErrorCode.Closed)
  assert.throws(
    () => new SpotsSessions({ tokenSize: 3 }),
    (err) => err.code === ErrorCode.InvalidArgValue && /^tokenSize:/.test(err.message),
  )
  assert.deepEqual(Object.values(ErrorCode).sort(), [
    'ERR_CLOSED',
    'ERR_INVALID_ARG_TYPE',
    'ERR_INVALID_ARG_VALUE',
    'ERR_REDIS',
    'ERR_REDIS_AUTH',
    'ERR_REDIS_CONNECTION',
    'ERR_REDIS_DURABILITY',
    'ERR_REDIS_OFFLINE',
    'ERR_REDIS_OOM',
    'ERR_REDIS_PROTOCOL',
    'ERR_REDIS_TIMEOUT',
    'SPOTS_SESSIONS_EVICTION',
    'SPOTS_SESSIONS_WEAK_TOKEN',
  ])
})
