'use strict'

// Issue 22, on a single server: the `spots-sessions:call` TracingChannel with diagnostics_channel
// alone, the connection events of a real redis-server that stops and comes back, and the
// OpenTelemetry instrumentation with the real SDK of the API 1.9 line (the root's dev
// dependencies; the 1.10 line: observability-otel-1.10.test.js; Sentinel and Cluster:
// observability-topologies.test.js). Every server is the suite's own, on a free loopback port.

const { describe, test, before, after } = require('node:test')
const assert = require('node:assert/strict')
const diagnostics = require('node:diagnostics_channel')
const { AsyncLocalStorage } = require('node:async_hooks')
const { startRedis } = require('./helpers/redis.js')
const { record, connectionEvents } = require('./helpers/observe.js')
const { defineOtelSuite, METHODS } = require('./shared/otel-suite.js')
const { SpotsSessions } = require('..')

const calls = diagnostics.tracingChannel('spots-sessions:call')

describe('spots-sessions:call with diagnostics_channel alone', () => {
  let redis
  let sessions

  before(async () => {
    redis = await startRedis()
    sessions = new SpotsSessions(`${redis.url}/3`)
  })
  after(async () => {
    await sessions?.quit()
    await redis?.stop()
  })

  test('tracePromise order: start and end synchronously, asyncStart and asyncEnd on settling; the context names the call and the server', async () => {
    const r = record()
    let promise
    try {
      promise = sessions.create({ app: 'dc', ownerId: 'o', data: { x: 1 }, duration: 60 })
      // start and end ran inside the call, before it returned.
      assert.deepEqual(
        r.events.map(([e]) => e),
        ['start', 'end'],
      )
      await promise
    } finally {
      r.stop()
    }
    assert.deepEqual(
      r.events.map(([e]) => e),
      ['start', 'end', 'asyncStart', 'asyncEnd'],
    )
    const context = r.events[0][1]
    for (const [, c] of r.events) assert.equal(c, context, 'one context object per call')
    assert.deepEqual(context, {
      operation: 'create',
      app: 'dc',
      serverAddress: '127.0.0.1',
      serverPort: redis.port,
      database: 3,
      topology: 'single',
    })
  })

  test('every method publishes, under its own name', async () => {
    const r = record()
    try {
      const app = 'dc-all'
      const token = await sessions.create({ app, ownerId: 'o', duration: 60 })
      await sessions.get({ app, token })
      await sessions.refresh({ app, token, duration: 60 })
      await sessions.update({ app, token, data: { y: 2 } })
      const rotated = await sessions.rotate({ app, token })
      await sessions.list({ app, ownerId: 'o' })
      await sessions.count({ app, ownerId: 'o' })
      await sessions.kill({ app, sessionId: SpotsSessions.sessionIdOf(rotated) })
      await sessions.killAll({ app, ownerId: 'o' })
    } finally {
      r.stop()
    }
    const started = r.events.filter(([e]) => e === 'start').map(([, c]) => c.operation)
    assert.deepEqual(started.sort(), [...METHODS].sort())
    assert.equal(r.events.filter(([e]) => e === 'asyncEnd').length, METHODS.length)
  })

  test('a rejection publishes error with the SpotsSessionsError, then asyncStart and asyncEnd', async () => {
    const r = record()
    let rejection
    try {
      rejection = await sessions.kill({ app: 'dc', token: 42 }).catch((err) => err)
    } finally {
      r.stop()
    }
    assert.equal(rejection.code, 'ERR_INVALID_ARG_TYPE')
    assert.deepEqual(
      r.events.map(([e]) => e),
      ['start', 'end', 'error', 'asyncStart', 'asyncEnd'],
    )
    assert.equal(r.events[2][1].error, rejection, 'the error event carries the very error the call rejects with')
    // Not an options object at all: still traced, with what could be read.
    const r2 = record()
    try {
      await assert.rejects(sessions.get(null), { code: 'ERR_INVALID_ARG_TYPE' })
    } finally {
      r2.stop()
    }
    assert.equal(r2.events[0][1].operation, 'get')
    assert.equal(r2.events[0][1].app, undefined)
  })

  test("start runs in the caller's async context, and bindStore's store reaches asyncEnd", async () => {
    const caller = new AsyncLocalStorage()
    const bound = new AsyncLocalStorage()
    calls.start.bindStore(bound, (context) => ({ op: context.operation }))
    const inStart = []
    const inEnd = []
    const onStart = () => inStart.push(caller.getStore())
    // As with tracePromise, the settling continuation runs in the store bound at start.
    const onEnd = () => inEnd.push(bound.getStore())
    calls.start.subscribe(onStart)
    calls.asyncEnd.subscribe(onEnd)
    try {
      await caller.run('request-17', () => sessions.count({ app: 'dc', ownerId: 'o' }))
      await caller.run('request-18', () => sessions.get({ app: 'dc', token: 'none' }))
    } finally {
      calls.start.unsubscribe(onStart)
      calls.asyncEnd.unsubscribe(onEnd)
      calls.start.unbindStore(bound)
    }
    assert.deepEqual(inStart, ['request-17', 'request-18'])
    assert.deepEqual(inEnd, [{ op: 'count' }, { op: 'get' }])
  })

  test('nobody subscribed: no channel has subscribers, and calls still settle as before', async () => {
    for (const name of ['start', 'end', 'asyncStart', 'asyncEnd', 'error']) {
      assert.equal(calls[name].hasSubscribers, false, name)
    }
    const token = await sessions.create({ app: 'dc-off', ownerId: 'o', duration: 60 })
    assert.deepEqual(await sessions.get({ app: 'dc-off', token }), { ownerId: 'o', data: {} })
  })
})

describe('spots-sessions:connection:* with a real redis-server', () => {
  test('connect and ready; a stopped server: close, reconnecting and errors; restarted: ready again, and the same instance works', async () => {
    const redis = await startRedis()
    const events = connectionEvents()
    const sessions = new SpotsSessions(redis.url)
    try {
      const ready = await events.waitFor('ready')
      const connect = events.events.find((e) => e.event === 'connect')
      assert.deepEqual(connect, { event: 'connect', serverAddress: '127.0.0.1', serverPort: redis.port, attempt: 1 })
      assert.deepEqual(ready, { event: 'ready', serverAddress: '127.0.0.1', serverPort: redis.port })
      const token = await sessions.create({ app: 'ev', ownerId: 'o', duration: 600 })

      const mark = events.events.length
      await redis.stop()
      const close = await events.waitFor('close', mark)
      assert.equal(close.serverPort, redis.port)
      assert.match(close.reason, /\S/, 'says why')
      const reconnecting = await events.waitFor('reconnecting', mark)
      assert.equal(reconnecting.serverPort, redis.port)
      const error = await events.waitFor('error', mark)
      assert.equal(error.code, 'ERR_REDIS_CONNECTION')
      assert.match(error.reason, /refused/i)

      const back = events.events.length
      const restarted = await startRedis({ port: redis.port, dir: redis.dir })
      try {
        const readyAgain = await events.waitFor('ready', back)
        assert.equal(readyAgain.serverPort, redis.port)
        // No persistence: the session is gone, but the instance works again.
        assert.equal(await sessions.get({ app: 'ev', token }), undefined)
        const fresh = await sessions.create({ app: 'ev', ownerId: 'o', duration: 60 })
        assert.ok(fresh)
        const closing = events.events.length
        await sessions.quit()
        const closed = await events.waitFor('close', closing)
        assert.match(closed.reason, /quit/)
      } finally {
        await restarted.stop()
      }
      for (const e of events.events) {
        assert.ok(['connect', 'ready', 'error', 'close', 'reconnecting'].includes(e.event), e.event)
      }
    } finally {
      events.stop()
      sessions.disconnect()
      await redis.stop()
    }
  })

  test('a wrong password: error with ERR_REDIS_AUTH, and never the password', async () => {
    const redis = await startRedis()
    const password = 'wrong-Hy62-secret'
    await redis.command('ACL', 'SETUSER', 'ev-user', 'on', '>right-password', '~*', '+@all')
    const events = connectionEvents()
    const sessions = new SpotsSessions(`redis://ev-user:${password}@127.0.0.1:${redis.port}`)
    try {
      const error = await events.waitFor('error')
      assert.equal(error.code, 'ERR_REDIS_AUTH')
      assert.equal(JSON.stringify(events.events).includes(password), false)
    } finally {
      events.stop()
      sessions.disconnect()
      await redis.stop()
    }
  })
})

defineOtelSuite({
  label: 'API 1.9 (SDK 2.x, @opentelemetry/instrumentation 0.2xx)',
  api: require('@opentelemetry/api'),
  TracerProvider: require('@opentelemetry/sdk-trace-base').BasicTracerProvider,
  InMemorySpanExporter: require('@opentelemetry/sdk-trace-base').InMemorySpanExporter,
  spanProcessor: (exporter) => new (require('@opentelemetry/sdk-trace-base').SimpleSpanProcessor)(exporter),
  MeterProvider: require('@opentelemetry/sdk-metrics').MeterProvider,
  MetricReader: require('@opentelemetry/sdk-metrics').MetricReader,
  ContextManager: require('@opentelemetry/context-async-hooks').AsyncLocalStorageContextManager,
  registerInstrumentations: require('@opentelemetry/instrumentation').registerInstrumentations,
  SpotsSessionsInstrumentation: require('@spots-tech/sessions/otel').SpotsSessionsInstrumentation,
  SpotsSessions,
})
