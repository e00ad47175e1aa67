'use strict'

// worker_threads: several workers with their own instances at once; a worker terminated with
// calls in flight; a worker that never calls quit() exits by itself. The worker script is
// __test__/fixtures/sessions-worker.js.

const { test, before, after } = require('node:test')
const assert = require('node:assert/strict')
const path = require('node:path')
const { Worker } = require('node:worker_threads')
const { startRedis, sleep } = require('./helpers/redis.js')
const { SpotsSessions } = require('..')

const WORKER = path.join(__dirname, 'fixtures', 'sessions-worker.js')

let server
let sessions

before(async () => {
  server = await startRedis()
  sessions = new SpotsSessions({ connectionString: server.url, commandTimeout: 20_000 })
})

after(async () => {
  await sessions.quit()
  await server.stop()
})

/**
 * Starts a worker and collects its messages. `exited` resolves to its exit code; `message(type)`
 * to its next message of that type (rejecting on an 'error' message or an early exit).
 */
function spawn(workerData) {
  const worker = new Worker(WORKER, { workerData })
  const messages = []
  const waiters = []
  let exitCode
  let failure
  const exited = new Promise((resolve) => {
    worker.on('exit', (code) => {
      exitCode = code
      resolve(code)
      for (const w of waiters.splice(0))
        w.reject(new Error(`worker exited (code ${code}) before sending '${w.type}'${failure ? `: ${failure}` : ''}`))
    })
  })
  worker.on('error', (err) => {
    failure = err.stack
  })
  worker.on('message', (msg) => {
    messages.push(msg)
    if (msg.type === 'error') failure = `${msg.code}: ${msg.message}`
    for (const w of waiters.filter((w) => w.type === msg.type || msg.type === 'error')) {
      waiters.splice(waiters.indexOf(w), 1)
      if (msg.type === 'error') w.reject(new Error(`worker reported an error: ${msg.code}: ${msg.message}`))
      else w.resolve(msg)
    }
  })
  return {
    worker,
    messages,
    exited,
    get exitCode() {
      return exitCode
    },
    message(type) {
      const seen = messages.find((m) => m.type === type)
      if (seen) return Promise.resolve(seen)
      if (exitCode !== undefined) return Promise.reject(new Error(`worker already exited (code ${exitCode})`))
      return new Promise((resolve, reject) => waiters.push({ type, resolve, reject }))
    },
  }
}

/** Rejects after `ms` (a guard against hanging forever, not a timing assertion). */
function guard(promise, ms, what) {
  let timer
  return Promise.race([
    promise,
    new Promise((resolve, reject) => {
      timer = setTimeout(() => reject(new Error(`${what}: nothing after ${ms} ms`)), ms)
    }),
  ]).finally(() => clearTimeout(timer))
}

const dataOf = (i, id) => ({ i, w: id, s: 'é\ud800:*', nested: { n: [i, null, true] } })

/** Checks one 'mixed' worker's report exactly: every outcome is determined by the script. */
function checkMixed(report, id, n) {
  const { results, tokens } = report
  const where = (r) => `worker ${id} phase ${r.phase} ${r.op} #${r.i}`
  for (const r of results) {
    assert.ok(r.ok, `${where(r)} rejected: ${r.error && `${r.error.code} ${r.error.message}`}`)
  }
  const by = (phase, op) => results.filter((r) => r.phase === phase && r.op === op)
  // Phase 1: n distinct tokens.
  assert.equal(by(1, 'create').length, n)
  assert.ok(
    tokens.every((t) => typeof t === 'string' && t.length === 172),
    'every create resolved to a 172-char token',
  )
  assert.equal(new Set(tokens).size, n, 'tokens are distinct')
  // Phase 2.
  for (const r of by(2, 'get'))
    assert.deepStrictEqual(r.value, { ownerId: `o${r.i % 10}`, data: dataOf(r.i, id) }, where(r))
  for (const op of ['update', 'refresh', 'kill']) for (const r of by(2, op)) assert.equal(r.value, true, where(r))
  for (const r of by(2, 'get-unknown')) assert.equal(r.value, undefined, where(r))
  assert.equal(
    by(2, 'get').length +
      by(2, 'update').length +
      by(2, 'refresh').length +
      by(2, 'get-unknown').length +
      by(2, 'kill').length,
    n,
  )
  // Phase 3: the merged state.
  const phase3 = by(3, 'get')
  assert.equal(phase3.length, n)
  for (const r of phase3) {
    const g = r.i % 10
    if (g === 9) {
      assert.equal(r.value, undefined, `${where(r)}: killed`)
    } else if (g >= 3 && g <= 5) {
      const { s, ...rest } = dataOf(r.i, id)
      assert.deepStrictEqual(r.value, { ownerId: `o${g}`, data: { ...rest, u: r.i } }, `${where(r)}: updated`)
    } else {
      assert.deepStrictEqual(r.value, { ownerId: `o${g}`, data: dataOf(r.i, id) }, where(r))
    }
  }
  // Phase 4/5: killAll of o0…o4 found sessions, and they are gone.
  const killAll = by(4, 'killAll')
  assert.equal(killAll.length, 5)
  for (const r of killAll) assert.equal(r.value, true, where(r))
  const phase5 = by(5, 'get')
  assert.equal(phase5.length, tokens.filter((_, i) => i % 10 <= 4).length)
  for (const r of phase5) assert.equal(r.value, undefined, `${where(r)}: killed by killAll`)
  assert.deepEqual(report.quit, { ok: true, value: 'OK' })
}

test(
  '(a) four workers at once, each with its own instance, ~530 mixed calls each, all correct',
  { timeout: 60_000 },
  async (t) => {
    const n = 150
    const workers = [1, 2, 3, 4].map((id) => ({ id, w: spawn({ url: server.url, id, mode: 'mixed', sessions: n }) }))
    const reports = await guard(
      Promise.all(workers.map(({ w }) => w.message('results'))),
      45_000,
      "waiting for the workers' results",
    )
    const codes = await guard(Promise.all(workers.map(({ w }) => w.exited)), 15_000, 'waiting for the workers to exit')
    assert.deepEqual(codes, [0, 0, 0, 0], 'every worker exited with code 0')
    for (let k = 0; k < workers.length; k++) {
      checkMixed(reports[k], workers[k].id, n)
      t.diagnostic(`worker ${workers[k].id}: ${reports[k].results.length} calls, all as expected`)
    }
    // No token was handed out twice across the workers.
    const all = reports.flatMap((r) => r.tokens)
    assert.equal(new Set(all).size, all.length, 'tokens are distinct across workers')
    // The parent's own instance sees exactly what the workers left behind.
    for (const { app, tokens, id } of reports) {
      for (let i = 0; i < tokens.length; i++) {
        const g = i % 10
        const got = await sessions.get({ app, token: tokens[i] })
        if (g <= 4 || g === 9) {
          assert.equal(got, undefined, `worker ${id} #${i} is gone`)
        } else if (g === 5) {
          const { s, ...rest } = dataOf(i, id)
          assert.deepStrictEqual(
            got,
            { ownerId: `o${g}`, data: { ...rest, u: i } },
            `worker ${id} #${i} seen from the parent`,
          )
        } else {
          assert.deepStrictEqual(
            got,
            { ownerId: `o${g}`, data: dataOf(i, id) },
            `worker ${id} #${i} seen from the parent`,
          )
        }
      }
      for (const o of [5, 6, 7, 8, 9]) {
        // o9's sessions were all killed one by one in phase 2.
        assert.equal(await sessions.killAll({ app, ownerId: `o${o}` }), o !== 9, `killAll o${o} from the parent`)
      }
    }
  },
)

/** Clients connected to our server right now (CLIENT LIST), minus the one asking. */
async function clientCount() {
  const list = String(await server.command('CLIENT', 'LIST'))
  return list.split('\n').filter((l) => l.startsWith('id=')).length - 1
}

test(
  '(b) terminating a worker with ~200 calls in flight does not crash the process; new workers and the parent still work',
  { timeout: 60_000 },
  async (t) => {
    const before = await clientCount()
    // Round 0: the calls are provably in flight on the server (CLIENT PAUSE holds every reply).
    // Later rounds: terminate at different moments while replies are streaming back.
    const delays = ['paused', 0, 0, 1, 2, 5, 10, 20]
    for (let round = 0; round < delays.length; round++) {
      const delay = delays[round]
      const w = spawn({ url: server.url, id: `t${round}`, mode: 'flood', count: 200 })
      const ready = await guard(w.message('ready'), 20_000, `round ${round}: worker ready`)
      assert.equal(typeof ready.token, 'string')
      if (delay === 'paused') await server.command('CLIENT', 'PAUSE', '1500', 'ALL')
      w.worker.postMessage('go')
      await guard(w.message('issued'), 20_000, `round ${round}: calls issued`)
      if (typeof delay === 'number' && delay > 0) await sleep(delay)
      const code = await guard(w.worker.terminate(), 20_000, `round ${round}: terminate()`)
      assert.equal(code, 1, `round ${round}: terminate() resolves with exit code 1`)
    }
    // The pause ends by itself; wait for the server to answer again.
    assert.equal(String(await server.command('PING')), 'PONG')
    t.diagnostic(
      `clients connected before: ${before}, after ${delays.length} terminated workers: ${await clientCount()}`,
    )

    // A fresh worker does a full mixed run correctly.
    const fresh = spawn({ url: server.url, id: 'fresh', mode: 'mixed', sessions: 50 })
    const report = await guard(fresh.message('results'), 30_000, 'fresh worker results')
    assert.equal(await guard(fresh.exited, 15_000, 'fresh worker exit'), 0)
    checkMixed(report, 'fresh', 50)

    // The parent's own instance still works, including on what the terminated workers wrote.
    const token = await sessions.create({ app: 'parent', ownerId: 'p', data: { alive: true }, duration: 60 })
    assert.deepStrictEqual(await sessions.get({ app: 'parent', token }), { ownerId: 'p', data: { alive: true } })
    assert.equal(await sessions.update({ app: 'parent', token, data: { more: 1 } }), true)
    assert.deepStrictEqual(await sessions.get({ app: 'parent', token }), {
      ownerId: 'p',
      data: { alive: true, more: 1 },
    })
    assert.equal(await sessions.kill({ app: 'parent', token }), true)
    for (let round = 0; round < delays.length; round++) {
      assert.equal(
        await sessions.killAll({ app: `flood:t${round}`, ownerId: 'o' }),
        true,
        `round ${round}: the worker's first session is there`,
      )
    }
  },
)

test(
  '(c) a worker that never calls quit() exits by itself with code 0 once its calls have settled',
  { timeout: 60_000 },
  async () => {
    const w = spawn({ url: server.url, id: 'nq', mode: 'noquit' })
    const code = await guard(w.exited, 30_000, 'the worker did not exit by itself').catch(async (err) => {
      await w.worker.terminate()
      throw err
    })
    assert.equal(code, 0, 'exit code 0')
    const settled = w.messages.find((m) => m.type === 'settled')
    assert.ok(
      settled,
      `the worker reported its 50 unawaited calls before exiting: ${JSON.stringify(w.messages).slice(0, 300)}`,
    )
    assert.deepStrictEqual(settled.got, { ownerId: 'o', data: { a: 1 } })
    assert.equal(settled.tokens.length, 50)
    for (const token of settled.tokens) {
      assert.deepEqual(
        (await sessions.get({ app: 'noquit:nq', token }))?.ownerId,
        'o',
        'an unawaited create of the exited worker is stored',
      )
    }
    assert.equal(await sessions.killAll({ app: 'noquit:nq', ownerId: 'o' }), true)
  },
)

test(
  '(d) once a worker that never called quit() has exited, its Redis connection is closed',
  { timeout: 60_000 },
  async (t) => {
    await sessions.get({ app: 'd', token: 'none' }) // the parent's own connection is up
    const baseline = await clientCount()
    const w = spawn({ url: server.url, id: 'leak', mode: 'noquit' })
    assert.equal(await guard(w.exited, 30_000, 'the worker did not exit by itself'), 0)
    assert.ok(
      w.messages.some((m) => m.type === 'settled'),
      'the worker did its calls',
    )
    // Its instance is gone with its thread: nothing is left to quit() it, so the library must
    // close the connection itself. Poll for up to 10 s (a guard, not a timing requirement).
    let count = await clientCount()
    for (let i = 0; i < 100 && count > baseline; i++) {
      await sleep(100)
      count = await clientCount()
    }
    t.diagnostic(`clients: ${baseline} before the worker, ${count} after it exited`)
    assert.equal(
      count,
      baseline,
      'the exited worker left a Redis connection open (it stays, and reconnects, for the life of the process)',
    )
    await sessions.killAll({ app: 'noquit:leak', ownerId: 'o' })
  },
)
