'use strict'

// Listening on this package's diagnostics channels, for the observability suites:
//
//   record()             -> { events: [[name, context], …], stop() }: every event of the
//                           `spots-sessions:call` TracingChannel
//   connectionEvents()   -> { events, waitFor(name, from?), stop() }: the messages of the
//                           `spots-sessions:connection:*` channels

const diagnostics = require('node:diagnostics_channel')

const calls = diagnostics.tracingChannel('spots-sessions:call')

/** Subscribes to every event of the call channel, recording [event, context] until `stop()`. */
function record() {
  const events = []
  const handlers = {}
  for (const name of ['start', 'end', 'asyncStart', 'asyncEnd', 'error']) {
    handlers[name] = (context) => events.push([name, context])
  }
  calls.subscribe(handlers)
  return { events, stop: () => calls.unsubscribe(handlers) }
}

/**
 * Subscribes to the connection channels; resolves `waitFor(name)` once such an event came. An
 * idle instance never keeps Node alive (events arrive on an unreferenced path), so a timer
 * keeps this process up while a test waits, as an application's server would.
 */
function connectionEvents() {
  const keepAlive = setInterval(() => {}, 1000)
  const events = []
  const waiters = []
  const names = ['connect', 'ready', 'error', 'close', 'reconnecting', 'failover']
  const handlers = names.map((name) => {
    const handler = (message) => {
      events.push(message)
      for (const w of waiters.splice(0)) if (!w(message)) waiters.push(w)
    }
    diagnostics.subscribe(`spots-sessions:connection:${name}`, handler)
    return [name, handler]
  })
  return {
    events,
    /** The next event named `name` after `from` (an index into `events`). */
    waitFor(name, from = 0) {
      const found = events.slice(from).find((e) => e.event === name)
      if (found) return Promise.resolve(found)
      return new Promise((resolve) =>
        waiters.push((e) => {
          if (e.event !== name) return false
          resolve(e)
          return true
        }),
      )
    },
    stop() {
      clearInterval(keepAlive)
      for (const [name, handler] of handlers) diagnostics.unsubscribe(`spots-sessions:connection:${name}`, handler)
    },
  }
}

module.exports = { record, connectionEvents }
