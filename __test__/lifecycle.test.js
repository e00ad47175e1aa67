'use strict'

// Connection lifecycle: background connect, bounded waits, outages, quit/disconnect, and a
// process that exits by itself.

const { test, describe, before, after } = require('node:test')
const assert = require('node:assert/strict')
const path = require('node:path')
const net = require('node:net')
const { SpotsSessions } = require('..')
const { startRedis, freePort, sleep } = require('./helpers/redis')
const { runNode } = require('./helpers/node')

const pkg = path.join(__dirname, '..')

describe('with a running server', () => {
  let server
  before(async () => {
    server = await startRedis()
  })
  after(async () => {
    await server.stop()
  })

  test('a script that never calls quit() exits by itself with code 0', async () => {
    const { code, signal, stdout, stderr } = await runNode(
      `
      const { SpotsSessions } = require(${JSON.stringify(pkg)})
      const s = new SpotsSessions(process.env.URL)
      s.create({ app: 'exit', ownerId: 'o', data: { a: 1 }, duration: 60 })
        .then((token) => s.get({ app: 'exit', token }))
        .then((got) => console.log(JSON.stringify(got)))
    `,
      { URL: server.url },
    )
    assert.equal(signal, null, stderr)
    assert.equal(code, 0, stderr)
    assert.equal(
      stdout.trim(),
      '{"ownerId":"o","data":{"a":1}}',
      'the pending calls kept the process alive until they settled',
    )
  })

  test('an idle instance does not keep the process alive', async () => {
    const { code, stdout, stderr } = await runNode(
      `
      const { SpotsSessions } = require(${JSON.stringify(pkg)})
      const instances = Array.from({ length: 5 }, () => new SpotsSessions(process.env.URL))
      console.log('constructed', instances.length)
    `,
      { URL: server.url },
    )
    assert.equal(code, 0, stderr)
    assert.equal(stdout.trim(), 'constructed 5')
  })

  test('quit() lets calls in flight finish, then later calls reject', async () => {
    const s = new SpotsSessions(server.url)
    const inFlight = Array.from({ length: 200 }, (_, i) =>
      s.create({ app: 'q', ownerId: 'o', data: { i }, duration: 60 }),
    )
    const quit = s.quit()
    const late = s.get({ app: 'q', token: 'x' }).then(
      () => 'resolved',
      (err) => err,
    )
    const tokens = await Promise.all(inFlight)
    assert.equal(tokens.length, 200)
    assert.ok(tokens.every((t) => typeof t === 'string' && t.length === 172))
    assert.equal(await quit, 'OK')
    assert.equal(await s.quit(), 'OK', 'quit() twice is harmless')
    const lateErr = await late
    assert.equal(lateErr.code, 'ERR_CLOSED')
    assert.match(lateErr.message, /closed/i)
    await assert.rejects(s.create({ app: 'q', ownerId: 'o', data: {} }), { code: 'ERR_CLOSED' })
    const check = new SpotsSessions(server.url)
    const got = await Promise.all(tokens.map((token) => check.get({ app: 'q', token })))
    assert.ok(
      got.every((g) => g && g.ownerId === 'o'),
      'every resolved create is stored',
    )
    await check.quit()
  })

  // Issue 21: `new` + `await quit()` in a plain loop, nothing after it. The native half of each
  // instance (fred's client, its tasks and buffers, the completion bridge) used to live until V8
  // collected the instance's native wrapper, and such a loop allocates so little JavaScript that
  // hundreds of closed ones piled up between collections (RSS +40 MB for 2,000). Now quit()
  // frees it when it settles. Counted here by the bridges' threadsafe functions, each an async
  // resource (`init` when the instance is made, `destroy` when its native half is gone): at most
  // a few live at any point of the loop, without a single forced collection.
  //
  // The registry is read again after the loop on purpose: one that is no longer referenced may
  // be collected itself, and then never calls back (optimised code drops a dead local from a
  // suspended async function, which is how the repro counted 0 collected).
  test('new + quit() in a plain loop: each native half is freed when quit() settles, every instance is collected', async () => {
    const { code, stdout, stderr } = await runNode(
      `
      const fs = require('node:fs')
      const { createHook } = require('node:async_hooks')
      const { SpotsSessions } = require(${JSON.stringify(pkg)})
      const N = 2000
      const rss = () => +/VmRSS:\\s+(\\d+)/.exec(fs.readFileSync('/proc/self/status', 'utf8'))[1] * 1024
      const live = new Set()
      let made = 0
      createHook({
        init(id, type) {
          if (type !== 'napi_rs_threadsafe_function') return
          live.add(id)
          made++
        },
        destroy(id) {
          live.delete(id)
        },
      }).enable()
      let collected = 0
      const registry = new FinalizationRegistry(() => collected++)
      ;(async () => {
        // The first instance starts the shared runtime: not part of what is measured.
        await new SpotsSessions(process.env.URL).quit()
        const rss0 = rss()
        made = 0
        let maxLive = 0
        for (let i = 0; i < N; i++) {
          const s = new SpotsSessions(process.env.URL)
          registry.register(s, i)
          await s.quit()
          maxLive = Math.max(maxLive, live.size)
        }
        for (let k = 0; k < 10; k++) {
          global.gc()
          await new Promise((r) => setTimeout(r, 50))
        }
        console.log(JSON.stringify({ n: N, made, maxLive, collected, rssGrowth: rss() - rss0, registry: typeof registry }))
      })()
    `,
      { URL: server.url },
      ['--expose-gc'],
    )
    assert.equal(code, 0, stderr)
    const r = JSON.parse(stdout.trim().split('\n').pop())
    assert.equal(r.made, r.n, `every instance's bridge was seen: ${stdout}`)
    assert.ok(r.maxLive <= 10, `closed instances still held their native half: ${stdout}`)
    assert.ok(r.collected >= r.n - 1, `instances collected: ${stdout}`)
    assert.ok(r.rssGrowth < 30 * 1024 * 1024, `RSS grew: ${stdout}`)
  })

  test('disconnect() settles every pending call at once', async () => {
    const s = new SpotsSessions(server.url)
    const pending = Array.from({ length: 50 }, () =>
      s.get({ app: 'd', token: 't' }).then(
        () => 'resolved',
        (e) => e.code,
      ),
    )
    s.disconnect()
    const outcomes = await Promise.all(pending)
    assert.ok(
      outcomes.every((o) => o === 'resolved' || o === 'ERR_CLOSED'),
      String(outcomes),
    )
    await assert.rejects(s.get({ app: 'd', token: 't' }), { code: 'ERR_CLOSED' })
  })
})

describe('outages', () => {
  test('the constructor never throws because Redis is down, and calls reject after commandTimeout', async () => {
    const port = await freePort() // nothing listens here
    const s = new SpotsSessions({ connectionString: `redis://127.0.0.1:${port}`, commandTimeout: 500 })
    const started = Date.now()
    await assert.rejects(s.get({ app: 'a', token: 't' }), (err) => {
      assert.ok(err instanceof Error)
      assert.equal(err.code, 'ERR_REDIS_TIMEOUT')
      assert.match(err.message, /commandTimeout \(500 ms\)/)
      return true
    })
    assert.ok(Date.now() - started >= 400, 'it waited for the connection first')
    s.disconnect()
  })

  test('calls made before Redis exists succeed once it starts', async () => {
    const port = await freePort()
    const s = new SpotsSessions({ connectionString: `redis://127.0.0.1:${port}`, commandTimeout: 8000 })
    const early = s.create({ app: 'late', ownerId: 'o', data: { a: 1 }, duration: 60 })
    await sleep(300)
    const server = await startRedis({ port })
    try {
      const token = await early
      assert.deepStrictEqual(await s.get({ app: 'late', token }), { ownerId: 'o', data: { a: 1 } })
    } finally {
      await s.quit()
      await server.stop()
    }
  })

  test('the same instance works again after Redis restarts', async () => {
    let server = await startRedis()
    const { port } = server
    const s = new SpotsSessions({ connectionString: server.url, commandTimeout: 1500 })
    try {
      const token = await s.create({ app: 'restart', ownerId: 'o', data: {}, duration: 60 })
      assert.ok(await s.get({ app: 'restart', token }))
      await server.stop({ hard: true })
      await assert.rejects(s.get({ app: 'restart', token }), (err) => {
        assert.ok(['ERR_REDIS_TIMEOUT', 'ERR_REDIS_CONNECTION'].includes(err.code), err.code)
        return true
      })
      server = await startRedis({ port })
      // The restarted server has an empty keyspace and an empty script cache: every method,
      // including the scripted ones, must work again without a new instance.
      let token2
      for (let i = 0; i < 50 && !token2; i++) {
        token2 = await s
          .create({ app: 'restart', ownerId: 'o', data: { back: true }, duration: 60 })
          .catch(() => sleep(200))
      }
      assert.equal(typeof token2, 'string')
      assert.deepStrictEqual(await s.get({ app: 'restart', token: token2 }), { ownerId: 'o', data: { back: true } })
      assert.equal(await s.update({ app: 'restart', token: token2, data: { more: 1 } }), true)
      assert.equal(await s.refresh({ app: 'restart', token: token2, duration: 60 }), true)
      assert.equal(await s.killAll({ app: 'restart', ownerId: 'o' }), true)
    } finally {
      await s.quit()
      await server.stop()
    }
  })

  test('a server that accepts the connection and never answers: calls reject on commandTimeout', async () => {
    const sockets = new Set()
    const silent = net.createServer((sock) => {
      sockets.add(sock)
      sock.on('error', () => {})
      // Swallow everything, answer nothing.
    })
    await new Promise((resolve) => silent.listen(0, '127.0.0.1', resolve))
    const { port } = silent.address()
    const s = new SpotsSessions({
      connectionString: `redis://127.0.0.1:${port}`,
      commandTimeout: 700,
      connectTimeout: 500,
    })
    try {
      const outcomes = await Promise.allSettled([
        s.get({ app: 'a', token: 't' }),
        s.create({ app: 'a', ownerId: 'o', data: {}, duration: 10 }),
      ])
      for (const o of outcomes) {
        assert.equal(o.status, 'rejected')
        assert.ok(
          ['ERR_REDIS_TIMEOUT', 'ERR_REDIS_CONNECTION'].includes(o.reason.code),
          `${o.reason.code}: ${o.reason.message}`,
        )
      }
      assert.ok(outcomes.some((o) => o.reason.code === 'ERR_REDIS_TIMEOUT'))
      // The client (ioredis) got the same commandTimeout: it rejects as ioredis does.
      await assert.rejects(s.client.get('k'), /Command timed out/)
    } finally {
      s.disconnect()
      for (const sock of sockets) sock.destroy()
      silent.close()
    }
  })

  test('enableOfflineQueue: false rejects at once while disconnected', async () => {
    const port = await freePort()
    const s = new SpotsSessions({
      connectionString: `redis://127.0.0.1:${port}`,
      enableOfflineQueue: false,
      commandTimeout: 5000,
    })
    const started = Date.now()
    await assert.rejects(
      s.get({ app: 'a', token: 't' }),
      (err) => err.code === 'ERR_REDIS_OFFLINE' && /enableOfflineQueue/.test(err.message),
    )
    assert.ok(Date.now() - started < 4000, 'it did not wait for commandTimeout')
    s.disconnect()
  })

  test('offlineQueueLimit bounds how many calls wait for the connection', async () => {
    const port = await freePort()
    const s = new SpotsSessions({
      connectionString: `redis://127.0.0.1:${port}`,
      offlineQueueLimit: 5,
      commandTimeout: 800,
    })
    const outcomes = await Promise.allSettled(Array.from({ length: 40 }, () => s.get({ app: 'a', token: 't' })))
    const codes = outcomes.map((o) => o.reason && o.reason.code)
    assert.ok(
      codes.every((c) => c === 'ERR_REDIS_OFFLINE' || c === 'ERR_REDIS_TIMEOUT'),
      codes.join(),
    )
    assert.ok(
      codes.filter((c) => c === 'ERR_REDIS_OFFLINE').length >= 30,
      `most calls were refused at once: ${codes.join()}`,
    )
    s.disconnect()
  })

  test('bad option values throw at once, naming the option', () => {
    for (const [options, name] of [
      [{ maxRetriesPerRequest: -1 }, 'maxRetriesPerRequest'],
      [{ maxRetriesPerRequest: 1.5 }, 'maxRetriesPerRequest'],
      [{ offlineQueueLimit: -3 }, 'offlineQueueLimit'],
      [{ enableOfflineQueue: 'no' }, 'enableOfflineQueue'],
      [{ commandTimeout: 0 }, 'commandTimeout'],
      [{ connectTimeout: Infinity }, 'connectTimeout'],
    ]) {
      assert.throws(
        () => new SpotsSessions({ connectionString: 'redis://127.0.0.1:1', ...options }),
        (err) => err.message.startsWith(name),
        name,
      )
    }
    const ok = new SpotsSessions({
      connectionString: 'redis://127.0.0.1:1',
      maxRetriesPerRequest: null,
      offlineQueueLimit: 0,
      enableOfflineQueue: true,
    })
    ok.disconnect()
  })
})
