'use strict'

// The OpenTelemetry tests of `@spots-tech/sessions/otel`, run once per OpenTelemetry JS line with
// that line's real SDK: observability.test.js (API 1.9: SDK 2.x, instrumentation 0.2xx, the
// root's dev dependencies) and observability-otel-1.10.test.js (API 1.10: SDK 3.x,
// instrumentation 0.30x, installed in __test__/otel-1.10/). Each test starts from fresh
// in-memory exporters; the suite's redis-server is its own, on a free loopback port.

const { describe, test, before, after, beforeEach } = require('node:test')
const assert = require('node:assert/strict')
const diagnostics = require('node:diagnostics_channel')
const { startRedis } = require('../helpers/redis.js')

const METHODS = ['create', 'get', 'refresh', 'update', 'kill', 'killAll', 'list', 'count', 'rotate']

/**
 * `otel`: `{ label, api, TracerProvider, InMemorySpanExporter, spanProcessor(exporter),
 * MeterProvider, MetricReader, ContextManager, registerInstrumentations,
 * SpotsSessionsInstrumentation, SpotsSessions }`, all from the line under test (SpotsSessions and
 * the instrumentation from this package). `spanProcessor` makes the line's SimpleSpanProcessor
 * (SDK 2 takes the exporter, SDK 3 `{ exporter }`).
 */
function defineOtelSuite(otel) {
  const { api, SpotsSessionsInstrumentation, SpotsSessions } = otel

  describe(`OpenTelemetry ${otel.label}`, () => {
    let redis
    let sessions
    let exporter
    let reader
    let tracerProvider
    let meterProvider
    let instrumentation

    before(async () => {
      redis = await startRedis()
      api.context.setGlobalContextManager(new otel.ContextManager().enable())
      sessions = new SpotsSessions(`${redis.url}/2`)
      // Connected before any test counts spans.
      await sessions.count({ app: 'warm-up', ownerId: 'x' })
    })

    after(async () => {
      instrumentation?.disable()
      await sessions?.quit()
      await redis?.stop()
      api.context.disable()
    })

    beforeEach(() => {
      instrumentation?.disable()
      exporter = new otel.InMemorySpanExporter()
      tracerProvider = new otel.TracerProvider({ spanProcessors: [otel.spanProcessor(exporter)] })
      reader = new (class extends otel.MetricReader {
        async onForceFlush() {}
        async onShutdown() {}
      })()
      meterProvider = new otel.MeterProvider({ readers: [reader] })
      instrumentation = new SpotsSessionsInstrumentation()
      instrumentation.setTracerProvider(tracerProvider)
      instrumentation.setMeterProvider(meterProvider)
    })

    // SDK 3 exports ended spans asynchronously: flush first.
    async function spans() {
      await tracerProvider.forceFlush()
      return exporter.getFinishedSpans()
    }

    async function durationPoints() {
      const { resourceMetrics } = await reader.collect()
      const metrics = resourceMetrics.scopeMetrics.flatMap((s) => s.metrics)
      const histogram = metrics.find((m) => m.descriptor.name === 'db.client.operation.duration')
      return histogram === undefined ? { histogram, points: [] } : { histogram, points: histogram.dataPoints }
    }

    test('one CLIENT span per call, child of the active span across await, with the database attributes', async () => {
      const tracer = tracerProvider.getTracer('test')
      let parentContext
      const token = await tracer.startActiveSpan('login', async (parent) => {
        parentContext = parent.spanContext()
        const t = await sessions.create({ app: 'otel', ownerId: 'u1', data: { a: 1 }, duration: 60 })
        // After an await, still under `login`.
        await sessions.get({ app: 'otel', token: t })
        parent.end()
        return t
      })
      // Outside any span: a root span.
      await sessions.kill({ app: 'otel', token })
      const [create, get, login, kill] = await spans()
      assert.deepEqual(
        (await spans()).map((s) => s.name),
        ['create', 'get', 'login', 'kill'],
      )
      for (const span of [create, get]) {
        assert.equal(span.kind, api.SpanKind.CLIENT)
        assert.equal(span.spanContext().traceId, parentContext.traceId)
        assert.equal(parentSpanId(span), parentContext.spanId, `${span.name} is a child of login`)
      }
      assert.equal(login.name, 'login')
      assert.equal(parentSpanId(kill), undefined, 'a call outside any span is a root span')
      assert.notEqual(kill.spanContext().traceId, parentContext.traceId)
      assert.deepEqual(get.attributes, {
        'db.system.name': 'redis',
        'db.operation.name': 'get',
        'db.namespace': '2',
        'server.address': '127.0.0.1',
        'server.port': redis.port,
      })
      assert.equal(get.status.code, api.SpanStatusCode.UNSET)
      assert.equal(get.instrumentationScope?.name ?? get.instrumentationLibrary?.name, '@spots-tech/sessions')
    })

    test('every session method is traced under its name', async () => {
      const app = 'otel-all'
      const token = await sessions.create({ app, ownerId: 'u', data: {}, duration: 60 })
      await sessions.get({ app, token })
      await sessions.refresh({ app, token, duration: 60 })
      await sessions.update({ app, token, data: { b: 2 } })
      const rotated = await sessions.rotate({ app, token })
      await sessions.list({ app, ownerId: 'u' })
      await sessions.count({ app, ownerId: 'u' })
      await sessions.kill({ app, token: rotated })
      await sessions.killAll({ app, ownerId: 'u' })
      const names = (await spans()).map((s) => s.attributes['db.operation.name'])
      assert.deepEqual([...names].sort(), [...METHODS].sort())
      assert.deepEqual(
        (await spans()).map((s) => s.name),
        names,
      )
    })

    test('a failed call: status ERROR and error.type is the error code', async () => {
      await assert.rejects(sessions.refresh({ app: 'otel', token: 't', duration: 'soon' }), {
        code: 'ERR_INVALID_ARG_TYPE',
      })
      // A Redis-side failure: a closed instance.
      const closed = new SpotsSessions(redis.url)
      await closed.quit()
      await assert.rejects(closed.get({ app: 'otel', token: 't' }), { code: 'ERR_CLOSED' })
      const [bad, gone] = await spans()
      assert.equal(bad.status.code, api.SpanStatusCode.ERROR)
      assert.equal(bad.attributes['error.type'], 'ERR_INVALID_ARG_TYPE')
      assert.match(bad.status.message, /duration/)
      assert.equal(gone.status.code, api.SpanStatusCode.ERROR)
      assert.equal(gone.attributes['error.type'], 'ERR_CLOSED')
      const { points } = await durationPoints()
      assert.deepEqual(points.map((p) => p.attributes['error.type']).sort(), ['ERR_CLOSED', 'ERR_INVALID_ARG_TYPE'])
    })

    test('db.client.operation.duration: a histogram in seconds, one point per call, with the span attributes', async () => {
      const token = await sessions.create({ app: 'otel-m', ownerId: 'u', duration: 60 })
      for (let i = 0; i < 3; i++) await sessions.get({ app: 'otel-m', token })
      const { histogram, points } = await durationPoints()
      assert.ok(histogram, 'the histogram is recorded')
      assert.equal(histogram.descriptor.unit, 's')
      const get = points.find((p) => p.attributes['db.operation.name'] === 'get')
      const create = points.find((p) => p.attributes['db.operation.name'] === 'create')
      assert.equal(get.value.count, 3)
      assert.equal(create.value.count, 1)
      assert.deepEqual(get.attributes, {
        'db.system.name': 'redis',
        'db.operation.name': 'get',
        'db.namespace': '2',
        'server.address': '127.0.0.1',
        'server.port': redis.port,
      })
      // Seconds: the same intervals as the spans' own durations (hrtime [s, ns]) measure, so the
      // sums agree in order of magnitude (milliseconds would be 1000 times more).
      const spanSeconds = (await spans())
        .filter((s) => s.name === 'get')
        .reduce((sum, s) => sum + s.duration[0] + s.duration[1] / 1e9, 0)
      const ratio = get.value.sum / spanSeconds
      assert.ok(ratio > 0.1 && ratio < 10, `histogram ${get.value.sum} s vs spans ${spanSeconds} s`)
    })

    test('disable() stops spans and the histogram; enable() resumes; registerInstrumentations drives it', async () => {
      const calls = diagnostics.tracingChannel('spots-sessions:call')
      instrumentation.disable()
      assert.equal(hasSubscribers(calls), false, 'disabled: nobody subscribes, calls take the untraced path')
      await sessions.count({ app: 'otel-d', ownerId: 'u' })
      assert.equal((await spans()).length, 0)
      assert.equal((await durationPoints()).points.length, 0)
      instrumentation.enable()
      instrumentation.enable() // idempotent: one span per call still
      await sessions.count({ app: 'otel-d', ownerId: 'u' })
      assert.equal((await spans()).length, 1)
      instrumentation.disable()

      // With registerInstrumentations, as an application sets it up.
      const fresh = new SpotsSessionsInstrumentation({ enabled: false })
      const unregister = otel.registerInstrumentations({
        instrumentations: [fresh],
        tracerProvider,
        meterProvider,
      })
      await sessions.count({ app: 'otel-d', ownerId: 'u' })
      assert.equal((await spans()).length, 2)
      unregister()
      assert.equal(hasSubscribers(calls), false)
      await sessions.count({ app: 'otel-d', ownerId: 'u' })
      assert.equal((await spans()).length, 2)
      const { points } = await durationPoints()
      assert.equal(points.find((p) => p.attributes['db.operation.name'] === 'count').value.count, 2)
    })

    test('no token, ownerId, data or password in any span, metric point or channel context', async () => {
      const password = 'pw-Zq81-secret'
      await redis.command('ACL', 'SETUSER', 'otel-user', 'on', `>${password}`, '~*', '&*', '+@all')
      const secretive = new SpotsSessions(`redis://otel-user:${password}@127.0.0.1:${redis.port}`)
      const contexts = []
      const calls = diagnostics.tracingChannel('spots-sessions:call')
      const seen = (c) => contexts.push(c)
      const spy = { start: seen, end: seen, asyncStart: seen, asyncEnd: seen, error: seen }
      calls.subscribe(spy)
      const ownerId = 'owner-Vx93'
      const dataValue = 'data-Kp27'
      const secrets = [password, ownerId, dataValue]
      try {
        const token = await secretive.create({ app: 'otel-s', ownerId, data: { note: dataValue }, duration: 60 })
        secrets.push(token, SpotsSessions.sessionIdOf(token))
        await secretive.get({ app: 'otel-s', token, refresh: 60 })
        await secretive.update({ app: 'otel-s', token, data: { note: dataValue } })
        const rotated = await secretive.rotate({ app: 'otel-s', token })
        secrets.push(rotated)
        await secretive.list({ app: 'otel-s', ownerId })
        await secretive.count({ app: 'otel-s', ownerId })
        await secretive.kill({ app: 'otel-s', sessionId: SpotsSessions.sessionIdOf(rotated), ownerId })
        await secretive.killAll({ app: 'otel-s', ownerId, exceptToken: token })
        await assert.rejects(secretive.refresh({ app: 'otel-s', token, duration: -1 }))
      } finally {
        calls.unsubscribe(spy)
        await secretive.quit()
      }
      assert.ok((await spans()).length >= METHODS.length)
      const { points } = await durationPoints()
      const recorded = JSON.stringify({
        spans: (await spans()).map((s) => ({
          name: s.name,
          attributes: s.attributes,
          events: s.events,
          status: s.status,
          links: s.links,
          resource: s.resource?.attributes,
        })),
        points,
        contexts: contexts.map((c) => ({ ...c, error: c.error && { message: c.error.message, code: c.error.code } })),
      })
      for (const secret of secrets) {
        assert.equal(recorded.includes(secret), false, `recorded: ${secret.slice(0, 12)}…`)
      }
      for (const c of contexts)
        assert.equal('result' in c, false, 'no call result (a token, session data) in the context')
    })
  })
}

// The parent of a span: `parentSpanContext` (SDK 2+), `parentSpanId` before.
function parentSpanId(span) {
  return span.parentSpanContext?.spanId ?? span.parentSpanId
}

function hasSubscribers(tc) {
  return ['start', 'end', 'asyncStart', 'asyncEnd', 'error'].some((n) => tc[n].hasSubscribers)
}

module.exports = { defineOtelSuite, METHODS }
