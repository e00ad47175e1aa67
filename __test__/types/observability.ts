// The observability types (issue 22): the call channel's context and the connection events type
// the raw diagnostics_channel API, and the OpenTelemetry instrumentation fits
// registerInstrumentations' Instrumentation interface.
import diagnostics from 'node:diagnostics_channel'
import { registerInstrumentations } from '@opentelemetry/instrumentation'
import { trace, metrics } from '@opentelemetry/api'
import type {
  SpotsSessionsCallContext,
  SpotsSessionsConnectionEvent,
  SpotsSessionsOperation,
} from '@spots-tech/sessions'
import { SpotsSessionsInstrumentation } from '@spots-tech/sessions/otel'

const calls = diagnostics.tracingChannel<object, SpotsSessionsCallContext>('spots-sessions:call')
calls.subscribe({
  start(context) {
    const operation: SpotsSessionsOperation = context.operation
    const where: string = `${context.serverAddress ?? '?'}:${context.serverPort ?? '?'}/${context.database}`
    void [operation, where, context.topology, context.app]
  },
  end() {},
  asyncStart() {},
  asyncEnd(context) {
    const code: string | undefined = context.error?.code
    void code
  },
  error() {},
})

diagnostics.subscribe('spots-sessions:connection:ready', (message) => {
  const event = message as SpotsSessionsConnectionEvent
  const port: number | undefined = event.serverPort
  void port
})

const instrumentation = new SpotsSessionsInstrumentation({ enabled: false })
const unregister: () => void = registerInstrumentations({
  instrumentations: [instrumentation],
  tracerProvider: trace.getTracerProvider(),
  meterProvider: metrics.getMeterProvider(),
})
unregister()
