'use strict'

// `sessions.client`: the ioredis-style Redis client on the sessions' own connection.
//
// Every expectation here is ioredis's behaviour (its README examples are ported below with
// `sessions.client` in place of `new Redis()`), except where the package documents a
// difference: unsupported features fail with `code: 'ERR_NOT_SUPPORTED'`, and a `multi()` whose
// command fails at run time rejects `exec()` with Redis's error.

const { test, describe, before, after, beforeEach } = require('node:test')
const assert = require('node:assert/strict')
const path = require('node:path')
const { EventEmitter } = require('node:events')
const { list: COMMANDS } = require('@ioredis/commands')
const { SpotsSessions } = require('..')
const { startRedis, freePort, sleep } = require('./helpers/redis')
const { runNode } = require('./helpers/node')

const pkg = path.join(__dirname, '..')
const GUARD = { timeout: 20_000 } // only so that a hang fails the test instead of the run

const WRONGTYPE = 'WRONGTYPE Operation against a key holding the wrong kind of value'

/** Resolves with the arguments of the next `event` (plain `once`: adds no 'error' listener). */
function waitFor(emitter, event) {
  return new Promise((resolve) => emitter.once(event, (...args) => resolve(args)))
}

async function whenReady(client) {
  if (client.status !== 'ready') await waitFor(client, 'ready')
  assert.equal(client.status, 'ready')
}

/** Calls `invoke(callback)` and resolves with what the callback got, plus what `invoke` returned. */
function viaCallback(invoke) {
  return new Promise((resolve) => {
    let returned
    const callback = (...args) => resolve({ args, returned })
    returned = invoke(callback)
  })
}

/** Lets already-scheduled callbacks (process.nextTick / microtasks / immediates) run. */
function flush() {
  return new Promise((resolve) => setImmediate(resolve))
}

function assertNotSupported(err) {
  assert.ok(err instanceof Error, `expected an Error, got ${err}`)
  assert.equal(err.code, 'ERR_NOT_SUPPORTED', `${err.name}: ${err.message}`)
  assert.match(err.message, /not supported/)
  return true
}


describe('sessions.client', () => {
  let server
  let sessions
  let client

  before(async () => {
    server = await startRedis()
    sessions = new SpotsSessions(server.url)
    client = sessions.client
    await whenReady(client)
  })

  after(async () => {
    if (sessions && client.status !== 'end') await client.quit()
    if (server) await server.stop()
  })

  beforeEach(async () => {
    // Through the harness, not through the client under test.
    await server.command('FLUSHDB')
  })

  describe('commands', () => {
    test('is an EventEmitter, the same object on every access', GUARD, () => {
      assert.ok(client instanceof EventEmitter)
      assert.equal(sessions.client, client)
    })

    test('every Redis command is a lower-case method with a *Buffer variant, on the client and on pipelines', GUARD, () => {
      const pipeline = client.pipeline()
      assert.ok(COMMANDS.length > 200)
      for (const name of COMMANDS) {
        assert.equal(typeof client[name], 'function', `client.${name}`)
        assert.equal(typeof pipeline[name], 'function', `pipeline.${name}`)
        // multi/quit/exec are the client's own methods (multi() builds a transaction, quit()
        // closes, exec() sends a pipeline), so they have no *Buffer twin.
        if (!['multi', 'quit'].includes(name)) assert.equal(typeof client[`${name}Buffer`], 'function', `client.${name}Buffer`)
        if (name !== 'exec') assert.equal(typeof pipeline[`${name}Buffer`], 'function', `pipeline.${name}Buffer`)
      }
      for (const name of ['get', 'set', 'del', 'expire', 'ttl', 'incr', 'hset', 'hget', 'hgetall', 'sadd', 'smembers',
        'zadd', 'zrange', 'lpush', 'lrange', 'eval', 'evalsha', 'mget', 'mset', 'exists', 'publish', 'call', 'callBuffer',
        'sendCommand', 'getBuffer', 'hgetallBuffer', 'mgetBuffer']) {
        assert.equal(typeof client[name], 'function', name)
      }
    })

    test('strings: set/get/append/strlen/getdel/setnx/incr/incrby/decr/incrbyfloat', GUARD, async () => {
      assert.equal(await client.set('s', 'hello'), 'OK')
      assert.equal(await client.get('s'), 'hello')
      assert.equal(await client.append('s', ' world'), 11)
      assert.equal(await client.strlen('s'), 11)
      assert.equal(await client.setnx('s', 'other'), 0)
      assert.equal(await client.getdel('s'), 'hello world')
      assert.equal(await client.get('s'), null)
      assert.equal(await client.incr('n'), 1)
      assert.equal(await client.incrby('n', 41), 42)
      assert.equal(await client.decr('n'), 41)
      assert.equal(await client.decrby('n', 40), 1)
      assert.equal(await client.incrbyfloat('f', '1.5'), '1.5', 'INCRBYFLOAT replies with a bulk string')
      assert.equal(await server.raw('GET', 'n'), '1')
    })

    test('keys: del/exists/expire/ttl/pttl/persist/type/rename', GUARD, async () => {
      await server.command('SET', 'a', '1')
      await server.command('SET', 'b', '2')
      assert.equal(await client.exists('a', 'b', 'nope'), 2)
      assert.equal(await client.type('a'), 'string')
      assert.equal(await client.type('nope'), 'none')
      assert.equal(await client.expire('a', 100), 1)
      assert.equal(await client.expire('nope', 100), 0)
      const ttl = await client.ttl('a')
      assert.ok(ttl > 0 && ttl <= 100, `ttl ${ttl}`)
      const pttl = await client.pttl('a')
      assert.ok(pttl > 0 && pttl <= 100_000, `pttl ${pttl}`)
      assert.equal(await client.ttl('b'), -1)
      assert.equal(await client.ttl('nope'), -2)
      assert.equal(await client.persist('a'), 1)
      assert.equal(await client.ttl('a'), -1)
      assert.equal(await client.rename('a', 'c'), 'OK')
      assert.equal(await client.del('b', 'c', 'nope'), 2)
      assert.equal(await client.dbsize(), 0)
    })

    test('hashes: hset/hget/hgetall/hmget/hdel/hexists/hincrby/hkeys/hvals/hlen', GUARD, async () => {
      assert.equal(await client.hset('h', 'f1', 'v1', 'f2', 'v2'), 2)
      assert.equal(await client.hget('h', 'f1'), 'v1')
      assert.equal(await client.hget('h', 'nope'), null)
      assert.deepEqual(await client.hgetall('h'), { f1: 'v1', f2: 'v2' })
      assert.deepEqual(await client.hmget('h', 'f1', 'nope', 'f2'), ['v1', null, 'v2'])
      assert.equal(await client.hexists('h', 'f2'), 1)
      assert.equal(await client.hincrby('h', 'n', 5), 5)
      assert.deepEqual((await client.hkeys('h')).sort(), ['f1', 'f2', 'n'])
      assert.deepEqual((await client.hvals('h')).sort(), ['5', 'v1', 'v2'])
      assert.equal(await client.hlen('h'), 3)
      assert.equal(await client.hdel('h', 'f1', 'nope'), 1)
      assert.deepEqual(await server.raw('HGET', 'h', 'f2'), 'v2')
    })

    test('sets, sorted sets and lists', GUARD, async () => {
      assert.equal(await client.sadd('set', 'a', 'b', 'a'), 2)
      assert.deepEqual((await client.smembers('set')).sort(), ['a', 'b'])
      assert.equal(await client.sismember('set', 'a'), 1)
      assert.equal(await client.scard('set'), 2)
      assert.equal(await client.srem('set', 'a'), 1)

      assert.equal(await client.zadd('z', 1, 'one', 2.5, 'two'), 2)
      assert.deepEqual(await client.zrange('z', 0, -1), ['one', 'two'])
      assert.deepEqual(await client.zrange('z', 0, -1, 'WITHSCORES'), ['one', '1', 'two', '2.5'])
      assert.equal(await client.zscore('z', 'two'), '2.5', 'ZSCORE replies with a bulk string')
      assert.equal(await client.zscore('z', 'nope'), null)
      assert.equal(await client.zincrby('z', 2, 'one'), '3')
      assert.deepEqual(await client.zrangebyscore('z', 2, '+inf'), ['two', 'one'])
      assert.equal(await client.zcard('z'), 2)

      assert.equal(await client.lpush('list', 'b', 'a'), 2)
      assert.equal(await client.rpush('list', 'c'), 3)
      assert.deepEqual(await client.lrange('list', 0, -1), ['a', 'b', 'c'])
      assert.equal(await client.llen('list'), 3)
      assert.equal(await client.lpop('list'), 'a')
      assert.equal(await client.rpop('list'), 'c')
      assert.equal(await client.rpop('nope'), null)
    })

    test('mget/mset/msetnx, keys, scan, ping, echo, time, info, dbsize, publish', GUARD, async () => {
      assert.equal(await client.mset('a', '1', 'b', '2'), 'OK')
      assert.deepEqual(await client.mget('a', 'nope', 'b'), ['1', null, '2'])
      assert.equal(await client.msetnx('a', 'x', 'c', '3'), 0)
      assert.deepEqual((await client.keys('*')).sort(), ['a', 'b'])
      const [cursor, keys] = await client.scan(0, 'COUNT', 100)
      assert.equal(typeof cursor, 'string')
      assert.deepEqual(keys.sort(), ['a', 'b'])
      assert.equal(await client.ping(), 'PONG')
      assert.equal(await client.echo('hi there'), 'hi there')
      const time = await client.time()
      assert.equal(time.length, 2)
      assert.match(time[0], /^\d+$/)
      assert.match(await client.info('server'), /redis_version:/)
      assert.equal(await client.dbsize(), 2)
      assert.equal(await client.publish('some-channel', 'message'), 0, 'nobody subscribed')
    })

    test('eval and evalsha', GUARD, async () => {
      assert.deepEqual(
        await client.eval('return {KEYS[1],KEYS[2],ARGV[1],ARGV[2]}', 2, 'k1', 'k2', 'a1', 'a2'),
        ['k1', 'k2', 'a1', 'a2'],
      )
      assert.deepEqual(
        await client.eval("return {1, {2, 'x', false}, 'y', redis.status_reply('OK'), {}}", 0),
        [1, [2, 'x', null], 'y', 'OK', []],
        'nested arrays, integers and nil',
      )
      assert.equal(await client.eval('return 42', 0), 42)
      assert.equal(await client.eval('return nil', 0), null)
      const sha = await client.script('LOAD', 'return ARGV[1]')
      assert.match(sha, /^[0-9a-f]{40}$/)
      assert.equal(await client.evalsha(sha, 0, 'hi'), 'hi')
      await assert.rejects(client.evalsha('0'.repeat(40), 0), (err) => {
        assert.ok(err instanceof Error)
        assert.equal(err.message, 'NOSCRIPT No matching script. Please use EVAL.')
        return true
      })
      const bufs = await client.evalBuffer('return {ARGV[1], 7}', 0, Buffer.from([0x00, 0xff]))
      assert.deepEqual(bufs, [Buffer.from([0x00, 0xff]), 7])
    })

    test('eval returning an error reply inside an array resolves with an Error in that slot (as ioredis)', GUARD, async () => {
      const reply = await client.eval("return {1, redis.error_reply('MYERR boom')}", 0)
      assert.ok(Array.isArray(reply), 'resolves with the array')
      assert.equal(reply[0], 1)
      assert.ok(reply[1] instanceof Error)
      assert.equal(reply[1].message, 'MYERR boom')
    })

    test('call(), sendCommand() and callBuffer() reach any command by name', GUARD, async () => {
      assert.equal(await client.call('SET', 'k', 'v', 'EX', 10), 'OK')
      assert.equal(await client.call('get', 'k'), 'v')
      assert.equal(await client.sendCommand('GET', 'k'), 'v')
      assert.equal(await client.sendCommand('PING'), 'PONG')
      assert.equal(await client.call('ttl', 'k'), 10)
      assert.deepEqual(await client.callBuffer('GET', 'k'), Buffer.from('v'))
      assert.equal(await client.call('OBJECT', 'ENCODING', 'k'), 'embstr')
      assert.deepEqual(await client.call('hgetall', 'nope'), {})
    })

    test('a command named like an Object.prototype member is sent to Redis like any other', GUARD, async () => {
      for (const name of ['constructor', 'toString', 'hasOwnProperty', '__proto__']) {
        await assert.rejects(client.call(name), (err) => {
          assert.notEqual(err.code, 'ERR_NOT_SUPPORTED', `${name}: ${err.message}`)
          assert.match(err.message, new RegExp(`^ERR unknown command '${name}'`))
          return true
        })
      }
      const results = await client.pipeline().call('toString').ping().exec()
      assert.equal(results.length, 2)
      assert.match(results[0][0].message, /^ERR unknown command 'toString'/)
      assert.deepEqual(results[1], [null, 'PONG'])
    })

    test('commands issued without awaiting run in call order (one connection, as ioredis)', GUARD, async () => {
      const pushes = []
      for (let i = 0; i < 1000; i++) pushes.push(client.rpush('ordered', String(i)))
      const incrs = []
      for (let i = 0; i < 1000; i++) incrs.push(client.incr('counter'))
      const sets = []
      for (let i = 0; i < 200; i++) sets.push(client.set('last', i))
      const lengths = await Promise.all(pushes)
      const counts = await Promise.all(incrs)
      await Promise.all(sets)
      const list = await server.raw('LRANGE', 'ordered', '0', '-1')
      const stored = list.split('\n').map(Number)
      const firstOff = (values, expected) => {
        const i = values.findIndex((v, j) => v !== expected(j))
        return i < 0 ? 'none' : `#${i} (got ${values[i]}, expected ${expected(i)})`
      }
      assert.equal(stored.length, 1000)
      assert.equal(firstOff(stored, (i) => i), 'none', 'the list holds the RPUSHes in call order; first out of order')
      assert.equal(firstOff(lengths, (i) => i + 1), 'none', 'RPUSH #i answers i + 1; first out of order')
      assert.equal(firstOff(counts, (i) => i + 1), 'none', 'INCR #i answers i + 1; first out of order')
      assert.equal(await server.raw('GET', 'last'), '199', 'the last SET issued is the last one applied')
    })
  })

  describe('arguments', () => {
    test('numbers are sent as their decimal text', GUARD, async () => {
      await client.set('int', 42)
      await client.set('float', 1.5)
      await client.set('neg', -7)
      await client.hset('h', 'n', 3)
      await client.zadd('z', 2, 'two', 1, 1)
      assert.equal(await server.raw('GET', 'int'), '42')
      assert.equal(await server.raw('GET', 'float'), '1.5')
      assert.equal(await server.raw('GET', 'neg'), '-7')
      assert.equal(await server.raw('HGET', 'h', 'n'), '3')
      assert.equal(await server.raw('ZRANGE', 'z', '0', '-1', 'WITHSCORES'), '1\n1\ntwo\n2')
      assert.equal(await client.expire('int', 100), 1)
    })

    test('one level of arrays is flattened', GUARD, async () => {
      await server.command('MSET', 'a', '1', 'b', '2', 'c', '3', 'd', '4')
      assert.deepEqual(await client.mget(['a', 'b']), ['1', '2'])
      assert.deepEqual(await client.mget(['a'], 'b', ['c', 'd']), ['1', '2', '3', '4'])
      assert.equal(await client.sadd('s', ['x', 'y'], 'z'), 3)
      assert.equal(await client.exists(['a', 'b'], 'nope'), 2)
      assert.equal(await client.del(['a', 'b'], 'c'), 3)
      assert.equal(await client.dbsize(), 2)
      assert.equal(await client.rpush('l', [1, 2], 3), 3)
      assert.deepEqual(await client.lrange('l', 0, -1), ['1', '2', '3'])
    })

    test('hset, hmset, mset and msetnx accept an object or a Map', GUARD, async () => {
      assert.equal(await client.hset('h1', { a: 1, b: 'x' }), 2)
      assert.deepEqual(await client.hgetall('h1'), { a: '1', b: 'x' })
      assert.equal(await client.hset('h2', new Map([['k', 'v'], ['n', 2]])), 2)
      assert.deepEqual(await client.hgetall('h2'), { k: 'v', n: '2' })
      assert.equal(await client.hmset('h3', { a: 'b' }), 'OK')
      assert.equal(await client.hmset('h4', new Map([['c', 'd']])), 'OK')
      assert.deepEqual(await client.hgetall('h3'), { a: 'b' })
      assert.deepEqual(await client.hgetall('h4'), { c: 'd' })
      assert.equal(await client.mset({ k1: 'v1', k2: 2 }), 'OK')
      assert.equal(await client.mset(new Map([['k3', 'v3'], ['k4', 'v4']])), 'OK')
      assert.deepEqual(await client.mget('k1', 'k2', 'k3', 'k4'), ['v1', '2', 'v3', 'v4'])
      assert.equal(await client.msetnx({ k5: 'v5' }), 1)
      assert.equal(await client.msetnx(new Map([['k5', 'other'], ['k6', 'v6']])), 0)
      assert.equal(await server.raw('GET', 'k5'), 'v5')
      assert.equal(await server.raw('EXISTS', 'k6'), '0')
    })

    test('Buffers pass through as bytes: binary values and keys round-trip, 0x00 and 0xff included', GUARD, async () => {
      const value = Buffer.from([0x00, 0xff, 0x0d, 0x0a, 0x80, 0x00, 0x41, 0xfe])
      assert.equal(await client.set('bin', value), 'OK')
      assert.deepEqual(await client.getBuffer('bin'), value)
      assert.deepEqual(await server.command('GET', 'bin'), value, 'the exact bytes are stored')
      const key = Buffer.from([0xff, 0x00, 0x01])
      await client.set(key, 'under a binary key')
      assert.equal(await client.get(key), 'under a binary key')
      assert.deepEqual(await server.command('GET', key), Buffer.from('under a binary key'))
      await client.hset('bh', Buffer.from([0x01]), Buffer.from([0x00, 0xff]))
      assert.deepEqual(await client.hgetBuffer('bh', Buffer.from([0x01])), Buffer.from([0x00, 0xff]))
      const all = 256
      const every = Buffer.from(Array.from({ length: all }, (_, i) => i))
      await client.set('every-byte', every)
      assert.deepEqual(await client.getBuffer('every-byte'), every)
      assert.equal(await client.strlen('every-byte'), all)
    })

    test('strings are UTF-8 both ways', GUARD, async () => {
      const text = 'héllo ✓ 😀 日本'
      await client.set('u', text)
      assert.equal(await client.get('u'), text)
      assert.deepEqual(await server.command('GET', 'u'), Buffer.from(text, 'utf8'))
      assert.equal(await client.strlen('u'), Buffer.byteLength(text))
    })
  })

  describe('replies', () => {
    test('bulk string → string, integer → number, nil → null, array → array, simple string → "OK"', GUARD, async () => {
      const ok = await client.set('k', 'v')
      assert.equal(ok, 'OK')
      const bulk = await client.get('k')
      assert.equal(typeof bulk, 'string')
      assert.equal(bulk, 'v')
      const int = await client.incr('n')
      assert.equal(typeof int, 'number')
      assert.equal(int, 1)
      assert.equal(await client.get('nope'), null)
      assert.equal(await client.hget('nope', 'f'), null)
      await client.rpush('l', 'a', 'b')
      const arr = await client.lrange('l', 0, -1)
      assert.ok(Array.isArray(arr))
      assert.deepEqual(arr, ['a', 'b'])
      assert.deepEqual(await client.lrange('nope', 0, -1), [])
      assert.equal(await client.type('k'), 'string')
    })

    test('hgetall → object, {} for a missing key', GUARD, async () => {
      await server.command('HSET', 'h', 'a', '1', 'b', '2')
      const obj = await client.hgetall('h')
      assert.deepEqual(obj, { a: '1', b: '2' })
      assert.equal(Object.getPrototypeOf(obj), Object.prototype)
      assert.deepEqual(await client.hgetall('missing'), {})
    })

    test('hgetall keeps a field named __proto__ as an own property (as ioredis)', GUARD, async () => {
      await server.command('HSET', 'h', '__proto__', 'x', 'constructor', 'y', 'a', 'b')
      const obj = await client.hgetall('h')
      assert.equal(Object.getPrototypeOf(obj), Object.prototype, 'the prototype is not replaced')
      assert.deepEqual(Object.keys(obj).sort(), ['__proto__', 'a', 'constructor'])
      assert.equal(Object.getOwnPropertyDescriptor(obj, '__proto__')?.value, 'x')
      assert.equal(obj.constructor, 'y')
      assert.equal(obj.a, 'b')
    })

    test('*Buffer variants → Buffers, arrays of Buffers, objects of Buffers', GUARD, async () => {
      await server.command('SET', 'a', Buffer.from([0x00, 0xff]))
      await server.command('SET', 'b', 'text')
      await server.command('HSET', 'h', 'f', Buffer.from([0xfe, 0x00]), 'g', 'x')
      await server.command('RPUSH', 'l', 'x', Buffer.from([0x80]))

      const one = await client.getBuffer('a')
      assert.ok(Buffer.isBuffer(one))
      assert.deepEqual(one, Buffer.from([0x00, 0xff]))
      assert.equal(await client.getBuffer('nope'), null)

      const many = await client.mgetBuffer('a', 'nope', 'b')
      assert.equal(many.length, 3)
      assert.ok(Buffer.isBuffer(many[0]) && Buffer.isBuffer(many[2]))
      assert.deepEqual(many, [Buffer.from([0x00, 0xff]), null, Buffer.from('text')])

      const hash = await client.hgetallBuffer('h')
      assert.equal(Object.getPrototypeOf(hash), Object.prototype)
      assert.deepEqual(Object.keys(hash).sort(), ['f', 'g'])
      assert.ok(Buffer.isBuffer(hash.f) && Buffer.isBuffer(hash.g))
      assert.deepEqual(hash.f, Buffer.from([0xfe, 0x00]))
      assert.deepEqual(hash.g, Buffer.from('x'))
      assert.deepEqual(await client.hgetallBuffer('missing'), {})

      assert.deepEqual(await client.lrangeBuffer('l', 0, -1), [Buffer.from('x'), Buffer.from([0x80])])
      assert.deepEqual(await client.callBuffer('get', 'a'), Buffer.from([0x00, 0xff]))
      assert.equal(await client.incrBuffer('counter'), 1, 'integers stay numbers')
      assert.deepEqual(await client.smembersBuffer('nope'), [])
    })

    test('text replies of bytes that are not UTF-8 decode like Buffer#toString (the Buffer variant has the bytes)', GUARD, async () => {
      const bytes = Buffer.from([0xff, 0xfe, 0x41])
      await server.command('SET', 'iu', bytes)
      assert.equal(await client.get('iu'), bytes.toString())
      assert.deepEqual(await client.getBuffer('iu'), bytes)
    })

    test('a Redis error rejects with an Error carrying Redis\'s own message', GUARD, async () => {
      await server.command('LPUSH', 'list', 'x')
      await assert.rejects(client.get('list'), (err) => {
        assert.ok(err instanceof Error)
        assert.equal(err.message, WRONGTYPE)
        return true
      })
      await assert.rejects(client.call('NOSUCHCOMMAND', 'a'), (err) => {
        assert.ok(err instanceof Error)
        assert.match(err.message, /^ERR unknown command 'NOSUCHCOMMAND'/)
        return true
      })
      await assert.rejects(client.incr('list'), { message: WRONGTYPE })
      await client.set('str', 'abc')
      await assert.rejects(client.incr('str'), { message: 'ERR value is not an integer or out of range' })
      await assert.rejects(client.set('onlykey'), { message: "ERR wrong number of arguments for 'set' command" })
      assert.equal(await client.ping(), 'PONG', 'the connection is fine afterwards')
    })
  })

  describe('callbacks', () => {
    test('a trailing callback gets (null, result), and the promise is still returned', GUARD, async () => {
      await server.command('SET', 'k', 'v')
      const { args, returned } = await viaCallback((cb) => client.get('k', cb))
      assert.deepEqual(args, [null, 'v'])
      assert.equal(typeof returned?.then, 'function')
      assert.equal(await returned, 'v')
      const missing = await viaCallback((cb) => client.get('nope', cb))
      assert.deepEqual(missing.args, [null, null])
      const set = await viaCallback((cb) => client.set('k2', 'x', 'EX', 100, cb))
      assert.deepEqual(set.args, [null, 'OK'])
      assert.equal(await server.raw('GET', 'k2'), 'x', 'the callback was not sent as an argument')
      const hset = await viaCallback((cb) => client.hset('h', { a: 1 }, cb))
      assert.deepEqual(hset.args, [null, 1])
      const called = await viaCallback((cb) => client.call('GET', 'k', cb))
      assert.deepEqual(called.args, [null, 'v'])
      const buf = await viaCallback((cb) => client.getBuffer('k', cb))
      assert.deepEqual(buf.args, [null, Buffer.from('v')])
    })

    test('a failing command calls back with the Error, and the promise rejects with it', GUARD, async () => {
      await server.command('LPUSH', 'list', 'x')
      const { args, returned } = await viaCallback((cb) => client.get('list', cb))
      assert.equal(args.length, 1, 'callback(err)')
      assert.ok(args[0] instanceof Error)
      assert.equal(args[0].message, WRONGTYPE)
      await assert.rejects(returned, (err) => err === args[0])
      const unknown = await viaCallback((cb) => client.call('NOSUCHCOMMAND', cb))
      assert.match(unknown.args[0].message, /^ERR unknown command 'NOSUCHCOMMAND'/)
      await assert.rejects(unknown.returned)
    })
  })

  describe('pipeline() and multi()', () => {
    test('pipeline is chainable and exec() resolves [[null, result], …]', GUARD, async () => {
      const pipeline = client.pipeline()
      assert.equal(pipeline.set('a', 1), pipeline, 'chainable')
      pipeline.get('a').incr('a').del('nope').hset('h', 'f', 'v').hgetall('h').get('missing')
      assert.equal(pipeline.length, 7)
      assert.deepEqual(await pipeline.exec(), [
        [null, 'OK'],
        [null, '1'],
        [null, 2],
        [null, 0],
        [null, 1],
        [null, { f: 'v' }],
        [null, null],
      ])
    })

    test('a failing command in a pipeline gives [err] in its slot; the others still run', GUARD, async () => {
      const results = await client.pipeline().set('a', '1').lpush('a', 'x').get('a').call('NOSUCHCOMMAND').exec()
      assert.equal(results.length, 4)
      assert.deepEqual(results[0], [null, 'OK'])
      assert.equal(results[1].length, 1, '[err]')
      assert.ok(results[1][0] instanceof Error)
      assert.equal(results[1][0].message, WRONGTYPE)
      assert.deepEqual(results[2], [null, '1'])
      assert.ok(results[3][0] instanceof Error)
      assert.match(results[3][0].message, /^ERR unknown command 'NOSUCHCOMMAND'/)
    })

    test('pre-filled pipeline([[cmd, ...args], …])', GUARD, async () => {
      const results = await client.pipeline([['set', 'a', '1'], ['get', 'a'], ['hset', 'h', 'x', 'y'], ['hgetall', 'h']]).exec()
      assert.deepEqual(results, [[null, 'OK'], [null, '1'], [null, 1], [null, { x: 'y' }]])
    })

    test('pre-filled pipeline with a *Buffer method name calls that method (as ioredis)', GUARD, async () => {
      await server.command('SET', 'bin', Buffer.from([0x00, 0xff]))
      const results = await client.pipeline([['getBuffer', 'bin'], ['get', 'bin']]).exec()
      assert.deepEqual(results[0], [null, Buffer.from([0x00, 0xff])])
      assert.equal(results[1][0], null)
    })

    test('Buffer variants inside pipelines', GUARD, async () => {
      await server.command('SET', 'bin', Buffer.from([0x00, 0xff]))
      await server.command('HSET', 'h', 'f', Buffer.from([0x80]))
      const results = await client.pipeline()
        .getBuffer('bin')
        .get('bin')
        .hgetallBuffer('h')
        .mgetBuffer('bin', 'nope')
        .callBuffer('GET', 'bin')
        .getBuffer('nope')
        .exec()
      assert.deepEqual(results[0], [null, Buffer.from([0x00, 0xff])])
      assert.equal(typeof results[1][1], 'string')
      assert.deepEqual(results[2], [null, { f: Buffer.from([0x80]) }])
      assert.deepEqual(results[3], [null, [Buffer.from([0x00, 0xff]), null]])
      assert.deepEqual(results[4], [null, Buffer.from([0x00, 0xff])])
      assert.deepEqual(results[5], [null, null])
    })

    test('exec(callback) calls back with (null, results) and still returns the promise', GUARD, async () => {
      const { args, returned } = await viaCallback((cb) => client.pipeline().set('a', 'b').get('a').exec(cb))
      assert.deepEqual(args, [null, [[null, 'OK'], [null, 'b']]])
      assert.deepEqual(await returned, [[null, 'OK'], [null, 'b']])
    })

    test('an empty pipeline and an empty multi resolve to []', GUARD, async () => {
      assert.deepEqual(await client.pipeline().exec(), [])
      assert.deepEqual(await client.pipeline([]).exec(), [])
      assert.deepEqual(await client.multi().exec(), [])
    })

    test('a big pipeline (5000 SETs + 5000 GETs)', GUARD, async () => {
      const pipeline = client.pipeline()
      for (let i = 0; i < 5000; i++) pipeline.set(`key:${i}`, i)
      for (let i = 0; i < 5000; i++) pipeline.get(`key:${i}`)
      assert.equal(pipeline.length, 10_000)
      const results = await pipeline.exec()
      assert.equal(results.length, 10_000)
      for (let i = 0; i < 5000; i++) {
        assert.deepEqual(results[i], [null, 'OK'])
        assert.deepEqual(results[5000 + i], [null, String(i)])
      }
      assert.equal(await client.dbsize(), 5000)
    })

    test('multi() is chainable, runs inside MULTI/EXEC and resolves [[null, result], …]', GUARD, async () => {
      const stat = async (name) => {
        const m = (await server.raw('INFO', 'commandstats')).match(new RegExp(`cmdstat_${name}:calls=(\\d+)`))
        return m ? Number(m[1]) : 0
      }
      const [multiBefore, execBefore] = [await stat('multi'), await stat('exec')]
      const trx = client.multi()
      assert.equal(trx.set('foo', 'bar'), trx, 'chainable')
      const results = await trx.get('foo').incr('n').hset('h', 'a', 'b').hgetall('h').exec()
      assert.deepEqual(results, [[null, 'OK'], [null, 'bar'], [null, 1], [null, 1], [null, { a: 'b' }]])
      assert.equal(await stat('multi'), multiBefore + 1, 'one MULTI')
      assert.equal(await stat('exec'), execBefore + 1, 'one EXEC')
    })

    test('multi() is atomic: a queueing error discards every command (EXECABORT)', GUARD, async () => {
      await server.command('SET', 'foo', 'old')
      await assert.rejects(client.multi().set('foo', 'new').set('foo').incr('n').exec(), (err) => {
        assert.ok(err instanceof Error)
        assert.equal(err.message, 'EXECABORT Transaction discarded because of previous errors.')
        return true
      })
      assert.equal(await server.raw('GET', 'foo'), 'old', 'nothing ran')
      assert.equal(await server.raw('EXISTS', 'n'), '0')
    })

    test('multi() with a command failing at run time rejects exec() with Redis\'s error (documented difference)', GUARD, async () => {
      await server.command('SET', 'str', 'abc')
      await assert.rejects(client.multi().incr('str').set('x', '1').exec(), (err) => {
        assert.ok(err instanceof Error)
        assert.equal(err.message, 'ERR value is not an integer or out of range')
        return true
      })
      // Redis itself ran the rest of the transaction.
      assert.equal(await server.raw('GET', 'x'), '1')
      assert.equal(await server.raw('GET', 'str'), 'abc')
    })

    test('a multi() aborted by WATCH resolves to null', GUARD, async () => {
      await client.set('watched', '1')
      assert.equal(await client.watch('watched'), 'OK')
      await server.command('SET', 'watched', '2') // another connection changes it
      assert.equal(await client.multi().set('watched', '3').set('other', 'x').exec(), null)
      assert.equal(await server.raw('GET', 'watched'), '2')
      assert.equal(await server.raw('EXISTS', 'other'), '0')
      // WATCH without interference: the transaction runs.
      assert.equal(await client.watch('watched'), 'OK')
      assert.deepEqual(await client.multi().set('watched', '4').exec(), [[null, 'OK']])
      assert.equal(await server.raw('GET', 'watched'), '4')
      // unwatch
      await client.watch('watched')
      assert.equal(await client.unwatch(), 'OK')
      await server.command('SET', 'watched', '5')
      assert.deepEqual(await client.multi().get('watched').exec(), [[null, '5']])
    })

    test('multi() aborted by WATCH calls exec(callback) with (null, null)', GUARD, async () => {
      await client.set('w', '1')
      await client.watch('w')
      await server.command('SET', 'w', '2')
      const { args } = await viaCallback((cb) => client.multi().set('w', '3').exec(cb))
      assert.deepEqual(args, [null, null])
    })

    test('pre-filled multi([[cmd, ...args], …])', GUARD, async () => {
      assert.deepEqual(await client.multi([['set', 'foo', 'bar'], ['get', 'foo']]).exec(), [[null, 'OK'], [null, 'bar']])
    })
  })

  describe('not supported: fails loudly with code ERR_NOT_SUPPORTED', () => {
    test('subscriber mode, monitor, select, raw MULTI/EXEC/DISCARD reject (they return a rejected promise, never throw)', GUARD, async () => {
      const attempts = {
        'subscribe()': () => client.subscribe('channel'),
        'psubscribe()': () => client.psubscribe('pattern*'),
        'ssubscribe()': () => client.ssubscribe('shard'),
        'monitor()': () => client.monitor(),
        'select(1)': () => client.select(1),
        "call('MULTI')": () => client.call('MULTI'),
        "call('EXEC')": () => client.call('EXEC'),
        "call('exec')": () => client.call('exec'),
        "call('DISCARD')": () => client.call('DISCARD'),
        "sendCommand('SELECT', 2)": () => client.sendCommand('SELECT', 2),
        "call('SUBSCRIBE', 'x')": () => client.call('SUBSCRIBE', 'x'),
      }
      for (const [label, attempt] of Object.entries(attempts)) {
        let returned
        assert.doesNotThrow(() => {
          returned = attempt()
        }, label)
        assert.equal(typeof returned?.then, 'function', `${label} returns a promise`)
        await assert.rejects(returned, assertNotSupported, label)
      }
      assert.equal(await client.ping(), 'PONG', 'the connection is still usable')
      assert.equal(await client.set('still', 'db0'), 'OK')
      assert.equal(await server.raw('GET', 'still'), 'db0', 'nothing switched the database')
    })

    test('subscribe(channel, callback) calls back with the error', GUARD, async () => {
      const { args, returned } = await viaCallback((cb) => client.subscribe('channel', cb))
      assertNotSupported(args[0])
      await assert.rejects(returned, assertNotSupported)
    })

    test('unsupported commands inside a pipeline reject exec()', GUARD, async () => {
      await assert.rejects(client.pipeline().set('a', '1').subscribe('x').exec(), assertNotSupported)
      await assert.rejects(client.multi().select(1).exec(), assertNotSupported)
      assert.equal(await server.raw('EXISTS', 'a'), '0', 'nothing of the refused pipeline ran')
    })

    test('duplicate(), scanStream() (and the other *scanStream), defineCommand() throw synchronously', GUARD, () => {
      assert.throws(() => client.duplicate(), assertNotSupported)
      assert.throws(() => client.scanStream(), assertNotSupported)
      assert.throws(() => client.scanStream({ match: 'user:*', count: 100 }), assertNotSupported)
      assert.throws(() => client.sscanStream('s'), assertNotSupported)
      assert.throws(() => client.hscanStream('h', { match: 'age:??' }), assertNotSupported)
      assert.throws(() => client.zscanStream('z'), assertNotSupported)
      assert.throws(
        () => client.defineCommand('myecho', { numberOfKeys: 2, lua: 'return {KEYS[1],KEYS[2],ARGV[1],ARGV[2]}' }),
        assertNotSupported,
      )
      assert.equal(client.myecho, undefined, 'no command was defined')
    })

    test('the binary *scanBufferStream variants fail the same way (not with "is not a function")', GUARD, () => {
      for (const name of ['scanBufferStream', 'sscanBufferStream', 'hscanBufferStream', 'zscanBufferStream']) {
        assert.throws(() => client[name]('key'), assertNotSupported, name)
      }
    })

    test('multi({ pipeline: false }) fails loudly instead of returning a pipelined transaction', GUARD, async () => {
      let returned
      try {
        returned = client.multi({ pipeline: false })
      } catch (err) {
        assertNotSupported(err)
        return
      }
      assert.equal(typeof returned?.then, 'function', 'multi({ pipeline: false }) must not silently return a Pipeline')
      await assert.rejects(returned, assertNotSupported)
    })
  })

  describe('shares the connection with the session methods', () => {
    test('one create adds two keys that the client sees', GUARD, async () => {
      assert.equal(await client.dbsize(), 0)
      const token = await sessions.create({ app: 'shared', ownerId: 'owner', data: { a: 1 }, duration: 60 })
      assert.equal(typeof token, 'string')
      assert.equal(await client.dbsize(), 2)
      assert.deepEqual(await sessions.get({ app: 'shared', token }), { ownerId: 'owner', data: { a: 1 } })
    })

    test('client.flushdb() makes sessions.get return undefined', GUARD, async () => {
      const token = await sessions.create({ app: 'shared', ownerId: 'owner', data: { a: 1 }, duration: 60 })
      assert.notEqual(await sessions.get({ app: 'shared', token }), undefined)
      assert.equal(await client.flushdb(), 'OK')
      assert.equal(await sessions.get({ app: 'shared', token }), undefined)
      assert.equal(await client.dbsize(), 0)
    })

    test('the client has its own connection to the same server, opened on first use, so a broken reply cannot reach a session', GUARD, async () => {
      const probe = new SpotsSessions(server.url)
      try {
        await whenReady(probe.client)
        const countConns = async () => (await server.raw('CLIENT', 'LIST')).split('\n').filter(Boolean).length
        const before = await countConns()
        const token = await probe.create({ app: 'conn', ownerId: 'o', data: { mine: true }, duration: 60 })
        assert.equal(await countConns(), before, 'session methods open no extra connection')
        assert.equal(await probe.client.call('CLIENT', 'SETNAME', 'spots-probe'), 'OK')
        const id = await probe.client.call('CLIENT', 'ID')
        assert.equal(await countConns(), before + 1, 'the first client command opened one more connection')
        const named = (await server.raw('CLIENT', 'LIST')).split('\n').filter((l) => /\bname=spots-probe\b/.test(l))
        assert.equal(named.length, 1, 'exactly one connection carries the name the client gave it')
        assert.match(named[0], new RegExp(`\\bid=${id}\\b`))
        // A client reply that fred cannot decode (an error reply that is not UTF-8) does not
        // touch the sessions' connection.
        await probe.client.call('nocmd', Buffer.from([0x80])).catch(() => {})
        assert.deepStrictEqual(await probe.get({ app: 'conn', token }), { ownerId: 'o', data: { mine: true } })
        assert.equal(await probe.get({ app: 'conn', token: 'other' }), undefined)
      } finally {
        await probe.client.quit()
      }
    })
  })

  describe('lifecycle', () => {
    test('status is "connecting" right after construction, then "connect" and "ready" are emitted', GUARD, async () => {
      const s = new SpotsSessions(server.url)
      const c = s.client
      try {
        assert.equal(c.status, 'connecting')
        const seen = []
        c.on('connect', () => seen.push(['connect', c.status]))
        c.on('ready', () => seen.push(['ready', c.status]))
        await waitFor(c, 'ready')
        assert.equal(c.status, 'ready')
        assert.deepEqual(seen, [['connect', 'connect'], ['ready', 'ready']])
        assert.equal(await c.ping(), 'PONG')
      } finally {
        await c.quit()
      }
    })

    test('quit() resolves "OK" after the pending replies, ends the client and closes the sessions instance', GUARD, async () => {
      const s = new SpotsSessions(server.url)
      const c = s.client
      await whenReady(c)
      const events = []
      for (const name of ['close', 'end', 'error']) c.on(name, () => events.push(name))
      const pending = []
      for (let i = 0; i < 100; i++) pending.push(c.set(`q:${i}`, i))
      const lastGet = c.get('q:0')
      const quit = c.quit()
      const settled = await Promise.allSettled(pending)
      assert.ok(settled.every((r) => r.status === 'fulfilled' && r.value === 'OK'), 'every pending command got its reply')
      assert.equal((await Promise.allSettled([lastGet]))[0].value, '0')
      assert.equal(await quit, 'OK')
      assert.equal(c.status, 'end')
      assert.deepEqual(events.filter((e) => e !== 'error'), ['close', 'end'])
      assert.equal(await server.raw('GET', 'q:99'), '99')
      await assert.rejects(s.create({ app: 'a', ownerId: 'o' }), { code: 'ERR_CLOSED' })
      await assert.rejects(s.get({ app: 'a', token: 't' }), { code: 'ERR_CLOSED' })
      await assert.rejects(c.get('q:0'), (err) => err.code === 'ERR_CLOSED' && /closed/i.test(err.message))
      await assert.rejects(c.pipeline().get('q:0').exec(), { code: 'ERR_CLOSED' })
      assert.equal(await c.quit(), 'OK', 'a second quit() is harmless')
      assert.equal(c.status, 'end')
    })

    test('quit(callback) calls back with (null, "OK")', GUARD, async () => {
      const s = new SpotsSessions(server.url)
      await whenReady(s.client)
      const { args, returned } = await viaCallback((cb) => s.client.quit(cb))
      assert.deepEqual(args, [null, 'OK'])
      assert.equal(await returned, 'OK')
      assert.equal(s.client.status, 'end')
    })

    test('quit() right after construction (still connecting) resolves "OK" (as ioredis)', GUARD, async () => {
      const s = new SpotsSessions(server.url)
      assert.equal(s.client.status, 'connecting')
      let result
      try {
        result = await s.client.quit()
      } catch (err) {
        s.disconnect()
        assert.fail(`quit() while connecting rejected: ${err.code}: ${err.message}`)
      }
      assert.equal(result, 'OK')
      assert.equal(s.client.status, 'end')
    })

    test('sessions.quit() ends the client too', GUARD, async () => {
      const s = new SpotsSessions(server.url)
      await whenReady(s.client)
      const ended = waitFor(s.client, 'end')
      assert.equal(await s.quit(), 'OK')
      await ended
      assert.equal(s.client.status, 'end')
      await assert.rejects(s.client.ping(), { code: 'ERR_CLOSED' })
    })

    test('disconnect() closes at once: status "end", "end" emitted, pending and later calls reject', GUARD, async () => {
      const s = new SpotsSessions(server.url)
      const c = s.client
      await whenReady(c)
      const events = []
      for (const name of ['close', 'end']) c.on(name, () => events.push(name))
      const pending = [c.get('k'), c.set('k', 'v'), c.pipeline().ping().exec()] // no reply can have been handled yet
      const result = c.disconnect()
      assert.equal(result, undefined)
      assert.equal(c.status, 'end')
      assert.deepEqual(events, ['close', 'end'])
      for (const p of pending) await assert.rejects(p, { code: 'ERR_CLOSED' })
      await assert.rejects(c.get('k'), { code: 'ERR_CLOSED' })
      await assert.rejects(s.create({ app: 'a', ownerId: 'o' }), { code: 'ERR_CLOSED' })
      c.disconnect()
      assert.deepEqual(events, ['close', 'end'], 'a second disconnect() emits nothing')
    })

    test('nothing listening, no "error" listener: the process does not crash and status is not "ready"', GUARD, async () => {
      const port = await freePort()
      const { code, signal, stdout, stderr } = await runNode(`
        const { SpotsSessions } = require(${JSON.stringify(pkg)})
        const s = new SpotsSessions('redis://127.0.0.1:${port}')
        setTimeout(() => {
          console.log('status=' + s.client.status + ' errorListeners=' + s.client.listenerCount('error'))
          s.client.disconnect()
        }, 1000)
      `)
      assert.equal(signal, null, stderr)
      assert.equal(code, 0, stderr)
      const m = stdout.match(/status=(\w+) errorListeners=(\d+)/)
      assert.ok(m, `unexpected output: ${stdout} ${stderr}`)
      assert.notEqual(m[1], 'ready')
      assert.ok(['connecting', 'reconnecting'].includes(m[1]), m[1])
      assert.equal(m[2], '0')
    })

    test('nothing listening, with an "error" listener: "error" events arrive', GUARD, async () => {
      const port = await freePort()
      const s = new SpotsSessions(`redis://127.0.0.1:${port}`)
      const c = s.client
      try {
        const errors = []
        c.on('error', (err) => errors.push(err))
        const [first] = await waitFor(c, 'error')
        assert.ok(first instanceof Error)
        assert.ok(first.message.length > 0)
        await sleep(1000)
        assert.ok(errors.length >= 1)
        assert.ok(errors.every((e) => e instanceof Error))
        assert.notEqual(c.status, 'ready')
        assert.ok(['connecting', 'reconnecting'].includes(c.status), c.status)
      } finally {
        c.disconnect()
      }
      assert.equal(c.status, 'end')
    })

    test('server stopped: "close" then "reconnecting", status "reconnecting"; restarted: "ready" again and commands work', GUARD, async () => {
      const port = await freePort()
      let second = await startRedis({ port })
      const s = new SpotsSessions(second.url)
      const c = s.client
      try {
        await whenReady(c)
        assert.equal(await c.set('before', '1'), 'OK')
        const events = []
        for (const name of ['close', 'reconnecting', 'connect', 'ready', 'end']) c.on(name, () => events.push(name))
        const closed = waitFor(c, 'close')
        const reconnecting = waitFor(c, 'reconnecting')
        await second.stop({ hard: true })
        await closed
        const [delay] = await reconnecting
        assert.equal(typeof delay, 'number')
        assert.equal(c.status, 'reconnecting')
        assert.ok(events.indexOf('close') < events.indexOf('reconnecting'), events.join(','))
        assert.ok(!events.includes('end'))

        const readyAgain = waitFor(c, 'ready')
        second = await startRedis({ port })
        await readyAgain
        assert.equal(c.status, 'ready')
        assert.ok(events.includes('connect'))
        assert.equal(await c.set('after', 'x'), 'OK')
        assert.equal(await c.get('after'), 'x')
        assert.equal(await second.raw('GET', 'after'), 'x')
        const token = await s.create({ app: 'r', ownerId: 'o', duration: 60 })
        assert.equal((await s.get({ app: 'r', token })).ownerId, 'o')
      } finally {
        c.disconnect()
        await second.stop()
      }
    })
  })

  // ioredis's README examples, with `sessions.client` in place of `new Redis()`.
  describe('ioredis README examples', () => {
    test('Basic Usage', GUARD, async () => {
      const redis = client
      const setting = redis.set('mykey', 'value') // Returns a promise which resolves to "OK"

      // ioredis supports the node.js callback style
      const viaCb = viaCallback((cb) => redis.get('mykey', cb))

      // Or ioredis returns a promise if the last argument isn't a function
      const viaPromise = redis.get('mykey')

      assert.equal(await setting, 'OK')
      assert.deepEqual((await viaCb).args, [null, 'value'])
      assert.equal(await viaPromise, 'value')

      redis.zadd('sortedSet', 1, 'one', 2, 'dos', 4, 'quatro', 3, 'three')
      const elements = await redis.zrange('sortedSet', 0, 2, 'WITHSCORES')
      assert.deepEqual(elements, ['one', '1', 'dos', '2', 'three', '3'])

      // equivalent to the CLI: `redis> SET mykey hello EX 10`
      assert.equal(await redis.set('mykey', 'hello', 'EX', 10), 'OK')
      assert.equal(await server.raw('GET', 'mykey'), 'hello')
      const ttl = Number(await server.raw('TTL', 'mykey'))
      assert.ok(ttl > 0 && ttl <= 10, `ttl ${ttl}`)
    })

    test('Expiration', GUARD, async () => {
      assert.equal(await client.set('key', 'data', 'EX', 60), 'OK')
      const ttl = await client.ttl('key')
      assert.ok(ttl > 0 && ttl <= 60, `ttl ${ttl}`)
    })

    test('Handle Binary Data', GUARD, async () => {
      const redis = client
      await redis.set('foo', Buffer.from([0x62, 0x75, 0x66]))
      const result = await redis.getBuffer('foo')
      assert.deepEqual(result, Buffer.from([0x62, 0x75, 0x66])) // <Buffer 62 75 66>

      const old = await redis.setBuffer('foo', 'new value', 'GET')
      assert.deepEqual(old, Buffer.from([0x62, 0x75, 0x66])) // `GET` returns the old value
      assert.equal(await redis.get('foo'), 'new value')
    })

    test('Pipelining: queue, exec(callback), chaining, promise', GUARD, async () => {
      const redis = client
      await server.command('SET', 'cc', 'x')

      const pipeline = redis.pipeline()
      pipeline.set('foo', 'bar')
      pipeline.del('cc')
      const first = await viaCallback((cb) => pipeline.exec(cb))
      // `err` is always null, and `results` is an array of responses
      assert.deepEqual(first.args, [null, [[null, 'OK'], [null, 1]]])

      // You can even chain the commands
      const chained = await viaCallback((cb) => redis.pipeline().set('foo', 'bar').del('cc').exec(cb))
      assert.deepEqual(chained.args, [null, [[null, 'OK'], [null, 0]]])

      // `exec` also returns a Promise
      const result = await redis.pipeline().set('foo', 'bar').get('foo').exec()
      assert.deepEqual(result, [[null, 'OK'], [null, 'bar']])
    })

    test('Pipelining: each chained command can have its own callback', GUARD, async () => {
      const calls = []
      const { args } = await viaCallback((cb) =>
        client
          .pipeline()
          .set('foo', 'bar')
          .get('foo', (err, result) => {
            calls.push([err, result]) // result === 'bar'
          })
          .exec(cb),
      )
      await flush()
      assert.deepEqual(args[1], [[null, 'OK'], [null, 'bar']]) // result[1][1] === 'bar'
      assert.deepEqual(calls, [[null, 'bar']])
    })

    test('Pipelining: pre-filled commands and #length', GUARD, async () => {
      const { args } = await viaCallback((cb) =>
        client
          .pipeline([
            ['set', 'foo', 'bar'],
            ['get', 'foo'],
          ])
          .exec(cb),
      )
      assert.deepEqual(args, [null, [[null, 'OK'], [null, 'bar']]])
      const length = client.pipeline().set('foo', 'bar').get('foo').length
      assert.equal(length, 2)
    })

    test('Transaction: multi() used like pipeline()', GUARD, async () => {
      const { args } = await viaCallback((cb) => client.multi().set('foo', 'bar').get('foo').exec(cb))
      assert.deepEqual(args, [null, [[null, 'OK'], [null, 'bar']]])
    })

    test('Transaction: a syntax error discards the transaction with EXECABORT', GUARD, async () => {
      const { args } = await viaCallback((cb) => client.multi().set('foo').set('foo', 'new value').exec(cb))
      assert.ok(args[0] instanceof Error)
      assert.equal(args[0].message, 'EXECABORT Transaction discarded because of previous errors.')
      assert.equal(await client.get('foo'), null, 'none of the commands ran')
    })

    test('Transaction: a chained command\'s callback gets the queueing state "QUEUED"', GUARD, async () => {
      const calls = []
      const { args } = await viaCallback((cb) =>
        client
          .multi()
          .set('foo', 'bar', (err, result) => {
            calls.push([err, result]) // result === 'QUEUED'
          })
          .exec(cb),
      )
      await flush()
      assert.equal(args[0], null)
      assert.deepEqual(args[1], [[null, 'OK']])
      assert.deepEqual(calls, [[null, 'QUEUED']])
      assert.equal(await server.raw('GET', 'foo'), 'bar')
    })

    test('Transaction: pre-filled multi([...])', GUARD, async () => {
      const { args } = await viaCallback((cb) =>
        client
          .multi([
            ['set', 'foo', 'bar'],
            ['get', 'foo'],
          ])
          .exec(cb),
      )
      assert.deepEqual(args, [null, [[null, 'OK'], [null, 'bar']]])
    })

    test('Transaction: an inline transaction in a pipeline works as in ioredis, or .multi() throws ERR_NOT_SUPPORTED at once', GUARD, async () => {
      let pipeline
      try {
        pipeline = client.pipeline().get('foo').multi()
      } catch (err) {
        assertNotSupported(err) // acceptable: loud and immediate
        return
      }
      const afterInlineExec = pipeline.set('foo', 'bar').get('foo').exec()
      // Whatever happens next, do not let a rejected promise from the chain go unhandled.
      if (typeof afterInlineExec?.then === 'function') afterInlineExec.then(null, () => {})
      assert.equal(
        typeof afterInlineExec?.get,
        'function',
        'inside a pipeline, exec() closes the inline transaction and the chain goes on (ioredis); ' +
          'if that is not supported, pipeline().multi() must throw ERR_NOT_SUPPORTED instead of failing later',
      )
      const results = await afterInlineExec.get('foo').exec()
      assert.deepEqual(results, [
        [null, null],
        [null, 'OK'],
        [null, 'QUEUED'],
        [null, 'QUEUED'],
        [null, ['OK', 'bar']],
        [null, 'bar'],
      ])
    })

    test('Lua scripting without defineCommand: eval/evalBuffer', GUARD, async () => {
      assert.deepEqual(await client.eval('return {KEYS[1],KEYS[2],ARGV[1],ARGV[2]}', 2, 'k1', 'k2', 'a1', 'a2'), ['k1', 'k2', 'a1', 'a2'])
      const buffers = await client.evalBuffer('return {KEYS[1],KEYS[2],ARGV[1],ARGV[2]}', 2, 'k1', 'k2', 'a1', 'a2')
      assert.deepEqual(buffers[0], Buffer.from('k1')) // result[0] equals to Buffer.from('k1')
      assert.equal(buffers.length, 4)
      assert.deepEqual(await client.pipeline().set('foo', 'bar').eval('return ARGV[1]', 0, 'a1').exec(), [[null, 'OK'], [null, 'a1']])
    })

    test('Transforming Arguments & Replies: hmset/mset with an object or a Map, hgetall as an object', GUARD, async () => {
      const redis = client
      await redis.hmset('key', { k1: 'v1', k2: 'v2' })
      await redis.hmset('key2', new Map([['k1', 'v1'], ['k2', 'v2']]))
      assert.deepEqual(await redis.hgetall('key'), { k1: 'v1', k2: 'v2' })
      assert.deepEqual(await redis.hgetall('key2'), { k1: 'v1', k2: 'v2' })

      redis.mset({ k1: 'v1', k2: 'v2' })
      const got1 = await viaCallback((cb) => redis.get('k1', cb))
      assert.deepEqual(got1.args, [null, 'v1']) // result === 'v1'

      redis.mset(
        new Map([
          ['k3', 'v3'],
          ['k4', 'v4'],
        ]),
      )
      const got3 = await viaCallback((cb) => redis.get('k3', cb))
      assert.deepEqual(got3.args, [null, 'v3']) // result === 'v3'
    })

    test('Transforming Arguments & Replies: hgetallBuffer with binary fields', GUARD, async () => {
      const redis = client
      await redis.hset('h1', Buffer.from([0x01]), Buffer.from([0x02]))
      await redis.hset('h1', Buffer.from([0x03]), Buffer.from([0x04]))
      const { args } = await viaCallback((cb) => redis.hgetallBuffer('h1', cb))
      assert.equal(args[0], null)
      // ioredis's default transformer: field names as (latin1-safe here) strings, values as Buffers.
      assert.deepEqual(args[1], { '\x01': Buffer.from([0x02]), '\x03': Buffer.from([0x04]) })
    })

    test('Error Handling: a reply error goes to the callback', GUARD, async () => {
      // This command causes a reply error since the SET command requires two arguments.
      const { args } = await viaCallback((cb) => client.set('foo', cb))
      assert.ok(args[0] instanceof Error)
      assert.equal(args[0].message, "ERR wrong number of arguments for 'set' command")
    })
  })
})
