'use strict'

// `@spots-tech/sessions/otel`: an OpenTelemetry instrumentation for the session methods, built on
// the `spots-sessions:call` TracingChannel that index.js publishes (no monkey-patching: it only
// subscribes). One CLIENT span per call, child of the context active where the call was made,
// with the database semantic conventions' attributes, and the `db.client.operation.duration`
// histogram. It implements the interface that `registerInstrumentations` from
// `@opentelemetry/instrumentation` drives (enable, disable, setTracerProvider, setMeterProvider,
// getConfig, setConfig) without depending on that package: `@opentelemetry/api` (an optional
// peer dependency, API 1.9 or 1.10) is all it loads, and only this entry loads it.

const diagnostics = require('node:diagnostics_channel')
const { performance } = require('node:perf_hooks')
const { version } = require('./package.json')

let api
try {
  api = require('@opentelemetry/api')
} catch (cause) {
  throw new Error(
    '@spots-tech/sessions/otel needs @opentelemetry/api (an optional peer dependency): npm install @opentelemetry/api',
    { cause },
  )
}

const NAME = '@spots-tech/sessions'

// The semantic conventions' recommended buckets for db.client.operation.duration, in seconds.
const DURATION_BUCKETS = [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10]

// `error.type`: the error's stable code (ERR_REDIS_TIMEOUT, …), else its class name.
function errorType(err) {
  if (err !== null && typeof err === 'object') {
    if (typeof err.code === 'string' && err.code !== '') return err.code
    if (typeof err.name === 'string' && err.name !== '') return err.name
  }
  return '_OTHER'
}

/**
 * Traces every `SpotsSessions` call (see otel.d.ts and the README's "Observability"). Enabled on
 * construction unless `{ enabled: false }`; `registerInstrumentations` then hands it the tracer
 * and meter providers, else the global ones are used.
 */
class SpotsSessionsInstrumentation {
  /** The instrumentation scope's name. */
  instrumentationName = NAME
  /** The instrumentation scope's version: this package's. */
  instrumentationVersion = version

  #config
  #tracer
  #duration
  #enabled = false
  // Each call's span and start time, by its channel context (never a property of the context,
  // which other subscribers read).
  #calls = new WeakMap()
  #channel = diagnostics.tracingChannel('spots-sessions:call')
  #handlers = {
    start: (context) => this.#start(context),
    end: (context) => {
      // tracePromise's synchronous-throw path publishes error and end, but no asyncEnd.
      if (context.error !== undefined) this.#finish(context)
    },
    asyncStart() {},
    asyncEnd: (context) => this.#finish(context),
    error() {},
  }

  /** @param {{ enabled?: boolean }} [config] */
  constructor(config = {}) {
    this.#config = { enabled: true, ...config }
    this.setTracerProvider(api.trace.getTracerProvider())
    this.setMeterProvider(api.metrics.getMeterProvider())
    if (this.#config.enabled) this.enable()
  }

  /** Starts tracing calls (subscribes to the channel). Idempotent. */
  enable() {
    if (this.#enabled) return
    this.#enabled = true
    this.#channel.subscribe(this.#handlers)
  }

  /**
   * Stops tracing (unsubscribes, so calls are back on their untraced path). Calls in flight at
   * that moment are not recorded. Idempotent.
   */
  disable() {
    if (!this.#enabled) return
    this.#enabled = false
    this.#channel.unsubscribe(this.#handlers)
  }

  /** Spans come from `tracerProvider` from now on. */
  setTracerProvider(tracerProvider) {
    this.#tracer = tracerProvider.getTracer(NAME, version)
  }

  /** The duration histogram is recorded on `meterProvider` from now on. */
  setMeterProvider(meterProvider) {
    this.#duration = meterProvider.getMeter(NAME, version).createHistogram('db.client.operation.duration', {
      description: 'Duration of SpotsSessions calls (one per session method call)',
      unit: 's',
      advice: { explicitBucketBoundaries: DURATION_BUCKETS },
    })
  }

  /** The configuration (`enabled`). */
  getConfig() {
    return this.#config
  }

  /** Replaces the configuration; `enabled` is read at construction only, as OpenTelemetry's. */
  setConfig(config = {}) {
    this.#config = { enabled: true, ...config }
  }

  #start(context) {
    const attributes = {
      'db.system.name': 'redis',
      'db.operation.name': context.operation,
    }
    if (context.database !== undefined) attributes['db.namespace'] = String(context.database)
    if (context.serverAddress !== undefined) attributes['server.address'] = context.serverAddress
    if (context.serverPort !== undefined) attributes['server.port'] = context.serverPort
    // start is published synchronously in the caller's async context: the active context is the
    // caller's, so the span is the child of whatever span the caller is in.
    const span = this.#tracer.startSpan(
      context.operation,
      { kind: api.SpanKind.CLIENT, attributes },
      api.context.active(),
    )
    this.#calls.set(context, { span, attributes, started: performance.now() })
  }

  #finish(context) {
    const call = this.#calls.get(context)
    if (call === undefined) return // started before enable()
    this.#calls.delete(context)
    const seconds = (performance.now() - call.started) / 1000
    const { span, attributes } = call
    // The first calls of a Sentinel or Cluster instance learn their server only when they settle.
    if (attributes['server.address'] === undefined && context.serverAddress !== undefined) {
      attributes['server.address'] = context.serverAddress
      span.setAttribute('server.address', context.serverAddress)
      if (context.serverPort !== undefined) {
        attributes['server.port'] = context.serverPort
        span.setAttribute('server.port', context.serverPort)
      }
    }
    if (context.error !== undefined) {
      const type = errorType(context.error)
      attributes['error.type'] = type
      span.setAttribute('error.type', type)
      span.setStatus({ code: api.SpanStatusCode.ERROR, message: context.error?.message })
    }
    span.end()
    this.#duration.record(seconds, attributes)
  }
}

module.exports = { SpotsSessionsInstrumentation }
