'use strict'

// Hardening against faults outside the process: hostile replies, silent connections, bad
// credentials, links cut mid-reply, and long outages (issue 10, items 1, 2, 6 and 7).
// Every server and proxy a test starts, it stops.

const { test, describe, before, after } = require('node:test')
const assert = require('node:assert/strict')
const path = require('node:path')
const net = require('node:net')
const fs = require('node:fs')
const os = require('node:os')
const { spawn } = require('node:child_process')
const { SpotsSessions } = require('..')
const { startRedis, freePort, sleep, command } = require('./helpers/redis')
const { supports } = require('./helpers/server-binary.js')
const { runNode } = require('./helpers/node')

const pkg = path.join(__dirname, '..')

/**
 * A TCP proxy on loopback in front of `port`. `freeze(filter)` makes the links open now go
 * silent in both directions (it stops reading, so TCP backpressure holds the bytes: a half-open
 * link or a stuck middlebox), while new links still work. `cut` (0..1) cuts that share of the
 * server's replies in the middle. `sent` is what each link's client sent, to tell links apart.
 */
function startProxy(port, { cut = 0 } = {}) {
  const links = new Set()
  const sockets = new Set()
  let connections = 0
  const server = net.createServer((c) => {
    connections++
    const u = net.connect(port, '127.0.0.1')
    const link = { frozen: false, sent: '' }
    links.add(link)
    sockets.add(c).add(u)
    const kill = () => {
      c.destroy()
      u.destroy()
      links.delete(link)
      sockets.delete(c)
      sockets.delete(u)
    }
    c.on('error', kill).on('close', kill)
    u.on('error', kill).on('close', kill)
    c.on('data', (d) => {
      if (link.sent.length < 4096) link.sent += d.toString('latin1')
      if (link.frozen) c.pause()
      else u.write(d)
    })
    u.on('data', (d) => {
      if (link.frozen) return u.pause()
      if (cut > 0 && d.length > 2 && Math.random() < cut) {
        c.write(d.subarray(0, 1 + Math.floor(Math.random() * (d.length - 1))), kill)
      } else {
        c.write(d)
      }
    })
  })
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () =>
      resolve({
        port: server.address().port,
        get connections() {
          return connections
        },
        freeze(filter = () => true) {
          let n = 0
          for (const link of links) {
            if (filter(link)) {
              link.frozen = true
              n++
            }
          }
          return n
        },
        stop() {
          for (const s of sockets) s.destroy()
          return new Promise((r) => server.close(() => r()))
        },
      }),
    )
  })
}

/** A freeze filter for links the test froze itself beforehand. */
const ALREADY_FROZEN = () => false

/** After the live link(s) go silent, calls succeed again (within a generous bound). */
async function recoversFromSilence(s, proxies, token, filter) {
  proxies = [].concat(proxies)
  const connections = () => proxies.reduce((n, p) => n + p.connections, 0)
  const before = connections()
  const frozen = proxies.reduce((n, p) => n + p.freeze(filter), 0)
  if (filter !== ALREADY_FROZEN) assert.ok(frozen >= 1, 'a live link was frozen')
  const deadline = Date.now() + 60_000
  const codes = []
  for (;;) {
    try {
      const got = await s.get({ app: 'a', token })
      if (got) break
    } catch (e) {
      codes.push(e.code)
    }
    assert.ok(Date.now() < deadline, `calls never succeeded again after the link went silent: ${codes.join()}`)
  }
  assert.ok(codes.length >= 1, 'the frozen link did fail a call first (the test froze the right link)')
  assert.ok(
    codes.every((c) => c === 'ERR_REDIS_TIMEOUT' || c === 'ERR_REDIS_CONNECTION'),
    codes.join(),
  )
  assert.ok(connections() > before, 'the instance opened a new connection')
}

describe('a deep reply from a hostile server', () => {
  for (const depth of [20_000, 300_000]) {
    test(`${depth} levels deep: rejects ERR_REDIS_PROTOCOL, drops that connection, the process lives`, async () => {
      let connections = 0
      const srv = net.createServer((sock) => {
        connections++
        sock.on('error', () => {})
        sock.on('data', () => sock.write('*1\r\n'.repeat(depth) + ':1\r\n'))
      })
      await new Promise((r) => srv.listen(0, '127.0.0.1', r))
      try {
        const { code, signal, stdout, stderr } = await runNode(
          `
          const { SpotsSessions } = require(${JSON.stringify(pkg)})
          const s = new SpotsSessions({ connectionString: process.env.URL, commandTimeout: 15000 })
          const call = () => s.get({ app: 'a', token: 't' }).then(() => 'resolved', (e) => e.code)
          ;(async () => {
            console.log(await call())
            console.log(await call())
            s.disconnect()
          })()
        `,
          { URL: `redis://127.0.0.1:${srv.address().port}` },
        )
        assert.equal(signal, null, `the process was killed by ${signal}: ${stderr}`)
        assert.equal(code, 0, stderr)
        assert.deepEqual(stdout.trim().split('\n'), ['ERR_REDIS_PROTOCOL', 'ERR_REDIS_PROTOCOL'])
        assert.ok(connections >= 2, `the connection that sent it was dropped (${connections} connections)`)
      } finally {
        await new Promise((r) => srv.close(r))
      }
    })
  }
})

describe('a connection that goes silent', () => {
  let server
  before(async () => {
    server = await startRedis()
  })
  after(async () => {
    await server.stop()
  })

  test('single server: the instance reconnects and calls succeed again', async () => {
    const proxy = await startProxy(server.port)
    const s = new SpotsSessions({ connectionString: `redis://127.0.0.1:${proxy.port}`, commandTimeout: 1000 })
    try {
      const token = await s.create({ app: 'a', ownerId: 'o', data: { n: 1 } })
      await recoversFromSilence(s, proxy, token)
    } finally {
      s.disconnect()
      await proxy.stop()
    }
  })

  test('a busy instance notices too (new commands keep being written to the silent link)', async () => {
    const proxy = await startProxy(server.port)
    const s = new SpotsSessions({ connectionString: `redis://127.0.0.1:${proxy.port}`, commandTimeout: 1000 })
    let stop = false
    try {
      const token = await s.create({ app: 'a', ownerId: 'o', data: { n: 1 } })
      // Background load: a write every few ms, as a busy service would issue.
      const load = (async () => {
        while (!stop) {
          await s.get({ app: 'a', token }).catch(() => {})
          await sleep(5)
        }
      })()
      await recoversFromSilence(s, proxy, token)
      stop = true
      await load
    } finally {
      stop = true
      s.disconnect()
      await proxy.stop()
    }
  })

  test('even when the silent link has stopped taking writes (a full send buffer)', async () => {
    const proxy = await startProxy(server.port)
    const s = new SpotsSessions({
      connectionString: `redis://127.0.0.1:${proxy.port}`,
      commandTimeout: 1000,
      connectTimeout: 2000,
    })
    try {
      const token = await s.create({ app: 'a', ownerId: 'o', data: { n: 1 } })
      const other = await s.create({ app: 'a', ownerId: 'o', data: { n: 2 } })
      proxy.freeze()
      // ~48 MB of updates: far more than the loopback socket buffers take, so fred's writer
      // blocks on the socket and its router cannot run a reconnection.
      const big = { blob: 'x'.repeat(1_000_000) }
      const stuck = Promise.allSettled(
        Array.from({ length: 48 }, () => s.update({ app: 'a', token: other, data: big })),
      )
      await recoversFromSilence(s, proxy, token, ALREADY_FROZEN)
      await stuck
    } finally {
      s.disconnect()
      await proxy.stop()
    }
  })

  test('Sentinel: the instance reconnects through the sentinels and calls succeed again', async () => {
    const proxy = await startProxy(server.port)
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'spots-harden-sentinel-'))
    const port = await freePort()
    const conf = path.join(dir, 'sentinel.conf')
    // The sentinel monitors the master through the proxy, so it hands out the proxy's address.
    fs.writeFileSync(
      conf,
      [
        `port ${port}`,
        'bind 127.0.0.1',
        `dir ${dir}`,
        `sentinel monitor m 127.0.0.1 ${proxy.port} 1`,
        'sentinel down-after-milliseconds m 60000',
        '',
      ].join('\n'),
    )
    const sentinel = spawn('redis-server', [conf, '--sentinel'], { stdio: 'ignore' })
    let s
    try {
      const deadline = Date.now() + 15_000
      for (;;) {
        const addr = await command(port, 'SENTINEL', 'get-master-addr-by-name', 'm').catch(() => null)
        if (addr && Number(String(addr[1])) === proxy.port) break
        assert.ok(Date.now() < deadline, 'the sentinel came up')
        await sleep(50)
      }
      s = new SpotsSessions({
        connectionString: `redis-sentinel://127.0.0.1:${port}?sentinelServiceName=m`,
        commandTimeout: 1000,
      })
      const token = await s.create({ app: 'a', ownerId: 'o', data: { n: 1 } })
      // Freeze the instance's link to the master, not the sentinel's own links to it.
      await recoversFromSilence(s, proxy, token, (link) => !/sentinel-/i.test(link.sent))
    } finally {
      if (s) s.disconnect()
      sentinel.kill('SIGKILL')
      await new Promise((r) =>
        sentinel.exitCode !== null || sentinel.signalCode !== null ? r() : sentinel.once('exit', r),
      )
      await proxy.stop()
      fs.rmSync(dir, { recursive: true, force: true })
    }
  })
})

describe('a cluster connection that goes silent', () => {
  // Redis 6.2 reads cluster-announce-port only at startup, so its nodes cannot be moved behind
  // the proxies here; Redis 7 and Valkey apply it at once.
  const announceAtRuntime = supports(7)
  test(
    'Redis Cluster: the instance reconnects and calls succeed again',
    { skip: !announceAtRuntime && 'Redis 6.2 applies cluster-announce-port only at startup' },
    async () => {
      const { startCluster } = require('./helpers/topologies')
      const cluster = await startCluster({ masters: 3 })
      const proxies = []
      let s
      try {
        // Each node announces its proxy, so the slot map the client reads leads through them.
        for (const node of cluster.nodes) {
          const proxy = await startProxy(node.port)
          proxies.push(proxy)
          await node.command('CONFIG', 'SET', 'cluster-announce-port', String(proxy.port))
        }
        const wanted = new Set(proxies.map((p) => p.port))
        const deadline = Date.now() + 30_000
        for (;;) {
          let ready = true
          for (const node of cluster.nodes) {
            const slots = await node.command('CLUSTER', 'SLOTS')
            if (!slots.every((range) => wanted.has(Number(range[2][1])))) ready = false
          }
          if (ready) break
          assert.ok(Date.now() < deadline, 'the nodes announce their proxies')
          await sleep(100)
        }
        s = new SpotsSessions({
          cluster: proxies.map((p) => ({ host: '127.0.0.1', port: p.port })),
          commandTimeout: 1000,
        })
        const token = await s.create({ app: 'a', ownerId: 'o', data: { n: 1 } })
        await recoversFromSilence(s, proxies, token)
      } finally {
        if (s) s.disconnect()
        for (const p of proxies) await p.stop()
        await cluster.stop()
      }
    },
  )
})

describe('failures say what happened', () => {
  let server
  before(async () => {
    server = await startRedis()
    await command(server.port, 'CONFIG', 'SET', 'requirepass', 'secret')
  })
  after(async () => {
    await server.stop()
  })

  // A long commandTimeout: a call that waited for it instead of failing fast would end in
  // ERR_REDIS_TIMEOUT (after a minute), not in the code asserted.
  const options = (url) => ({ connectionString: url, commandTimeout: 60_000 })

  for (const [what, url, code, message] of [
    ['a wrong password', (p) => `redis://:wrong@127.0.0.1:${p}`, 'ERR_REDIS_AUTH', /WRONGPASS/],
    ['no password (NOAUTH)', (p) => `redis://127.0.0.1:${p}`, 'ERR_REDIS_AUTH', /NOAUTH/],
    ['an unknown user', (p) => `redis://nobody:secret@127.0.0.1:${p}`, 'ERR_REDIS_AUTH', /WRONGPASS/],
    ['a db the server lacks', (p) => `redis://:secret@127.0.0.1:${p}/16`, 'ERR_REDIS', /DB index is out of range/],
  ]) {
    test(`${what}: every call rejects with ${code} and the server's reason, without waiting for commandTimeout`, async () => {
      const s = new SpotsSessions(options(url(server.port)))
      try {
        for (const call of [
          () => s.get({ app: 'a', token: 't' }),
          () => s.create({ app: 'a', ownerId: 'o' }),
          () => s.killAll({ app: 'a', ownerId: 'o' }),
        ]) {
          await assert.rejects(call(), (err) => {
            assert.equal(err.code, code, err.message)
            assert.match(err.message, message)
            return true
          })
        }
      } finally {
        s.disconnect()
      }
    })
  }

  test('the right credentials still work on that server', async () => {
    const s = new SpotsSessions(options(`redis://:secret@127.0.0.1:${server.port}`))
    try {
      const token = await s.create({ app: 'a', ownerId: 'o', data: { ok: true } })
      assert.deepEqual(await s.get({ app: 'a', token }), { ownerId: 'o', data: { ok: true } })
    } finally {
      await s.quit()
    }
  })
})

describe('a link that is cut mid-reply', () => {
  let server
  let proxy
  before(async () => {
    server = await startRedis()
    proxy = await startProxy(server.port, { cut: 0.1 })
  })
  after(async () => {
    await proxy.stop()
    await server.stop()
  })

  test('lost connections reject ERR_REDIS_CONNECTION; a re-sent create, kill or killAll tells the truth', async () => {
    const s = new SpotsSessions(`redis://127.0.0.1:${proxy.port}`)
    const rejections = {}
    const lies = []
    let checked = 0
    try {
      await Promise.all(
        Array.from({ length: 32 }, async (_, w) => {
          for (let i = 0; i < 40; i++) {
            let token
            try {
              token = await s.create({ app: 'a', ownerId: `w${w}`, data: { i } })
            } catch (e) {
              rejections[`${e.code} ${e.message}`] = (rejections[`${e.code} ${e.message}`] || 0) + 1
              continue
            }
            try {
              if (i % 2 === 0) {
                const killed = await s.kill({ app: 'a', token })
                if (killed !== true) lies.push(`kill resolved ${killed} for a session create had just made`)
              } else {
                const killed = await s.killAll({ app: 'a', ownerId: `w${w}` })
                if (killed !== true)
                  lies.push(`killAll resolved ${killed} for an owner create had just given a session`)
              }
              checked++
            } catch (e) {
              rejections[`${e.code} ${e.message}`] = (rejections[`${e.code} ${e.message}`] || 0) + 1
            }
          }
        }),
      )
    } finally {
      s.disconnect()
    }
    const messages = Object.keys(rejections)
    assert.ok(checked > 100, `enough calls got through to judge (${checked})`)
    assert.deepEqual(
      messages.filter((m) => !m.startsWith('ERR_REDIS_CONNECTION ') && !m.startsWith('ERR_REDIS_TIMEOUT ')),
      [],
      'only connection losses and timeouts',
    )
    assert.deepEqual(
      messages.filter((m) => /collided|route command\.$/i.test(m) && !m.startsWith('ERR_REDIS_CONNECTION')),
      [],
    )
    assert.deepEqual(lies, [])
  })
})

describe('the offline queue', () => {
  test('is bounded by default, and a waiting call is cheap', async () => {
    const port = await freePort() // nothing listens there
    const s = new SpotsSessions({ connectionString: `redis://127.0.0.1:${port}`, commandTimeout: 5000 })
    try {
      const n = 20_000 + 50
      const outcomes = await Promise.allSettled(
        Array.from({ length: n }, (_, i) => s.get({ app: 'a', token: `t${i}` })),
      )
      const codes = outcomes.map((o) => o.reason && o.reason.code)
      assert.equal(
        codes.filter((c) => c === 'ERR_REDIS_OFFLINE').length,
        50,
        'the calls past the default bound of 20000 were refused at once',
      )
      assert.equal(codes.filter((c) => c === 'ERR_REDIS_TIMEOUT').length, 20_000)
    } finally {
      s.disconnect()
    }
  })

  test('offlineQueueLimit: 0 lifts the bound', async () => {
    const port = await freePort()
    const s = new SpotsSessions({
      connectionString: `redis://127.0.0.1:${port}`,
      commandTimeout: 1500,
      offlineQueueLimit: 0,
    })
    try {
      const outcomes = await Promise.allSettled(
        Array.from({ length: 20_100 }, (_, i) => s.get({ app: 'a', token: `t${i}` })),
      )
      assert.ok(outcomes.every((o) => o.reason && o.reason.code === 'ERR_REDIS_TIMEOUT'))
    } finally {
      s.disconnect()
    }
  })
})
