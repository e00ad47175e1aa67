'use strict'

// The diagnostics channels of `SpotsSessions` (index.js): the `spots-sessions:call` TracingChannel
// that every session method runs on when someone subscribes (index.js checks
// `tracing.hasSubscribers` and calls `traceCall` only then), the names that route a call to its
// Redis Cluster node, and the `spots-sessions:connection:*` channels. otel.js subscribes to them
// by name.

const diagnostics = require('node:diagnostics_channel')
const { KeyKind } = require('../binding.js')
const { own } = require('./args.js')

// Tracing (issue 22). Every session method runs on the `spots-sessions:call` TracingChannel with
// tracePromise's semantics when someone subscribes; when nobody does, the method checks one
// getter and runs exactly as it would without tracing (nothing is allocated).

const calls = diagnostics.tracingChannel('spots-sessions:call')
// TracingChannel#hasSubscribers arrived in Node 20.13; before it, any of the five channels.
const tracing =
  calls.hasSubscribers !== undefined
    ? calls
    : {
        get hasSubscribers() {
          return (
            calls.start.hasSubscribers ||
            calls.end.hasSubscribers ||
            calls.asyncStart.hasSubscribers ||
            calls.asyncEnd.hasSubscribers ||
            calls.error.hasSubscribers
          )
        },
      }

// Which of a call's names picks its Redis Cluster node (see NativeSessions.serverFor): the
// session's key for calls by token or session id, the owner's index for calls by owner.
const ROUTED_BY = {
  create: 'ownerId',
  get: 'token',
  refresh: 'token',
  update: 'token',
  kill: 'token',
  killAll: 'ownerId',
  list: 'ownerId',
  count: 'ownerId',
  rotate: 'token',
}

// A call's name that routes it, as [KeyKind, string], or undefined when the arguments are not
// what the call needs (it then rejects anyway). Read for the lookup only, never kept.
function routingName(method, dto) {
  if (method === 'kill') {
    const sessionId = own(dto, 'sessionId')
    if (typeof sessionId === 'string') return [KeyKind.SessionId, sessionId]
  }
  const field = ROUTED_BY[method]
  const value = own(dto, field)
  if (field === 'ownerId') {
    if (typeof value === 'number' && Number.isFinite(value)) return [KeyKind.Owner, String(value)]
    return typeof value === 'string' ? [KeyKind.Owner, value] : undefined
  }
  return typeof value === 'string' ? [KeyKind.Token, value] : undefined
}

// tracePromise's protocol (start in the caller's context, with its stores bound; end; then
// error, asyncStart and asyncEnd when the Promise settles), written out because Node's
// tracePromise stores the resolved value in `context.result`: a token for create and rotate,
// session data for get and list. The context never holds one.
function traceCall(context, run, self, dto, locate) {
  const { start, end, asyncStart, asyncEnd, error } = calls
  return start.runStores(context, () => {
    let promise
    try {
      promise = run.call(self, dto)
    } catch (err) {
      // `run` rejects rather than throws; kept for tracePromise's contract all the same.
      context.error = err
      error.publish(context)
      throw err
    } finally {
      end.publish(context)
    }
    // A call made before a Sentinel or Cluster instance knew its servers (its first calls) did
    // not know at start which server would serve it; by the time it settles the slot map or the
    // master is known, so the context names it for asyncEnd's subscribers.
    const settled = () => {
      if (context.serverAddress === undefined) locate(context)
    }
    return promise.then(
      (value) => {
        settled()
        asyncStart.publish(context)
        asyncEnd.publish(context)
        return value
      },
      (err) => {
        settled()
        context.error = err
        error.publish(context)
        asyncStart.publish(context)
        asyncEnd.publish(context)
        throw err
      },
    )
  })
}

// Connection events (issue 22): the native side reports them as id-0 completions
// (Completion.Event, src/events.rs); each is published on its channel when it has subscribers.

const CONNECTION_EVENTS = ['connect', 'ready', 'error', 'close', 'reconnecting', 'failover']
const connectionChannels = new Map(
  CONNECTION_EVENTS.map((name) => [name, diagnostics.channel(`spots-sessions:connection:${name}`)]),
)

function publishConnectionEvent(event) {
  const channel = connectionChannels.get(event.event)
  if (channel !== undefined && channel.hasSubscribers) channel.publish(event)
}

module.exports = { tracing, routingName, traceCall, publishConnectionEvent }
