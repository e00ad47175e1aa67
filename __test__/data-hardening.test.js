'use strict'

// Issue 10, items 3, 4, 5, 7 and 8: maxmemory refuses create (ERR_REDIS_OOM), an evicting
// maxmemory-policy is reported, instances are collected and close their connections, the data
// limits hold per session, and `get` returns top-level keys in their stored order.
// Runs against SPOTS_TEST_REDIS_SERVER when set (Redis 6.2, Valkey 8).

const { test, describe, before, after } = require('node:test')
const assert = require('node:assert/strict')
const path = require('node:path')
const { spawn, execFileSync } = require('node:child_process')
const { SpotsSessions } = require('..')
const { startRedis, sleep } = require('./helpers/redis')
const { sessionKey } = require('./helpers/layout')
const { startCluster } = require('./helpers/topologies')

const pkg = path.join(__dirname, '..')
const MAX_BYTES = 1024 * 1024
const MAX_KEYS = 1024

// JSON.stringify(get().data) must equal JSON.stringify of the data merged as update documents:
// existing keys keep their place, new keys are appended, null deletes.
function merge(data, patch) {
  const out = { ...data }
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete out[k]
    else out[k] = v
  }
  return out
}

async function rejectsWith(promise, code, pattern) {
  await assert.rejects(promise, (err) => {
    assert.equal(err.code, code, err.message)
    if (pattern) assert.match(err.message, pattern)
    return true
  })
}

describe('data hardening', () => {
  let server
  let s
  before(async () => {
    server = await startRedis()
    s = new SpotsSessions(server.url)
  })
  after(async () => {
    await s.quit()
    await server.stop()
  })

  describe('maxmemory (noeviction)', () => {
    after(async () => {
      await server.command('CONFIG', 'SET', 'maxmemory', '0')
    })

    test('create and update are refused with ERR_REDIS_OOM and write nothing; get and kill work', async () => {
      const token = await s.create({ app: 'oom', ownerId: 'o', data: { a: 1 }, duration: 600 })
      await server.command('CONFIG', 'SET', 'maxmemory-policy', 'noeviction')
      // Any memory in use is over a 1-byte limit.
      await server.command('CONFIG', 'SET', 'maxmemory', '1')
      const keys = await server.command('DBSIZE')
      for (let i = 0; i < 20; i++) {
        await rejectsWith(
          s.create({ app: 'oom', ownerId: `n${i}`, data: { pad: 'x'.repeat(100) }, duration: 600 }),
          'ERR_REDIS_OOM',
          /maxmemory/,
        )
      }
      // A new owner too: the index write is what Redis must refuse first.
      await rejectsWith(s.create({ app: 'oom', ownerId: 'o', data: {} }), 'ERR_REDIS_OOM')
      await rejectsWith(s.update({ app: 'oom', token, data: { b: 2 } }), 'ERR_REDIS_OOM')
      assert.equal(await server.command('DBSIZE'), keys)
      assert.deepEqual(await s.get({ app: 'oom', token }), { ownerId: 'o', data: { a: 1 } })
      // Deleting frees memory and is allowed.
      assert.equal(await s.update({ app: 'oom', token, data: { a: null } }), true)
      assert.equal(await s.kill({ app: 'oom', token }), true)
      await server.command('CONFIG', 'SET', 'maxmemory', '0')
      const again = await s.create({ app: 'oom', ownerId: 'o', data: { a: 1 } })
      assert.deepEqual(await s.get({ app: 'oom', token: again }), { ownerId: 'o', data: { a: 1 } })
    })
  })

  describe('data limits per session', () => {
    test('updates cannot grow a session past 1024 top-level keys; nothing is written', async () => {
      const token = await s.create({ app: 'lim', ownerId: 'o' })
      const first = Object.fromEntries(Array.from({ length: 1000 }, (_, i) => [`a${i}`, i]))
      assert.equal(await s.update({ app: 'lim', token, data: first }), true)
      const second = Object.fromEntries(Array.from({ length: 100 }, (_, i) => [`b${i}`, i]))
      await rejectsWith(
        s.update({ app: 'lim', token, data: second }),
        'ERR_INVALID_ARG_VALUE',
        /^data: .*1024 top-level keys/,
      )
      assert.deepEqual((await s.get({ app: 'lim', token })).data, first)
      // Rewriting existing keys, or deleting some to make room, is fine: up to exactly 1024.
      const some = Object.fromEntries(Array.from({ length: 24 }, (_, i) => [`b${i}`, i]))
      assert.equal(await s.update({ app: 'lim', token, data: { ...some, a0: 'changed' } }), true)
      let data = merge(merge(first, some), { a0: 'changed' })
      assert.equal(Object.keys(data).length, MAX_KEYS)
      await rejectsWith(s.update({ app: 'lim', token, data: { c: 1 } }), 'ERR_INVALID_ARG_VALUE')
      assert.equal(await s.update({ app: 'lim', token, data: { a1: null, c: 1 } }), true)
      data = merge(data, { a1: null, c: 1 })
      assert.equal(JSON.stringify((await s.get({ app: 'lim', token })).data), JSON.stringify(data))
    })

    test('updates cannot grow a session past 1 MiB of JSON, counted exactly (escaped keys too)', async () => {
      // Keys that JSON escapes: quotes, backslashes, control characters, a lone surrogate.
      const base = { 'q"\\': 'x'.repeat(1000), 'c\n\u0001\t': 'y', '\uD800s': 1 }
      const token = await s.create({ app: 'lim', ownerId: 'o', data: base })
      const size = (d) => Buffer.byteLength(JSON.stringify(d))
      // Fill up to exactly the limit with one more key.
      const filler = (n) => ({ fill: 'z'.repeat(n) })
      const room = MAX_BYTES - size(merge(base, filler(0)))
      await rejectsWith(
        s.update({ app: 'lim', token, data: filler(room + 1) }),
        'ERR_INVALID_ARG_VALUE',
        /^data: .*bytes/,
      )
      assert.deepEqual((await s.get({ app: 'lim', token })).data, base)
      assert.equal(await s.update({ app: 'lim', token, data: filler(room) }), true)
      const full = merge(base, filler(room))
      assert.equal(size(full), MAX_BYTES)
      const got = (await s.get({ app: 'lim', token })).data
      assert.equal(JSON.stringify(got), JSON.stringify(full))
      // One more byte anywhere is refused; shrinking one value makes room for another.
      await rejectsWith(s.update({ app: 'lim', token, data: { '\uD800s': 12 } }), 'ERR_INVALID_ARG_VALUE')
      assert.equal(await s.update({ app: 'lim', token, data: { 'c\n\u0001\t': null, '\uD800s': 1234567 } }), true)
    })

    test('many updates within the per-call limits stop at the per-session limit', async () => {
      const token = await s.create({ app: 'lim', ownerId: 'o' })
      let accepted = 0
      let refused = 0
      for (let i = 0; i < 5; i++) {
        const data = Object.fromEntries(Array.from({ length: 100 }, (_, k) => [`u${i}_${k}`, 'x'.repeat(3000)]))
        try {
          await s.update({ app: 'lim', token, data })
          accepted++
        } catch (err) {
          assert.equal(err.code, 'ERR_INVALID_ARG_VALUE')
          refused++
        }
      }
      assert.equal(accepted, 3)
      assert.equal(refused, 2)
      const got = (await s.get({ app: 'lim', token })).data
      assert.equal(Object.keys(got).length, 300)
      assert.ok(Buffer.byteLength(JSON.stringify(got)) <= MAX_BYTES)
    })
  })

  describe('fidelity', () => {
    test('small sessions come back in stored order through updates', async () => {
      let data = { z: 1, a: 2, m: { n: 1 }, b: 'x', 10: 'ten', 2: 'two' }
      const token = await s.create({ app: 'fid', ownerId: 'o', data })
      assert.equal(JSON.stringify((await s.get({ app: 'fid', token })).data), JSON.stringify(data))
      for (const patch of [{ a: 3, y: 1 }, { z: null, c: [1] }, { z: 'back', m: null }, { 1: 'one' }]) {
        assert.equal(await s.update({ app: 'fid', token, data: patch }), true)
        data = merge(data, patch)
        assert.equal(JSON.stringify((await s.get({ app: 'fid', token })).data), JSON.stringify(data))
      }
    })

    test('order survives Redis converting the hash to an unordered hashtable (long values, many keys)', async () => {
      for (const [label, data] of [
        ['long value', { k3: 1, k1: 'v'.repeat(100), k2: 2, k0: 0 }],
        ['many keys', Object.fromEntries(Array.from({ length: 600 }, (_, i) => [`key${(i * 7919) % 600}`, i]))],
      ]) {
        let expected = data
        const token = await s.create({ app: 'fid', ownerId: 'o', data })
        const encoding = await server.command('OBJECT', 'ENCODING', sessionKey('fid', token))
        assert.equal(String(encoding), 'hashtable', label)
        assert.equal(JSON.stringify((await s.get({ app: 'fid', token })).data), JSON.stringify(expected), label)
        for (const patch of [{ new1: 1, k2: null }, { key5: null, k3: 'x', new0: 'y'.repeat(200) }, { k2: 'again' }]) {
          assert.equal(await s.update({ app: 'fid', token, data: patch }), true)
          expected = merge(expected, patch)
          assert.equal(JSON.stringify((await s.get({ app: 'fid', token })).data), JSON.stringify(expected), label)
        }
      }
      // A small session that an update converts keeps the order it had before.
      let data = { z: 1, y: 2, x: 3 }
      const token = await s.create({ app: 'fid', ownerId: 'o', data })
      assert.match(String(await server.command('OBJECT', 'ENCODING', sessionKey('fid', token))), /listpack|ziplist/)
      const patch = { w: 'long'.repeat(50), y: null, v: 0 }
      await s.update({ app: 'fid', token, data: patch })
      data = merge(data, patch)
      assert.equal(String(await server.command('OBJECT', 'ENCODING', sessionKey('fid', token))), 'hashtable')
      assert.equal(JSON.stringify((await s.get({ app: 'fid', token })).data), JSON.stringify(data))
    })

    test('top-level keys that are lone surrogates are accepted and come back unchanged', async () => {
      const data = { '\uD800': 1, '\uDC00x': 2, '\uFFFD': 3, 'a\uD83D': { '\uDFFF': 4 }, '😀': 5 }
      const token = await s.create({ app: 'fid', ownerId: 'o', data })
      const got = (await s.get({ app: 'fid', token })).data
      assert.equal(JSON.stringify(got), JSON.stringify(data))
      assert.deepEqual(Object.keys(got), Object.keys(data))
      assert.equal(await s.update({ app: 'fid', token, data: { '\uD800': null, '\uDBFF': 6 } }), true)
      assert.equal(
        JSON.stringify((await s.get({ app: 'fid', token })).data),
        JSON.stringify(merge(data, { '\uD800': null, '\uDBFF': 6 })),
      )
    })
  })
})

// The cluster harness passes --cluster-port, which Redis 6.2 does not know.
const serverMajor = Number(
  /v=(\d+)/.exec(
    execFileSync(process.env.SPOTS_TEST_REDIS_SERVER || 'redis-server', ['--version'], { encoding: 'utf8' }),
  )?.[1] ?? 0,
)

describe(
  'Redis Cluster (step scripts)',
  { skip: serverMajor < 7 && 'the cluster harness needs Redis 7 or later' },
  () => {
    let cluster
    let s
    before(async () => {
      cluster = await startCluster()
      s = new SpotsSessions({ cluster: cluster.seeds })
    })
    after(async () => {
      await s.quit()
      await cluster.stop()
    })

    test('maxmemory: create and update are refused with ERR_REDIS_OOM, nothing written', async () => {
      const token = await s.create({ app: 'oom', ownerId: 'o', data: { a: 1 } })
      const keys = await cluster.dbsize()
      await cluster.commandAll('CONFIG', 'SET', 'maxmemory-policy', 'noeviction')
      await cluster.commandAll('CONFIG', 'SET', 'maxmemory', '1')
      try {
        for (let i = 0; i < 10; i++) {
          await rejectsWith(
            s.create({ app: 'oom', ownerId: `n${i}`, data: { pad: 'x'.repeat(100) }, duration: 600 }),
            'ERR_REDIS_OOM',
          )
        }
        await rejectsWith(s.update({ app: 'oom', token, data: { b: 2 } }), 'ERR_REDIS_OOM')
        assert.equal(await cluster.dbsize(), keys)
        assert.deepEqual(await s.get({ app: 'oom', token }), { ownerId: 'o', data: { a: 1 } })
      } finally {
        await cluster.commandAll('CONFIG', 'SET', 'maxmemory', '0')
      }
    })

    test('data limits hold per session, and key order survives an unordered hash', async () => {
      const token = await s.create({ app: 'lim', ownerId: 'o' })
      const first = Object.fromEntries(Array.from({ length: 1000 }, (_, i) => [`a${i}`, 'v'.repeat(i % 3 ? 1 : 80)]))
      assert.equal(await s.update({ app: 'lim', token, data: first }), true)
      await rejectsWith(
        s.update({
          app: 'lim',
          token,
          data: {
            b0: 1,
            b1: 2,
            b2: 3,
            b3: 4,
            b4: 5,
            b5: 6,
            b6: 7,
            b7: 8,
            b8: 9,
            b9: 10,
            ba: 11,
            bb: 12,
            bc: 13,
            bd: 14,
            be: 15,
            bf: 16,
            bg: 17,
            bh: 18,
            bi: 19,
            bj: 20,
            bk: 21,
            bl: 22,
            bm: 23,
            bn: 24,
            bo: 25,
          },
        }),
        'ERR_INVALID_ARG_VALUE',
        /^data:/,
      )
      const patch = { a5: null, z: 1, a0: 'first stays first' }
      assert.equal(await s.update({ app: 'lim', token, data: patch }), true)
      assert.equal(JSON.stringify((await s.get({ app: 'lim', token })).data), JSON.stringify(merge(first, patch)))
    })
  },
)

describe('maxmemory-policy', () => {
  for (const [policy, warns] of [
    ['allkeys-lru', true],
    ['volatile-lfu', true],
    ['noeviction', false],
  ]) {
    test(`${policy}: ${warns ? 'a process warning says killAll may miss sessions' : 'no warning'}`, async () => {
      const server = await startRedis({ args: ['--maxmemory-policy', policy] })
      const seen = []
      const onWarning = (w) => {
        if (w.code === 'SPOTS_SESSIONS_EVICTION' && w.message.includes(policy)) seen.push(w)
      }
      process.on('warning', onWarning)
      const s = new SpotsSessions(server.url)
      try {
        await s.get({ app: 'p', token: 't' })
        if (warns) {
          for (let i = 0; i < 500 && seen.length === 0; i++) await sleep(20)
          assert.equal(seen.length, 1)
          assert.match(seen[0].message, /killAll/)
        } else {
          await sleep(300)
          assert.equal(seen.length, 0)
        }
      } finally {
        process.off('warning', onWarning)
        await s.quit()
        await server.stop()
      }
    })
  }
})

// Runs `source` in `node --expose-gc` (bounded) and resolves to its parsed last stdout line.
function runGc(source, env) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--expose-gc', '-e', source], {
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let out = ''
    let err = ''
    child.stdout.on('data', (d) => (out += d))
    child.stderr.on('data', (d) => (err += d))
    const timer = setTimeout(() => child.kill('SIGKILL'), 240_000)
    child.on('exit', (code, signal) => {
      clearTimeout(timer)
      if (code !== 0) return reject(new Error(`child exited ${code ?? signal}: ${err}`))
      resolve(JSON.parse(out.trim().split('\n').pop()))
    })
  })
}

describe('instance lifecycle', () => {
  let server
  before(async () => {
    server = await startRedis()
  })
  after(async () => {
    await server.stop()
  })

  const prelude = `
    const fs = require('node:fs')
    const { SpotsSessions } = require(${JSON.stringify(pkg)})
    const rss = () => +/VmRSS:\\s+(\\d+)/.exec(fs.readFileSync('/proc/self/status', 'utf8'))[1] * 1024
    const fds = () => fs.readdirSync('/proc/self/fd').length
    const settle = async () => { for (let k = 0; k < 4; k++) { global.gc(); await new Promise((r) => setTimeout(r, 50)) } }
    let collected = 0
    const registry = new FinalizationRegistry(() => collected++)
  `

  test('10,000 × new + quit(): every instance is collected, RSS and fds stay flat', async () => {
    const r = await runGc(
      `${prelude}
      ;(async () => {
        const sample = []
        for (let i = 1; i <= 10000; i++) {
          const s = new SpotsSessions(process.env.URL)
          registry.register(s, i)
          await s.quit()
          if (i % 500 === 0) await settle()
          if (i === 2000 || i === 10000) sample.push({ rss: rss(), fds: fds() })
        }
        await settle()
        console.log(JSON.stringify({ collected, sample }))
      })()
    `,
      { URL: server.url },
    )
    assert.ok(r.collected >= 9990, `collected ${r.collected}`)
    const [early, late] = r.sample
    // Each leaked instance held about 40 KB: 8,000 more would be over 300 MB.
    assert.ok(late.rss - early.rss < 32 * 1024 * 1024, `RSS ${early.rss} -> ${late.rss}`)
    assert.ok(late.fds - early.fds <= 2, `fds ${early.fds} -> ${late.fds}`)
  })

  test('connected instances: quit() or simply dropping one closes its connection; calls in flight still settle', async () => {
    const r = await runGc(
      `${prelude}
      const { command } = require(${JSON.stringify(path.join(__dirname, 'helpers/redis.js'))})
      const clients = async () => Number(/connected_clients:(\\d+)/.exec(String(await command(+process.env.PORT, 'INFO', 'clients')))[1])
      // Each instance lives only in its own function, so no stale reference of this one keeps it.
      async function useAndQuit(i) {
        const s = new SpotsSessions(process.env.URL)
        registry.register(s, i)
        await s.create({ app: 'gc', ownerId: 'o' })
        await s.quit()
      }
      async function useAndDrop(i) {
        const s = new SpotsSessions(process.env.URL)
        registry.register(s, i)
        await s.get({ app: 'gc', token: 't' })
      }
      function startAndDrop() {
        const s = new SpotsSessions(process.env.URL)
        registry.register(s, -1)
        return s.create({ app: 'gc', ownerId: 'dropped' })
      }
      ;(async () => {
        // The first instance starts the shared runtime (its epoll and wake-up fds): not a leak.
        await useAndQuit(-2)
        await settle()
        const before = { clients: await clients(), fds: fds() }
        for (let i = 0; i < 30; i++) await useAndQuit(i)
        for (let i = 0; i < 30; i++) await useAndDrop(i)
        // Dropped with a call in flight: the call still settles.
        const inFlight = startAndDrop()
        for (let k = 0; k < 5; k++) global.gc()
        const token = await inFlight
        let after
        for (let k = 0; k < 200; k++) {
          await settle()
          after = { clients: await clients(), fds: fds() }
          if (collected === 62 && after.clients === before.clients) break
        }
        console.log(JSON.stringify({ collected, before, after, token: typeof token }))
      })()
    `,
      { URL: server.url, PORT: String(server.port) },
    )
    assert.equal(r.token, 'string', JSON.stringify(r))
    assert.equal(r.collected, 62, JSON.stringify(r))
    assert.equal(r.after.clients, r.before.clients)
    assert.ok(r.after.fds - r.before.fds <= 2, `fds ${r.before.fds} -> ${r.after.fds}`)
  })
})
