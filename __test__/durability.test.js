'use strict'

// Nothing is lost across a Redis restart. 256 calls stay in flight for ~3 s (mostly create,
// plus get and update of sessions whose create already resolved) while the server, running
// with appendonly yes / appendfsync always, is killed (SIGKILL, then SIGTERM in the second
// scenario) and restarted ~300 ms later on the same port and directory, so that it reloads its
// AOF. Afterwards: every call has settled; every rejection is a coded Error; every create that
// resolved is readable with its owner and data, every update that resolved true is in it; and
// every session is still reachable from its owner's index.

const { test } = require('node:test')
const assert = require('node:assert/strict')
const fs = require('node:fs')
const { startRedis, sleep } = require('./helpers/redis.js')
const { SpotsSessions } = require('..')

const IN_FLIGHT = 256
const LOAD_MS = 3000
const STOP_AT_MS = 1500
const DOWN_MS = 300
const OWNERS = 40
const REDIS_ARGS = ['--appendfsync', 'always']
const DOCUMENTED_CODES = new Set([
  'ERR_REDIS_TIMEOUT',
  'ERR_REDIS_CONNECTION',
  'ERR_REDIS_OFFLINE',
  'ERR_REDIS',
  'ERR_CLOSED',
])

async function scenario(t, { hard, options = {}, app }) {
  let server = await startRedis({ appendonly: true, args: REDIS_ARGS })
  const { port, dir } = server
  const sessions = new SpotsSessions({ connectionString: server.url, commandTimeout: 10_000, ...options })
  try {
    assert.equal(await sessions.get({ app, token: 'warm-up' }), undefined) // connected

    const created = [] // { token, ownerId, data, updated: Set, maybe: Set }
    const calls = [] // every promise, with its settled state
    const counts = {}
    const count = (key) => (counts[key] = (counts[key] ?? 0) + 1)
    const problems = [] // wrong results seen while the load ran
    let inFlight = 0
    let seq = 0
    const t0 = Date.now()

    // Stop the server in the middle of the load and bring it back on the same port and dir.
    let atStop = []
    let backAt = Infinity
    const restart = (async () => {
      await sleep(STOP_AT_MS)
      await server.stop({ hard })
      atStop = calls.filter((c) => !c.settled) // in flight once the process is gone
      await sleep(DOWN_MS)
      // Taken before the start: the client may reconnect and settle its re-sent calls before
      // startRedis's own readiness poll sees the server, and nothing settles while none runs.
      backAt = Date.now()
      server = await startRedis({ port, dir, appendonly: true, args: REDIS_ARGS })
    })()

    function launch() {
      while (inFlight < IN_FLIGHT && Date.now() - t0 < LOAD_MS) {
        const i = seq++
        const roll = i % 10
        let kind
        let promise
        let target
        if (created.length > 0 && roll === 7) {
          kind = 'get'
          target = created[(i * 7919) % created.length]
          promise = sessions.get({ app, token: target.token })
        } else if (created.length > 0 && roll >= 8) {
          kind = 'update'
          target = created[(i * 104729) % created.length]
          promise = sessions.update({ app, token: target.token, data: { [`u${i}`]: i } })
        } else {
          kind = 'create'
          target = {
            ownerId: `owner-${i % OWNERS}`,
            data: { i, who: `owner-${i % OWNERS}`, text: 'é\ud800'.repeat(i % 5) },
          }
          promise = sessions.create({ app, ownerId: target.ownerId, data: target.data, duration: 600 })
        }
        const call = { kind, i, settled: false, rejected: false, settledAt: 0 }
        calls.push(call)
        inFlight++
        call.promise = promise
          .then(
            (value) => {
              count(`${kind} resolved`)
              if (kind === 'create') {
                if (typeof value !== 'string' || value.length === 0)
                  problems.push(`create #${i} resolved ${JSON.stringify(value)}`)
                else
                  created.push({
                    token: value,
                    ownerId: target.ownerId,
                    data: target.data,
                    updated: new Set(),
                    maybe: new Set(),
                  })
              } else if (kind === 'get') {
                if (!value || value.ownerId !== target.ownerId || value.data.i !== target.data.i) {
                  problems.push(`get #${i} of a created session resolved ${JSON.stringify(value)}`)
                }
              } else if (value === true) {
                target.updated.add(`u${i}`)
              } else {
                problems.push(`update #${i} of a created session resolved ${JSON.stringify(value)}`)
              }
            },
            (err) => {
              call.rejected = true
              count(`${kind} rejected`)
              count(`code ${err && err.code}`)
              if (err && err.code === 'ERR_REDIS') count(`message ${String(err.message).slice(0, 60)}`)
              if (!(err instanceof Error)) problems.push(`${kind} #${i} rejected with a non-Error ${String(err)}`)
              else if (typeof err.code !== 'string' || err.code.length === 0)
                problems.push(`${kind} #${i} rejected without a code: ${err.message}`)
              else if (!DOCUMENTED_CODES.has(err.code))
                problems.push(`${kind} #${i} rejected with ${err.code}: ${err.message}`)
              // A rejected update may or may not have been applied.
              if (kind === 'update') target.maybe.add(`u${i}`)
            },
          )
          .finally(() => {
            call.settled = true
            call.settledAt = Date.now()
            inFlight--
            launch()
          })
      }
    }
    launch()

    await restart
    // The load window closes; after it no call is started (launch() checks the clock).
    await sleep(Math.max(0, LOAD_MS - (Date.now() - t0)) + 20)
    // Every call settles: wait for all of them, with a generous guard against hanging.
    let timer
    const outcome = await Promise.race([
      Promise.all(calls.map((c) => c.promise)).then(() => 'settled'),
      new Promise((resolve) => {
        timer = setTimeout(() => resolve('timeout'), 30_000)
      }),
    ])
    clearTimeout(timer)
    const pending = calls.filter((c) => !c.settled)
    t.diagnostic(`${calls.length} calls: ${JSON.stringify(counts)}`)
    assert.equal(
      outcome,
      'settled',
      `${pending.length} calls still pending 30 s after the load: ${pending
        .slice(0, 5)
        .map((c) => `${c.kind} #${c.i}`)
        .join(', ')}`,
    )
    assert.deepEqual(problems, [], 'wrong results during the load')
    // The outage really hit calls in flight: with re-sends, some calls that were in flight when
    // the server was stopped settled only once it was back; without, some rejected.
    const rejected = calls.filter((c) => c.rejected)
    const waited = atStop.filter((c) => c.settledAt >= backAt)
    t.diagnostic(
      `in flight when the server had exited: ${atStop.length}; of those, settled after it was back: ${waited.length}, rejected: ${atStop.filter((c) => c.rejected).length}`,
    )
    assert.ok(atStop.length > 0, 'test setup: calls were in flight when the server had exited')
    if (options.maxRetriesPerRequest === 0)
      assert.ok(rejected.length > 0, 'with maxRetriesPerRequest 0, calls cut off by the outage reject')
    else
      assert.ok(
        waited.length > 0,
        'no call in flight at the stop waited for the restart: the scenario did not exercise the outage',
      )
    assert.ok(created.length > 0)

    // Every create that resolved is there, with its owner and data; every update that
    // resolved true is in it; a rejected update may or may not be.
    let lost = 0
    const readBack = []
    for (let k = 0; k < created.length; k += 512) {
      readBack.push(...(await Promise.all(created.slice(k, k + 512).map((s) => sessions.get({ app, token: s.token })))))
    }
    for (let k = 0; k < created.length; k++) {
      const s = created[k]
      const got = readBack[k]
      if (got === undefined) {
        lost++
        continue
      }
      assert.equal(got.ownerId, s.ownerId)
      const { i, who, text, ...updates } = got.data
      assert.deepStrictEqual({ i, who, text }, s.data, `session #${s.data.i}: data`)
      for (const field of s.updated)
        assert.ok(field in updates, `session #${s.data.i}: the resolved update ${field} was lost`)
      for (const field of Object.keys(updates)) {
        assert.ok(
          s.updated.has(field) || s.maybe.has(field),
          `session #${s.data.i}: field ${field} was never written to it`,
        )
      }
    }
    t.diagnostic(`${created.length} resolved creates read back after the restart, ${lost} missing`)
    assert.equal(lost, 0, `${lost} of ${created.length} sessions whose create resolved are gone`)

    // Every session in Redis is reachable from its owner's index: killAll of every owner
    // leaves no key at all (not even sessions of creates that rejected or were retried).
    let killed = 0
    for (let o = 0; o < OWNERS; o++) if (await sessions.killAll({ app, ownerId: `owner-${o}` })) killed++
    for (let k = 0; k < created.length; k += 512) {
      const left = await Promise.all(created.slice(k, k + 512).map((s) => sessions.get({ app, token: s.token })))
      assert.deepEqual(
        left.filter((x) => x !== undefined),
        [],
        'killAll missed a session',
      )
    }
    // Every key but killAll's short-lived receipts (README, storage layout).
    const keys = await server.command('EVAL', "return #redis.call('KEYS', '*') - #redis.call('KEYS', 'R1:*')", '0')
    t.diagnostic(`killAll found sessions for ${killed} of ${OWNERS} owners; keys left: ${keys}`)
    assert.equal(keys, 0, 'sessions outside their owner index survived killAll')
  } finally {
    await sessions.quit()
    await server.stop()
    fs.rmSync(dir, { recursive: true, force: true })
  }
}

test('hard kill (SIGKILL) and restart from the AOF: nothing that resolved is lost', { timeout: 60_000 }, (t) =>
  scenario(t, { hard: true, app: 'durable-kill' }),
)

test('graceful stop (SIGTERM) and restart from the AOF: nothing that resolved is lost', { timeout: 60_000 }, (t) =>
  scenario(t, { hard: false, app: 'durable-term' }),
)

// The same hard kill, with calls in flight not re-sent (maxRetriesPerRequest: 0), so that the
// outage produces rejections: each must be a coded Error, and a create that rejected after
// Redis had stored it must still be reachable from its owner's index.
test(
  'hard kill with maxRetriesPerRequest 0: rejections are coded Errors, nothing that resolved is lost',
  { timeout: 60_000 },
  (t) => scenario(t, { hard: true, app: 'durable-noretry', options: { maxRetriesPerRequest: 0 } }),
)
