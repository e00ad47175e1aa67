'use strict'

// `sessions.client`: a real ioredis instance, as 1.x exposed.
//
// 1. Its constructor arguments, for every form of options the README shows.
// 2. The shared client suite (shared/client-suite.js: real libraries — rate-limiter-flexible,
//    connect-redis — defineCommand, duplicate + pub/sub, scanStream, multi) on one server, plus
//    what only one server shows: express-session over HTTP, the connections the client opens,
//    and that nothing the client receives can reach a session.
// 3. Lifecycle: created on first read, closed by quit()/disconnect(), keeps Node alive only once
//    created (seen from child processes).
//
// Nothing here talks to a server it did not start: option forms with other hosts are only
// parsed, and the instances built from them are closed before their client is read (an ended
// ioredis opens no connection).

const { test, describe, before, after } = require('node:test')
const assert = require('node:assert/strict')
const fs = require('node:fs')
const http = require('node:http')
const os = require('node:os')
const path = require('node:path')
const { execFileSync } = require('node:child_process')
const Redis = require('ioredis')
const session = require('express-session')
const { RedisStore } = require('connect-redis')
const { SpotsSessions } = require('..')
const { describeConnection } = require('../binding.js')
const { ioredisArguments } = require('../redis-client.js')
const { startRedis, freePort } = require('./helpers/redis')
const { runNode } = require('./helpers/node')
const { defineClientSuite, once, ready } = require('./shared/client-suite.js')

const pkg = path.join(__dirname, '..')
const GUARD = { timeout: 60_000 }

/** The ioredis arguments for a connection string, as `client` would get them. */
const forUrl = (url) => ioredisArguments(describeConnection({ connectionString: url }), url)

const byAddress = (a, b) => a.host.localeCompare(b.host) || a.port - b.port
const sortNodes = (nodes) => [...nodes].sort(byAddress)

/** An instance closed at once, and its client: an ended ioredis that never connects. */
function closedClient(options) {
  const s = new SpotsSessions(options)
  s.disconnect()
  const client = s.client
  assert.equal(client.status, 'end', 'a client read after close is created ended')
  return client
}

/** A throwaway CA certificate and an EC key, as PEM, made by openssl. */
function makePem() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'spots-client-pem-'))
  try {
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'ec',
        '-pkeyopt',
        'ec_paramgen_curve:prime256v1',
        '-nodes',
        '-subj',
        '/CN=spots client test',
        '-days',
        '1',
        '-keyout',
        path.join(dir, 'key.pem'),
        '-out',
        path.join(dir, 'cert.pem'),
      ],
      { stdio: 'ignore' },
    )
    return { cert: fs.readFileSync(path.join(dir, 'cert.pem')), key: fs.readFileSync(path.join(dir, 'key.pem')) }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true })
  }
}

// ---------------------------------------------------------------------------------------------
// 1. ioredis constructor arguments

describe('client: ioredis constructor arguments for every documented form', () => {
  let savedUrl
  before(() => {
    savedUrl = process.env.SPOTS_SESSIONS_REDIS_URL
    delete process.env.SPOTS_SESSIONS_REDIS_URL
  })
  after(() => {
    if (savedUrl === undefined) delete process.env.SPOTS_SESSIONS_REDIS_URL
    else process.env.SPOTS_SESSIONS_REDIS_URL = savedUrl
  })

  test('new SpotsSessions(): 127.0.0.1:6379, as ioredis', () => {
    assert.deepStrictEqual(ioredisArguments(describeConnection({}), undefined), {
      cluster: false,
      options: { host: '127.0.0.1', port: 6379 },
    })
  })

  test('connection strings of every scheme', () => {
    assert.deepStrictEqual(forUrl('redis://user:pass@host:6379/2'), {
      cluster: false,
      options: { host: 'host', port: 6379, username: 'user', password: 'pass', db: 2 },
    })
    assert.deepStrictEqual(forUrl('rediss://host:6380'), {
      cluster: false,
      options: { host: 'host', port: 6380, tls: {} },
    })
    assert.deepStrictEqual(forUrl('redis+unix:///run/redis/redis.sock'), {
      cluster: false,
      options: { path: '/run/redis/redis.sock' },
    })
    const sentinel = forUrl('redis-sentinel://s1:26379?sentinelServiceName=mymaster&node=s2:26379&node=s3:26379')
    assert.equal(sentinel.cluster, false)
    assert.deepStrictEqual(sortNodes(sentinel.options.sentinels), [
      { host: 's1', port: 26379 },
      { host: 's2', port: 26379 },
      { host: 's3', port: 26379 },
    ])
    assert.deepStrictEqual({ ...sentinel.options, sentinels: undefined }, { sentinels: undefined, name: 'mymaster' })
    const cluster = forUrl('redis-cluster://n1:7000?node=n2:7001&node=n3:7002')
    assert.equal(cluster.cluster, true)
    assert.deepStrictEqual(sortNodes(cluster.nodes), [
      { host: 'n1', port: 7000 },
      { host: 'n2', port: 7001 },
      { host: 'n3', port: 7002 },
    ])
    assert.deepStrictEqual(cluster.options, { redisOptions: {} })
  })

  test('rediss-sentinel:// and rediss-cluster:// with credentials: TLS and credentials everywhere the sessions use them', () => {
    const sentinel = forUrl('rediss-sentinel://u:p@s1:26379/3?sentinelServiceName=m')
    assert.deepStrictEqual(sentinel.options, {
      sentinels: [{ host: 's1', port: 26379 }],
      name: 'm',
      username: 'u',
      password: 'p',
      tls: {},
      // fred authenticates to the sentinels with the master's credentials, over TLS too
      sentinelUsername: 'u',
      sentinelPassword: 'p',
      enableTLSForSentinelMode: true,
      sentinelTLS: {},
      db: 3,
    })
    const cluster = forUrl('rediss-cluster://:secret@n1:7000')
    assert.deepStrictEqual(cluster, {
      cluster: true,
      nodes: [{ host: 'n1', port: 7000 }],
      options: { redisOptions: { password: 'secret', tls: {} } },
    })
  })

  test('SPOTS_SESSIONS_REDIS_URL is the default, for the client too', async () => {
    const port = await freePort()
    process.env.SPOTS_SESSIONS_REDIS_URL = `redis://127.0.0.1:${port}/3`
    try {
      for (const options of [undefined, {}, { tokenSize: 16 }]) {
        const client = closedClient(options)
        assert.ok(client instanceof Redis)
        assert.equal(client.options.host, '127.0.0.1')
        assert.equal(client.options.port, port)
        assert.equal(client.options.db, 3)
      }
    } finally {
      delete process.env.SPOTS_SESSIONS_REDIS_URL
    }
  })

  test('{ host, port, password, db, tls: { ca, cert, key } }: the same PEM objects reach ioredis', async () => {
    const port = await freePort()
    const { cert, key } = makePem()
    const client = closedClient({ host: '127.0.0.1', port, password: 'p', db: 1, tls: { ca: cert, cert, key } })
    assert.equal(client.options.host, '127.0.0.1')
    assert.equal(client.options.port, port)
    assert.equal(client.options.password, 'p')
    assert.equal(client.options.db, 1)
    assert.deepStrictEqual(Object.keys(client.options.tls).sort(), ['ca', 'cert', 'key'])
    assert.equal(client.options.tls.ca, cert)
    assert.equal(client.options.tls.key, key)
    assert.deepStrictEqual(closedClient({ host: '127.0.0.1', port, tls: true }).options.tls, {})
    assert.deepStrictEqual(closedClient({ host: '127.0.0.1', port, tls: { rejectUnauthorized: false } }).options.tls, {
      rejectUnauthorized: false,
    })
    assert.equal(closedClient({ host: '127.0.0.1', port }).options.tls, undefined, 'no TLS unless asked')
    // username/password/db/tls beside a connection string
    const withUrl = closedClient({ connectionString: `redis://127.0.0.1:${port}`, username: 'u', password: 'p', db: 4 })
    assert.deepStrictEqual([withUrl.options.username, withUrl.options.password, withUrl.options.db], ['u', 'p', 4])
  })

  test('{ path } (unix socket)', () => {
    const client = closedClient({ path: path.join(os.tmpdir(), 'spots-no-such.sock'), db: 2 })
    assert.equal(client.options.path, path.join(os.tmpdir(), 'spots-no-such.sock'))
    assert.equal(client.options.db, 2)
  })

  test('{ sentinels, name }', async () => {
    const [p1, p2] = [await freePort(), await freePort()]
    const client = closedClient({
      sentinels: [
        { host: '127.0.0.1', port: p1 },
        { host: '127.0.0.1', port: p2 },
      ],
      name: 'mymaster',
    })
    assert.ok(client instanceof Redis)
    assert.deepStrictEqual(
      sortNodes(client.options.sentinels),
      sortNodes([
        { host: '127.0.0.1', port: p1 },
        { host: '127.0.0.1', port: p2 },
      ]),
    )
    assert.equal(client.options.name, 'mymaster')
  })

  test('{ cluster }: an ioredis Cluster, with the per-node options in redisOptions', async () => {
    const [p1, p2] = [await freePort(), await freePort()]
    const client = closedClient({
      cluster: [
        { host: '127.0.0.1', port: p1 },
        { host: '127.0.0.1', port: p2 },
      ],
      password: 'p',
      commandTimeout: 1234,
      enableOfflineQueue: false,
    })
    assert.ok(client instanceof Redis.Cluster)
    assert.deepStrictEqual(
      sortNodes(client.startupNodes),
      sortNodes([
        { host: '127.0.0.1', port: p1 },
        { host: '127.0.0.1', port: p2 },
      ]),
    )
    assert.equal(client.options.enableOfflineQueue, false)
    assert.deepStrictEqual(client.options.redisOptions, { password: 'p', commandTimeout: 1234 })
  })

  test('timeouts map to the ioredis options of the same meaning; unset ones keep ioredis defaults', async () => {
    const url = `redis://127.0.0.1:${await freePort()}`
    const set = closedClient({
      connectionString: url,
      connectTimeout: 1500,
      commandTimeout: 2500,
      maxRetriesPerRequest: 3,
      enableOfflineQueue: false,
    })
    assert.deepStrictEqual(
      [
        set.options.connectTimeout,
        set.options.commandTimeout,
        set.options.maxRetriesPerRequest,
        set.options.enableOfflineQueue,
      ],
      [1500, 2500, 3, false],
    )
    assert.equal(closedClient({ connectionString: url, maxRetriesPerRequest: null }).options.maxRetriesPerRequest, null)
    const defaults = closedClient(url)
    const plain = new Redis({ lazyConnect: true })
    assert.deepStrictEqual(
      [
        defaults.options.connectTimeout,
        defaults.options.commandTimeout,
        defaults.options.maxRetriesPerRequest,
        defaults.options.enableOfflineQueue,
      ],
      [
        plain.options.connectTimeout,
        plain.options.commandTimeout,
        plain.options.maxRetriesPerRequest,
        plain.options.enableOfflineQueue,
      ],
      "ioredis's defaults (no commandTimeout: blocking commands are not cut short)",
    )
    plain.disconnect()
  })
})

// ---------------------------------------------------------------------------------------------
// 2. the shared client suite on one server, and what only one server shows

defineClientSuite('client on a single server', {
  start: () => startRedis(),
  options: (h) => ({ connectionString: h.url }),
  extra(ctx) {
    test('express-session with connect-redis on sessions.client, over HTTP on loopback', GUARD, async () => {
      const middleware = session({
        store: new RedisStore({ client: ctx.client, prefix: 'web:' }),
        secret: 'test secret',
        resave: false,
        saveUninitialized: false,
        cookie: { maxAge: 60_000 },
      })
      const server = http.createServer((req, res) => {
        middleware(req, res, () => {
          req.session.views = (req.session.views ?? 0) + 1
          res.end(String(req.session.views))
        })
      })
      await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve))
      try {
        const url = `http://127.0.0.1:${server.address().port}/`
        const first = await fetch(url)
        assert.equal(await first.text(), '1')
        const cookie = first.headers.get('set-cookie').split(';')[0]
        const sid = decodeURIComponent(cookie.split('=')[1]).slice(2).split('.')[0]
        assert.deepStrictEqual(
          JSON.parse(await ctx.client.get(`web:${sid}`)).views,
          1,
          'stored through sessions.client',
        )
        const second = await fetch(url, { headers: { cookie } })
        assert.equal(await second.text(), '2', 'the session came back from Redis')
        assert.equal(JSON.parse(await ctx.client.get(`web:${sid}`)).views, 2)
      } finally {
        server.closeAllConnections()
        await new Promise((resolve) => server.close(resolve))
      }
    })

    test('the client has a connection of its own, opened when it is first read', GUARD, async () => {
      const h = ctx.handle
      const connections = async () => (await h.raw('CLIENT', 'LIST')).split('\n').filter(Boolean)
      const s = ctx.open()
      const token = await s.create({ app: 'conn', ownerId: 'o', data: { mine: true }, duration: 60 })
      const before = (await connections()).length
      await s.get({ app: 'conn', token })
      assert.equal((await connections()).length, before, 'session methods open no extra connection')
      const c = s.client
      await ready(c)
      assert.equal(await c.client('SETNAME', 'spots-client-probe'), 'OK')
      const list = await connections()
      assert.equal(list.length, before + 1, 'reading client opened exactly one connection')
      assert.equal(list.filter((l) => /\bname=spots-client-probe\b/.test(l)).length, 1)
      assert.deepStrictEqual(await s.get({ app: 'conn', token }), { ownerId: 'o', data: { mine: true } })
      await s.quit()
      assert.equal(
        (await connections()).filter((l) => /\bname=spots-client-probe\b/.test(l)).length,
        0,
        'quit() closed it',
      )
    })

    // fred 10.1 / redis-protocol 6 drop an error reply that is not UTF-8 and shift every later
    // reply on that connection (docs/upstream.md#non-utf8-error-reply): the session methods
    // never share a connection with arbitrary commands, so such replies only ever reach ioredis.
    test(
      'error replies that are not UTF-8: ioredis rejects with ReplyError and keeps working; the sessions are untouched',
      GUARD,
      async () => {
        const s = ctx.open()
        const c = s.client
        const alice = await s.create({ app: 'bank', ownerId: 'alice', data: { balance: 100 } })
        const bob = await s.create({ app: 'bank', ownerId: 'bob', data: { balance: 5 } })
        const bad = [
          () => c.call('nocmd', Buffer.from([0x6f, 0xb3, 0xad])),
          () => c.call('nocmd', 'x' + 'é'.repeat(100)), // cut at 128 bytes inside an 'é'
          () => c.eval('return redis.error_reply(ARGV[1])', 0, Buffer.from([0x41, 0xff, 0xfe])),
        ]
        for (let round = 0; round < 3; round++) {
          const [errors, gotAlice, gotBob, echo] = await Promise.all([
            Promise.all(
              bad.map((run) =>
                run().then(
                  () => null,
                  (e) => e,
                ),
              ),
            ),
            s.get({ app: 'bank', token: alice }),
            s.get({ app: 'bank', token: bob }),
            c.echo('hello'),
          ])
          for (const err of errors) assert.ok(err instanceof Redis.ReplyError, `rejected with ReplyError: ${err}`)
          assert.deepStrictEqual(gotAlice, { ownerId: 'alice', data: { balance: 100 } })
          assert.deepStrictEqual(gotBob, { ownerId: 'bob', data: { balance: 5 } })
          assert.equal(echo, 'hello')
        }
        assert.equal(await c.ping(), 'PONG')
      },
    )

    test(
      'client.quit() alone (1.x shutdown code) closes only the client; the sessions keep working',
      GUARD,
      async () => {
        const s = ctx.open()
        const c = s.client
        await ready(c)
        assert.equal(await c.quit(), 'OK')
        const token = await s.create({ app: 'after-client-quit', ownerId: 'o', duration: 60 })
        assert.deepStrictEqual(await s.get({ app: 'after-client-quit', token }), { ownerId: 'o', data: {} })
        assert.equal(await s.quit(), 'OK', 'sessions.quit() after client.quit() resolves')
      },
    )

    test('disconnect() closes the client at once', GUARD, async () => {
      const s = ctx.open()
      const c = s.client
      await ready(c)
      const ended = once(c, 'end')
      s.disconnect()
      await ended
      assert.equal(c.status, 'end')
      await assert.rejects(c.get('k'), /Connection is closed/)
    })

    test('client read after quit(): an ended ioredis, no connection opened', GUARD, async () => {
      const h = ctx.handle
      const count = async () => (await h.raw('CLIENT', 'LIST')).split('\n').filter(Boolean).length
      const s = ctx.open()
      await s.get({ app: 'a', token: 't' })
      assert.equal(await s.quit(), 'OK')
      const before = await count()
      const c = s.client
      assert.ok(c instanceof Redis)
      assert.equal(c.status, 'end')
      await assert.rejects(c.get('k'), /Connection is closed/)
      assert.equal(await count(), before)
    })
  },
})

// ---------------------------------------------------------------------------------------------
// 3. lifecycle, seen from child processes

describe('client lifecycle (child processes)', () => {
  let server
  before(async () => {
    server = await startRedis()
  })
  after(async () => {
    await server.stop()
  })

  test(
    'an instance whose client is never read loads no ioredis and lets the process exit by itself',
    GUARD,
    async () => {
      const { code, signal, stdout, stderr } = await runNode(
        `
      const { SpotsSessions } = require(${JSON.stringify(pkg)})
      const s = new SpotsSessions(process.env.URL)
      s.create({ app: 'exit', ownerId: 'o', duration: 60 })
        .then((token) => s.get({ app: 'exit', token }))
        .then((got) => {
          const loaded = Object.keys(require.cache).some((f) => f.includes('/node_modules/ioredis/'))
          console.log(JSON.stringify({ got, loaded }))
        })
    `,
        { URL: server.url },
      )
      assert.equal(signal, null, `killed: it did not exit by itself. ${stderr}`)
      assert.equal(code, 0, stderr)
      assert.deepStrictEqual(JSON.parse(stdout), { got: { ownerId: 'o', data: {} }, loaded: false })
    },
  )

  test('a client that was read keeps Node alive until quit(), as 1.x did', GUARD, async () => {
    // An unref'd timer fires only if something else keeps the process alive.
    const script = (readClient) => `
      const { SpotsSessions } = require(${JSON.stringify(pkg)})
      const s = new SpotsSessions(process.env.URL)
      ;(async () => {
        if (${readClient}) console.log('ping', await s.client.ping())
        await s.get({ app: 'a', token: 't' })
        setTimeout(async () => {
          console.log('still alive')
          console.log('quit', await s.quit())
        }, 1000).unref()
      })()
    `
    const withClient = await runNode(script(true), { URL: server.url })
    assert.equal(withClient.signal, null, `quit() let it exit. ${withClient.stderr}`)
    assert.equal(withClient.code, 0, withClient.stderr)
    assert.deepStrictEqual(withClient.stdout.trim().split('\n'), ['ping PONG', 'still alive', 'quit OK'])
    const without = await runNode(script(false), { URL: server.url })
    assert.equal(without.code, 0, without.stderr)
    assert.equal(without.stdout.trim(), '', 'control: without the client nothing kept it alive')
  })

  test('quit() while the client cannot connect (reconnecting) resolves, and the process exits', GUARD, async () => {
    const port = await freePort() // nothing listens there
    for (const options of [
      { connectionString: `redis://127.0.0.1:${port}` },
      { cluster: [{ host: '127.0.0.1', port }] },
    ]) {
      const { code, signal, stdout, stderr } = await runNode(`
        const { SpotsSessions } = require(${JSON.stringify(pkg)})
        const s = new SpotsSessions(${JSON.stringify(options)})
        s.client.on('error', () => {})
        s.client.once('reconnecting', async () => {
          console.log('reconnecting')
          console.log('quit', await s.quit())
        })
      `)
      assert.equal(signal, null, `${JSON.stringify(options)}: killed, it did not exit by itself. ${stdout} ${stderr}`)
      assert.equal(code, 0, stderr)
      assert.deepStrictEqual(stdout.trim().split('\n'), ['reconnecting', 'quit OK'], JSON.stringify(options))
    }
  })

  test('sessions.client.quit() (1.x shutdown code) lets the process exit', GUARD, async () => {
    const { code, signal, stdout, stderr } = await runNode(
      `
      const { SpotsSessions } = require(${JSON.stringify(pkg)})
      const s = new SpotsSessions(process.env.URL)
      ;(async () => {
        await s.client.set('k', 'v')
        const token = await s.create({ app: 'a', ownerId: 'o', duration: 60 })
        console.log(await s.client.get('k'), typeof token)
        await s.client.quit()
      })()
    `,
      { URL: server.url },
    )
    assert.equal(signal, null, `killed: it did not exit by itself. ${stderr}`)
    assert.equal(code, 0, stderr)
    assert.equal(stdout.trim(), 'v string')
  })
})
