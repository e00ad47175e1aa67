/**
 * `@spots-tech/sessions/otel`: OpenTelemetry spans and metrics for every `SpotsSessions` call,
 * from the `spots-sessions:call` diagnostics channel. Needs `@opentelemetry/api` 1.9 or 1.10.
 *
 * ```js
 * const { registerInstrumentations } = require('@opentelemetry/instrumentation')
 * const { SpotsSessionsInstrumentation } = require('@spots-tech/sessions/otel')
 * registerInstrumentations({ instrumentations: [new SpotsSessionsInstrumentation()] })
 * ```
 */

import type { MeterProvider, TracerProvider } from '@opentelemetry/api'

/** The instrumentation's configuration. */
export interface SpotsSessionsInstrumentationConfig {
  /** Enable at construction. Default `true`. */
  enabled?: boolean
}

/**
 * One span of kind CLIENT per session method call, child of the context active at the call,
 * with `db.system.name` (`'redis'`), `db.operation.name` (the method), `db.namespace` (the
 * database number), `server.address` and `server.port`; on failure, status ERROR and
 * `error.type` (the error's `code`). Records `db.client.operation.duration` (seconds) with the
 * same attributes. Never records a token, owner id, session data or password.
 */
export declare class SpotsSessionsInstrumentation {
  constructor(config?: SpotsSessionsInstrumentationConfig)
  /** `'@spots-tech/sessions'`. */
  readonly instrumentationName: string
  /** This package's version. */
  readonly instrumentationVersion: string
  /** Starts tracing calls. Idempotent. */
  enable(): void
  /** Stops tracing calls (calls in flight are not recorded). Idempotent. */
  disable(): void
  /** Spans come from this provider from now on (default: the global one). */
  setTracerProvider(tracerProvider: TracerProvider): void
  /** The histogram is recorded on this provider from now on (default: the global one). */
  setMeterProvider(meterProvider: MeterProvider): void
  /** The configuration. */
  getConfig(): SpotsSessionsInstrumentationConfig
  /** Replaces the configuration. */
  setConfig(config: SpotsSessionsInstrumentationConfig): void
}
