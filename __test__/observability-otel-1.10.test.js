'use strict'

// `@spots-tech/sessions/otel` with the OpenTelemetry JS API 1.10 line: @opentelemetry/api 1.10,
// sdk-trace and sdk-metrics 3.x, instrumentation 0.30x, installed in __test__/otel-1.10/ (their
// peer ranges exclude the root's 1.9 line, so they cannot share node_modules; `npm run setup`
// installs both). The same suite as the 1.9 line (shared/otel-suite.js).
//
// Those packages need Node >= 22.15, and so does module.registerHooks, through which every
// `require('@opentelemetry/api')` of this process, otel.js's included, gets the 1.10 copy, as
// in an application that installed 1.10. On older Node this file skips, saying why; the CI
// matrix (scripts/matrix.sh) runs it on Node 22 and 24 with SPOTS_REQUIRE_OTEL_1_10=1, which
// turns a missing install into a failure instead of a skip.

const { test } = require('node:test')
const assert = require('node:assert/strict')
const fs = require('node:fs')
const path = require('node:path')
const { pathToFileURL } = require('node:url')
const nodeModule = require('node:module')

const FIXTURE = path.join(__dirname, 'otel-1.10')
const [major, minor] = process.versions.node.split('.').map(Number)
const newEnough = major > 22 || (major === 22 && minor >= 15)
const installed = fs.existsSync(path.join(FIXTURE, 'node_modules', '@opentelemetry', 'api'))

if (!newEnough) {
  test(
    'OpenTelemetry API 1.10 line',
    { skip: `needs Node >= 22.15 (this is ${process.version}); the CI matrix runs it on Node 22 and 24` },
    () => {},
  )
} else if (!installed && process.env.SPOTS_REQUIRE_OTEL_1_10 !== '1') {
  test(
    'OpenTelemetry API 1.10 line',
    { skip: `not installed: npm ci --prefix ${path.relative(process.cwd(), FIXTURE)} (npm run setup does it)` },
    () => {},
  )
} else {
  test('the API 1.10 line is installed', () => {
    assert.ok(installed, `npm ci --prefix ${FIXTURE} (npm run setup does it)`)
  })
  const fixture = nodeModule.createRequire(path.join(FIXTURE, 'package.json'))
  // Resolve @opentelemetry/api to the fixture's copy, wherever it is required from. Resolved
  // before the hook is registered: on Node 24 require.resolve itself runs through the hook.
  const apiURL = pathToFileURL(fixture.resolve('@opentelemetry/api')).href
  nodeModule.registerHooks({
    resolve(specifier, context, nextResolve) {
      if (specifier === '@opentelemetry/api') return { url: apiURL, format: 'commonjs', shortCircuit: true }
      return nextResolve(specifier, context)
    },
  })
  const api = fixture('@opentelemetry/api')
  const sdkTrace = fixture('@opentelemetry/sdk-trace')
  const sdkMetrics = fixture('@opentelemetry/sdk-metrics')
  const { SpotsSessionsInstrumentation } = require('@spots-tech/sessions/otel')
  const { SpotsSessions } = require('..')
  const { defineOtelSuite } = require('./shared/otel-suite.js')

  test('otel.js loaded the API 1.10 copy, and never the root 1.9 one', () => {
    const apiFiles = Object.keys(require.cache).filter((f) =>
      f.includes(`${path.sep}@opentelemetry${path.sep}api${path.sep}`),
    )
    assert.ok(apiFiles.length > 0)
    for (const f of apiFiles) assert.ok(f.startsWith(FIXTURE + path.sep), f)
    const version = JSON.parse(
      fs.readFileSync(path.join(FIXTURE, 'node_modules/@opentelemetry/api/package.json'), 'utf8'),
    ).version
    assert.match(version, /^1\.10\./)
  })

  defineOtelSuite({
    label: 'API 1.10 (SDK 3.x, @opentelemetry/instrumentation 0.30x)',
    api,
    TracerProvider: sdkTrace.TracerProvider,
    InMemorySpanExporter: sdkTrace.InMemorySpanExporter,
    spanProcessor: (exporter) => new sdkTrace.SimpleSpanProcessor({ exporter }),
    MeterProvider: sdkMetrics.MeterProvider,
    MetricReader: sdkMetrics.MetricReader,
    ContextManager: fixture('@opentelemetry/context-async-hooks').AsyncLocalStorageContextManager,
    registerInstrumentations: fixture('@opentelemetry/instrumentation').registerInstrumentations,
    SpotsSessionsInstrumentation,
    SpotsSessions,
  })
}
