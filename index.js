'use strict'

// The public `SpotsSessions` class: a thin JavaScript layer over the native `NativeSessions`.
//
// Why a JavaScript layer at all: argument checks that produce field-naming errors (in
// lib/args.js), `data` crossing into Rust as one `JSON.stringify` text (far cheaper than walking
// objects through N-API), and one table of pending calls that the native side settles in batches
// (see src/bridge.rs). Every native call returns at once; outcomes arrive through `#onBatch`.
// `client` is a real ioredis instance, created on first read (see redis-client.js).
// Observability: every session method is traced on the `spots-sessions:call` TracingChannel,
// and connection events are published on `spots-sessions:connection:*` (see lib/tracing.js).

const {
  NativeSessions,
  describeConnection,
  sessionIdOf,
  Completion,
  ValueCode,
  ErrorCode,
  KeyKind,
} = require('./binding.js')
const { clientOptionsOf, ioredisArguments, createClient, quitClient } = require('./redis-client.js')
const {
  own,
  codedError,
  typeError,
  valueError,
  closedError,
  dtoObject,
  string,
  ownerString,
  duration,
  dataJson,
  optionalNumber,
  nativeOptions,
  migrateOptions,
} = require('./lib/args.js')
const { tracing, routingName, traceCall, publishConnectionEvent } = require('./lib/tracing.js')

// The first tokenSize under 16 bytes warns, once per process (see ErrorCode.WeakTokenWarning).
let weakTokenWarned = false

// The session methods, as a table: each entry reads and checks a call's arguments (throwing an
// error that names the field) and returns the function that starts the native call with a call
// id. `SpotsSessions` turns each entry into a method that returns a Promise (its `static` block).
const CALLS = {
  create(o) {
    const app = string(own(o, 'app'), 'app')
    const ownerId = ownerString(own(o, 'ownerId'))
    const data = dataJson(own(o, 'data'), true)
    const secs = duration(own(o, 'duration'), true)
    const maxAge = optionalNumber(own(o, 'maxAge'), 'maxAge', 'a number of seconds')
    const maxSessions = optionalNumber(own(o, 'maxSessions'), 'maxSessions', 'a number')
    return (native, id) => native.create(id, app, ownerId, data, secs, maxAge, maxSessions)
  },
  get(o) {
    const app = string(own(o, 'app'), 'app')
    const token = string(own(o, 'token'), 'token')
    const refresh = optionalNumber(own(o, 'refresh'), 'refresh', 'a number of seconds')
    if (refresh === undefined) return (native, id) => native.get(id, app, token)
    return (native, id) => native.getRefresh(id, app, token, refresh)
  },
  refresh(o) {
    const app = string(own(o, 'app'), 'app')
    const token = string(own(o, 'token'), 'token')
    const secs = duration(own(o, 'duration'), false)
    return (native, id) => native.refresh(id, app, token, secs)
  },
  update(o) {
    const app = string(own(o, 'app'), 'app')
    const token = string(own(o, 'token'), 'token')
    const data = dataJson(own(o, 'data'), false)
    return (native, id) => native.update(id, app, token, data)
  },
  kill(o) {
    const app = string(own(o, 'app'), 'app')
    const given = own(o, 'token')
    const sessionId = own(o, 'sessionId')
    // Exactly one of token and sessionId.
    const hasId = sessionId !== undefined && sessionId !== null
    if (hasId && given !== undefined && given !== null) {
      throw valueError('token, sessionId: give exactly one of them, not both')
    }
    // With ownerId, only a session of that owner is killed: a sessionId is shown in pages and
    // logs, so an application must not let one user sign out another by id.
    const owner = own(o, 'ownerId')
    const ownerId = owner === undefined || owner === null ? undefined : ownerString(owner)
    if (hasId) {
      const idText = string(sessionId, 'sessionId')
      return (native, id) => native.killSessionId(id, app, idText, ownerId)
    }
    if (given === undefined || given === null) {
      throw typeError('token', 'a string (or give sessionId instead)', given)
    }
    const token = string(given, 'token')
    return (native, id) => native.kill(id, app, token, ownerId)
  },
  killAll(o) {
    const app = string(own(o, 'app'), 'app')
    const ownerId = ownerString(own(o, 'ownerId'))
    const exceptToken = own(o, 'exceptToken')
    const except = exceptToken === undefined || exceptToken === null ? undefined : string(exceptToken, 'exceptToken')
    return (native, id) => native.killAll(id, app, ownerId, except)
  },
  list(o) {
    const app = string(own(o, 'app'), 'app')
    const ownerId = ownerString(own(o, 'ownerId'))
    const limit = optionalNumber(own(o, 'limit'), 'limit', 'a whole number of sessions')
    return (native, id) => native.list(id, app, ownerId, limit)
  },
  count(o) {
    const app = string(own(o, 'app'), 'app')
    const ownerId = ownerString(own(o, 'ownerId'))
    return (native, id) => native.count(id, app, ownerId)
  },
  rotate(o) {
    const app = string(own(o, 'app'), 'app')
    const token = string(own(o, 'token'), 'token')
    return (native, id) => native.rotate(id, app, token)
  },
}

// list()'s native JSON rows `[sessionId, createdAt, expiresAt, data]` as SessionInfo objects.
function sessionInfos(text) {
  return JSON.parse(text).map(([sessionId, createdAt, expiresAt, data]) => ({ sessionId, createdAt, expiresAt, data }))
}

// What a method's native result becomes, where it is not used as it is.
const RESULTS = { list: sessionInfos, count: Number }

// Instances with calls in flight. The native side reaches an instance only through a WeakRef
// (see the constructor), so that an instance nobody references can be collected and its
// connection closed; while calls are pending this set keeps it alive, so that they still settle.
const busy = new Set()

class SpotsSessions {
  #native
  // What `client` is built from: the options as the native side took them, and as given.
  #nativeOptions
  // describeConnection(#nativeOptions), made once, when `client` or a trace first needs it.
  #connection
  #options
  #client
  #pending = new Map()
  #lastId = 0
  #closing = false
  #idleWaiters = []
  #quitting = null
  // Where calls go, for their traces: made on the first traced call (see #traceContext).
  #where

  /**
   * @param {string | import('./index').SpotsSessionsOptions} [options] a connection string, or
   *   the options object (every option and its default: `SpotsSessionsOptions` in index.d.ts,
   *   defined in src/options.rs).
   */
  constructor(options) {
    const opts = nativeOptions(options)
    try {
      this.#native = new NativeSessions(opts, SpotsSessions.#batchCallback(new WeakRef(this)))
    } catch (err) {
      // Native option errors already name the option; give them the stable code.
      throw valueError(err.message)
    }
    this.#nativeOptions = opts
    this.#options = clientOptionsOf(options)
    if (opts.tokenSize !== undefined && opts.tokenSize < 16 && !weakTokenWarned) {
      weakTokenWarned = true
      process.emitWarning(
        `tokenSize ${opts.tokenSize} is under 16 bytes: a session id (an unkeyed SHA-256 prefix of the token) ` +
          'that leaks, from a log or a copy of the keyspace, lets an attacker search for its token offline. ' +
          'Use 16 bytes or more (the default is 128).',
        { code: ErrorCode.WeakTokenWarning },
      )
    }
  }

  // The batch callback lives as long as the native instance (a threadsafe function holds it), so
  // it must not hold the instance strongly: that cycle through native code would keep every
  // instance, and its connection, forever. It is made here, not in the constructor, because a
  // closure there would share the constructor's context, which holds `this`.
  static #batchCallback(ref) {
    return (meta, values) => {
      const instance = ref.deref()
      if (instance !== undefined) instance.#onBatch(meta, values)
    }
  }

  /**
   * An ioredis instance (a `Cluster` for Redis Cluster options) on connections of its own to the
   * same Redis, created on first read; `quit()` and `disconnect()` close it too.
   */
  get client() {
    if (this.#client === undefined) {
      // The options were accepted by the constructor, so this parses without error.
      const args = ioredisArguments(this.#described(), this.#options)
      this.#client = createClient(args, this.#closing)
    }
    return this.#client
  }

  /**
   * The public id of the session that `token` opens: 22 base64url characters, stable, safe to
   * log and show; it opens nothing by itself. Sync; computed locally (no Redis).
   */
  static sessionIdOf(token) {
    return sessionIdOf(string(token, 'token'))
  }

  // The session methods (create, get, refresh, update, kill, killAll, list, count, rotate), one
  // per entry of CALLS; documented in index.d.ts.
  static {
    for (const method of Object.keys(CALLS)) {
      const read = CALLS[method]
      const result = RESULTS[method]
      const run = function (dto) {
        try {
          const started = this.#call(read(dtoObject(dto, method)))
          return result === undefined ? started : started.then(result)
        } catch (err) {
          return Promise.reject(err)
        }
      }
      const invoke = {
        [method](dto) {
          if (tracing.hasSubscribers) {
            return traceCall(this.#traceContext(method, dto), run, this, dto, (c) => this.#locate(c, dto))
          }
          return run.call(this, dto)
        },
      }[method]
      Object.defineProperty(SpotsSessions.prototype, method, { value: invoke, writable: true, configurable: true })
    }
  }

  // The `spots-sessions:call` context of a call: what an APM names a database span with, never a
  // token, an owner, data or a password (see TraceContext in index.d.ts). Arguments that are
  // not what the call needs leave fields out; the call itself then rejects.
  #traceContext(operation, dto) {
    const where = (this.#where ??= this.#describeWhere())
    const context = {
      operation,
      app: undefined,
      serverAddress: where.serverAddress,
      serverPort: where.serverPort,
      database: where.database,
      topology: where.topology,
    }
    try {
      if (dto === null || typeof dto !== 'object') return context
      const app = own(dto, 'app')
      if (typeof app === 'string') context.app = app
      if (where.dynamic) this.#locate(context, dto)
    } catch {
      // Hostile arguments (a revoked Proxy, a throwing getter): the call reports them.
    }
    return context
  }

  // Sentinel's master and Redis Cluster's nodes change: asks the native side which server
  // serves the call of `context` (on Cluster, the primary of the call's key slot; see
  // NativeSessions.serverFor) and names it in `context`, when known.
  #locate(context, dto) {
    const where = this.#where
    if (!where?.dynamic || this.#native === null) return
    try {
      const named = where.topology === 'cluster' ? routingName(context.operation, dto) : [KeyKind.Owner, '']
      const server = named === undefined ? null : this.#native.serverFor(context.app ?? '', named[0], named[1])
      if (server !== null && server !== undefined) {
        context.serverAddress = server.host
        context.serverPort = server.port
      }
    } catch {
      // Hostile arguments (a revoked Proxy, a throwing getter): the call reports them.
    }
  }

  // The parsed connection that `client` and the traces are made from (no credentials in what
  // the traces take of it); parsed once, on first use.
  #described() {
    return (this.#connection ??= describeConnection(this.#nativeOptions))
  }

  // The parts of the connection that every call's trace carries; no credentials.
  #describeWhere() {
    const c = this.#described()
    const first = c.nodes[0]
    return {
      topology: c.kind,
      serverAddress: c.kind === 'unix' ? c.path : c.kind === 'single' ? first?.host : undefined,
      serverPort: c.kind === 'single' ? first?.port : undefined,
      database: c.kind === 'cluster' ? 0 : (c.db ?? 0),
      dynamic: c.kind === 'sentinel' || c.kind === 'cluster',
    }
  }

  /**
   * Converts every 1.x session key (`app:<app>|token:<token>|ownerId:<ownerId>`) into the
   * current layout, batch by batch, on connections of its own. See README, "Migrating from 1.x".
   * Resolves to `{ scanned, migrated, alreadyMigrated, skipped, deleted, errors }`, whose entries
   * are `{ app, ownerId, sessionId, reason }` (never a 1.x key's name: it holds the token); a
   * failure of the scan itself rejects, with the report so far as `err.report`.
   */
  async migrateFromV1(options) {
    const o = migrateOptions(options)
    if (this.#closing) throw closedError()
    const migration = this.#native.migrateV1()
    const report = { scanned: 0, migrated: 0, alreadyMigrated: 0, skipped: [], deleted: 0, errors: [] }
    let cursor = ''
    let totalKeys = null
    let batches = 0
    try {
      do {
        const text = await this.#call((_, id) => migration.step(id, cursor, o.dryRun, o.deleteOld, o.batchSize))
        const batch = JSON.parse(text)
        batches++
        report.scanned += batch.scanned
        report.migrated += batch.migrated
        report.alreadyMigrated += batch.alreadyMigrated
        report.deleted += batch.deleted
        for (const s of batch.skipped) report.skipped.push(s)
        for (const e of batch.errors) report.errors.push(e)
        if (batch.totalKeys !== null) totalKeys = batch.totalKeys
        cursor = batch.cursor
        if (o.onProgress) {
          await o.onProgress({
            scanned: report.scanned,
            migrated: report.migrated,
            alreadyMigrated: report.alreadyMigrated,
            skipped: report.skipped.length,
            deleted: report.deleted,
            errors: report.errors.length,
            batches,
            totalKeys,
            done: cursor === null,
          })
        }
      } while (cursor !== null)
    } catch (err) {
      if (err !== null && typeof err === 'object') err.report = report
      throw err
    } finally {
      // The run's own connections, closed even when the instance was closed meanwhile.
      await this.#start((_, id) => migration.close(id)).catch(() => {})
    }
    return report
  }

  /** Waits for the calls in flight, then closes the connection. Resolves to `'OK'`. */
  quit() {
    if (this.#quitting) return this.#quitting
    this.#closing = true
    const sessions = this.#whenIdle()
      // After disconnect() the native instance is gone, and so is the connection.
      .then(() => (this.#native === null ? 'OK' : this.#start((native, id) => native.quit(id))))
      .finally(() => this.#release())
    const client = this.#client === undefined ? undefined : quitClient(this.#client)
    this.#quitting = client === undefined ? sessions : Promise.all([sessions, client]).then(([ok]) => ok)
    return this.#quitting
  }

  /** Closes the connection (and `client`'s) at once; calls in flight reject with `ERR_CLOSED`. */
  disconnect() {
    this.#closing = true
    this.#native?.disconnect()
    if (this.#client !== undefined) this.#client.disconnect()
    const pending = [...this.#pending.values()]
    this.#pending.clear()
    this.#native?.setActive(false)
    busy.delete(this)
    this.#release()
    for (const call of pending) call.reject(closedError())
    this.#settleIdle()
  }

  #call(start) {
    if (this.#closing) return Promise.reject(closedError())
    return this.#start(start)
  }

  // `start(native, id)` begins the native call that will settle with `id`.
  #start(start) {
    let id = (this.#lastId = (this.#lastId + 1) >>> 0)
    if (id === 0) id = this.#lastId = 1 // id 0 carries warnings, never a call
    start(this.#native, id)
    if (this.#pending.size === 0) {
      this.#native.setActive(true)
      busy.add(this)
    }
    return new Promise((resolve, reject) => {
      this.#pending.set(id, { resolve, reject })
    })
  }

  // `meta` is [id, tag, code, …]: `tag` a Completion, `code` a ValueCode or
  // `ValueCode.FirstPayload + k` for `payloads[k]` (src/bridge.rs).
  #onBatch(meta, payloads) {
    const pending = this.#pending
    for (let i = 0; i < meta.length; i += 3) {
      const tag = meta[i + 1]
      const code = meta[i + 2]
      const value =
        code === ValueCode.False
          ? false
          : code === ValueCode.True
            ? true
            : code === ValueCode.Null
              ? null
              : payloads[code - ValueCode.FirstPayload]
      if (tag === Completion.Warning) {
        // A Redis setting that breaks a guarantee (src/store/eviction.rs).
        process.emitWarning(value.message, { code: value.code })
        continue
      }
      if (tag === Completion.Event) {
        publishConnectionEvent(value)
        continue
      }
      const call = pending.get(meta[i])
      if (call === undefined) continue // settled already by disconnect()
      pending.delete(meta[i])
      try {
        if (tag === Completion.Value) {
          call.resolve(value)
        } else if (tag === Completion.Session) {
          if (value === null) {
            call.resolve(undefined)
          } else {
            const [ownerId, data] = JSON.parse(value)
            call.resolve({ ownerId, data })
          }
        } else if (tag === Completion.Failure) {
          const err = codedError(Error, value.code, value.message)
          // ERR_REDIS_DURABILITY: how many replicas did acknowledge the write.
          if (value.acknowledged !== undefined && value.acknowledged !== null) err.acknowledged = value.acknowledged
          call.reject(err)
        } else {
          call.reject(new Error(`internal error: unknown completion tag ${tag}`))
        }
      } catch (err) {
        call.reject(err)
      }
    }
    if (pending.size === 0 && busy.delete(this)) {
      this.#native?.setActive(false)
      this.#settleIdle()
    }
  }

  // Once closed, the native half (fred's client, its tasks and buffers, the bridge) is freed at
  // once, not when V8 next collects its wrapper: a loop of `new` + `quit()` allocates so little
  // JavaScript that thousands of closed instances would otherwise hold tens of megabytes until
  // then (issue 21). Completions still in flight reach this instance through the callback (their
  // work holds the bridge) and find nothing pending.
  #release() {
    const native = this.#native
    this.#native = null
    native?.release()
  }

  #whenIdle() {
    if (this.#pending.size === 0) return Promise.resolve()
    return new Promise((resolve) => this.#idleWaiters.push(resolve))
  }

  #settleIdle() {
    const waiters = this.#idleWaiters
    this.#idleWaiters = []
    for (const resolve of waiters) resolve()
  }
}

module.exports = { SpotsSessions, default: SpotsSessions }
