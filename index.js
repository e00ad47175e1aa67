'use strict'

// The public `SpotsSessions` class: a thin JavaScript layer over the native `NativeSessions`.
//
// Why a JavaScript layer at all: argument checks that produce field-naming errors, `data`
// crossing into Rust as one `JSON.stringify` text (far cheaper than walking objects through
// N-API), and one table of pending calls that the native side settles in batches (see
// src/bridge.rs). Every native call returns at once; outcomes arrive through `#onBatch`.
// `client` is a real ioredis instance, created on first read (see redis-client.js).

const { NativeSessions, describeConnection, sessionIdOf } = require('./binding.js')
const { clientOptionsOf, ioredisArguments, createClient, quitClient } = require('./redis-client.js')

// Completion tags (src/bridge.rs).
const TAG_VALUE = 0
const TAG_SESSION = 1
const TAG_ERROR = 2
const TAG_WARNING = 3

function codedError(Ctor, code, message) {
  const err = new Ctor(message)
  err.code = code
  return err
}

// Array.isArray throws on a revoked Proxy; such a value is simply not an array here.
function isArray(value) {
  try {
    return Array.isArray(value)
  } catch {
    return false
  }
}

function typeError(field, expected, value) {
  const got = value === null ? 'null' : isArray(value) ? 'an array' : typeof value
  return codedError(TypeError, 'ERR_INVALID_ARG_TYPE', `${field}: must be ${expected}, got ${got}`)
}

function closedError() {
  return codedError(Error, 'ERR_CLOSED', 'Connection is closed (quit() or disconnect() was called)')
}

// `"<code>:<message>"` from the native side becomes an Error with that code.
function nativeError(text) {
  const colon = text.indexOf(':')
  return codedError(Error, text.slice(0, colon), text.slice(colon + 1))
}

function dtoObject(dto, method) {
  if (dto === null || typeof dto !== 'object') {
    throw typeError(`${method}()`, 'called with an options object', dto)
  }
  return dto
}

function string(value, field) {
  if (typeof value !== 'string') throw typeError(field, 'a string', value)
  return value
}

// The original package built keys with template strings, so numeric owner ids worked and came
// back from `get` as strings; keep that.
function ownerString(value) {
  if (typeof value === 'number' && Number.isFinite(value)) return String(value)
  return string(value, 'ownerId')
}

function duration(value, optional) {
  if (optional && (value === undefined || value === null)) return undefined
  if (typeof value !== 'number') throw typeError('duration', 'a number of seconds', value)
  return value
}

function dataJson(value, optional) {
  if (optional && (value === undefined || value === null)) return '{}'
  if (value === null || typeof value !== 'object' || isArray(value)) {
    throw typeError('data', 'a plain object', value)
  }
  let text
  try {
    text = JSON.stringify(value)
  } catch (cause) {
    const err = codedError(TypeError, 'ERR_INVALID_ARG_VALUE', `data: cannot be serialised to JSON: ${cause.message}`)
    err.cause = cause
    throw err
  }
  if (typeof text !== 'string' || text.charCodeAt(0) !== 123 /* { */) {
    throw codedError(TypeError, 'ERR_INVALID_ARG_VALUE', 'data: must serialise to a JSON object')
  }
  return text
}

// A number option of a session call (`maxAge`, `maxSessions`, `refresh`): absent is undefined;
// the range is checked natively, naming the field.
function optionalNumber(value, field, expected) {
  if (value === undefined || value === null) return undefined
  if (typeof value !== 'number') throw typeError(field, expected, value)
  return value
}

// list()'s native JSON rows `[sessionId, createdAt, expiresAt, data]` as SessionInfo objects.
function sessionInfos(text) {
  return JSON.parse(text).map(([sessionId, createdAt, expiresAt, data]) => ({ sessionId, createdAt, expiresAt, data }))
}

function optionOf(options, field, type) {
  const value = options[field]
  if (value === undefined || value === null) return undefined
  if (typeof value !== type) throw typeError(field, `a ${type}`, value)
  return value
}

// Where an instance connects when no connection string is given: ioredis's default, unless the
// environment names another server (handy in containers and for running examples unchanged).
function defaultUrl() {
  return process.env.SPOTS_SESSIONS_REDIS_URL || undefined
}

function pem(value, field) {
  if (value === undefined || value === null) return undefined
  if (isArray(value)) return value.map((v, i) => pem(v, `${field}[${i}]`)).join('\n')
  if (Buffer.isBuffer(value)) return value.toString('utf8')
  if (typeof value === 'string') return value
  throw typeError(field, 'PEM text (a string or Buffer, or an array of them)', value)
}

// ioredis's `tls` option: `true`/`{}` for TLS with the system's CAs, or `{ ca, cert, key,
// rejectUnauthorized }`.
function tlsOptions(value) {
  if (value === undefined || value === null || value === false) return undefined
  if (value === true) return {}
  if (typeof value !== 'object' || isArray(value)) throw typeError('tls', 'true or an object', value)
  const reject = value.rejectUnauthorized
  if (reject !== undefined && typeof reject !== 'boolean') throw typeError('tls.rejectUnauthorized', 'a boolean', reject)
  return { ca: pem(value.ca, 'tls.ca'), cert: pem(value.cert, 'tls.cert'), key: pem(value.key, 'tls.key'), rejectUnauthorized: reject }
}

function nodeList(value, field) {
  if (value === undefined || value === null) return undefined
  if (!isArray(value)) throw typeError(field, 'an array of { host, port }', value)
  return value.map((node, i) => {
    if (node === null || typeof node !== 'object') throw typeError(`${field}[${i}]`, 'a { host, port } object', node)
    return {
      host: optionOf(node, 'host', 'string') ?? '127.0.0.1',
      port: optionOf(node, 'port', 'number') ?? (field === 'sentinels' ? 26379 : 6379),
    }
  })
}

const SHAPE_OPTIONS = ['host', 'port', 'path', 'sentinels', 'cluster']

function nativeOptions(options) {
  if (options === undefined || options === null) return { connectionString: defaultUrl() }
  if (typeof options === 'string') return { connectionString: options }
  if (typeof options !== 'object' || isArray(options)) {
    throw typeError('options', 'a connection string or an options object', options)
  }
  const hasShape = SHAPE_OPTIONS.some((k) => options[k] !== undefined && options[k] !== null)
  return {
    connectionString: optionOf(options, 'connectionString', 'string') ?? (hasShape ? undefined : defaultUrl()),
    host: optionOf(options, 'host', 'string'),
    port: optionOf(options, 'port', 'number'),
    path: optionOf(options, 'path', 'string'),
    username: optionOf(options, 'username', 'string'),
    password: optionOf(options, 'password', 'string'),
    db: optionOf(options, 'db', 'number'),
    tls: tlsOptions(options.tls),
    sentinels: nodeList(options.sentinels, 'sentinels'),
    name: optionOf(options, 'name', 'string'),
    cluster: nodeList(options.cluster, 'cluster'),
    tokenEncoding: optionOf(options, 'tokenEncoding', 'string'),
    tokenSize: optionOf(options, 'tokenSize', 'number'),
    connectTimeout: optionOf(options, 'connectTimeout', 'number'),
    commandTimeout: optionOf(options, 'commandTimeout', 'number'),
    // ioredis: `null` means "retry until the command times out".
    maxRetriesPerRequest: options.maxRetriesPerRequest === null ? 0xfffffffe : optionOf(options, 'maxRetriesPerRequest', 'number'),
    enableOfflineQueue: optionOf(options, 'enableOfflineQueue', 'boolean'),
    offlineQueueLimit: optionOf(options, 'offlineQueueLimit', 'number'),
  }
}

// `migrateFromV1` options, checked here so that the errors name the option.
const MIGRATE_MAX_BATCH = 100000
function migrateOptions(options) {
  if (options === undefined || options === null) options = {}
  if (typeof options !== 'object' || isArray(options)) throw typeError('migrateFromV1()', 'called with an options object', options)
  const batchSize = optionOf(options, 'batchSize', 'number') ?? 1000
  if (!Number.isInteger(batchSize) || batchSize < 1 || batchSize > MIGRATE_MAX_BATCH) {
    throw codedError(RangeError, 'ERR_INVALID_ARG_VALUE', `batchSize: must be a whole number from 1 to ${MIGRATE_MAX_BATCH}, got ${batchSize}`)
  }
  const onProgress = options.onProgress ?? undefined
  if (onProgress !== undefined && typeof onProgress !== 'function') throw typeError('onProgress', 'a function', onProgress)
  return {
    dryRun: optionOf(options, 'dryRun', 'boolean') ?? false,
    deleteOld: optionOf(options, 'deleteOld', 'boolean') ?? false,
    batchSize,
    onProgress,
  }
}

// Instances with calls in flight. The native side reaches an instance only through a WeakRef
// (see the constructor), so that an instance nobody references can be collected and its
// connection closed; while calls are pending this set keeps it alive, so that they still settle.
const busy = new Set()

class SpotsSessions {
  #native
  // What `client` is built from: the options as the native side took them, and as given.
  #nativeOptions
  #options
  #client
  #pending = new Map()
  #lastId = 0
  #closing = false
  #idleWaiters = []
  #quitting = null

  /**
   * @param {string | object} [options] a `redis://` URL, or `{ connectionString, tokenEncoding,
   *   tokenSize, connectTimeout, commandTimeout }`.
   */
  constructor(options) {
    const opts = nativeOptions(options)
    try {
      this.#native = new NativeSessions(opts, SpotsSessions.#batchCallback(new WeakRef(this)))
    } catch (err) {
      // Native option errors already name the option; give them the stable code.
      throw codedError(TypeError, 'ERR_INVALID_ARG_VALUE', err.message)
    }
    this.#nativeOptions = opts
    this.#options = clientOptionsOf(options)
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
      const args = ioredisArguments(describeConnection(this.#nativeOptions), this.#options)
      this.#client = createClient(args, this.#closing)
    }
    return this.#client
  }

  create(dto) {
    try {
      const o = dtoObject(dto, 'create')
      const app = string(o.app, 'app')
      const ownerId = ownerString(o.ownerId)
      const data = dataJson(o.data, true)
      const secs = duration(o.duration, true)
      const maxAge = optionalNumber(o.maxAge, 'maxAge', 'a number of seconds')
      const maxSessions = optionalNumber(o.maxSessions, 'maxSessions', 'a number')
      return this.#call((id) => this.#native.create(id, app, ownerId, data, secs, maxAge, maxSessions))
    } catch (err) {
      return Promise.reject(err)
    }
  }

  get(dto) {
    try {
      const o = dtoObject(dto, 'get')
      const app = string(o.app, 'app')
      const token = string(o.token, 'token')
      const refresh = optionalNumber(o.refresh, 'refresh', 'a number of seconds')
      if (refresh !== undefined) return this.#call((id) => this.#native.getRefresh(id, app, token, refresh))
      return this.#call((id) => this.#native.get(id, app, token))
    } catch (err) {
      return Promise.reject(err)
    }
  }

  refresh(dto) {
    try {
      const o = dtoObject(dto, 'refresh')
      const app = string(o.app, 'app')
      const token = string(o.token, 'token')
      const secs = duration(o.duration, false)
      return this.#call((id) => this.#native.refresh(id, app, token, secs))
    } catch (err) {
      return Promise.reject(err)
    }
  }

  update(dto) {
    try {
      const o = dtoObject(dto, 'update')
      const app = string(o.app, 'app')
      const token = string(o.token, 'token')
      const data = dataJson(o.data, false)
      return this.#call((id) => this.#native.update(id, app, token, data))
    } catch (err) {
      return Promise.reject(err)
    }
  }

  kill(dto) {
    try {
      const o = dtoObject(dto, 'kill')
      const app = string(o.app, 'app')
      // Exactly one of token and sessionId.
      const hasId = o.sessionId !== undefined && o.sessionId !== null
      if (hasId && o.token !== undefined && o.token !== null) {
        throw codedError(TypeError, 'ERR_INVALID_ARG_VALUE', 'token, sessionId: give exactly one of them, not both')
      }
      if (hasId) {
        const sessionId = string(o.sessionId, 'sessionId')
        return this.#call((id) => this.#native.killSessionId(id, app, sessionId))
      }
      if (o.token === undefined || o.token === null) {
        throw typeError('token', 'a string (or give sessionId instead)', o.token)
      }
      const token = string(o.token, 'token')
      return this.#call((id) => this.#native.kill(id, app, token))
    } catch (err) {
      return Promise.reject(err)
    }
  }

  killAll(dto) {
    try {
      const o = dtoObject(dto, 'killAll')
      const app = string(o.app, 'app')
      const ownerId = ownerString(o.ownerId)
      const except = o.exceptToken === undefined || o.exceptToken === null ? undefined : string(o.exceptToken, 'exceptToken')
      return this.#call((id) => this.#native.killAll(id, app, ownerId, except))
    } catch (err) {
      return Promise.reject(err)
    }
  }

  /**
   * The public id of the session that `token` opens: 22 base64url characters, stable, safe to
   * log and show; it opens nothing by itself. Sync; computed locally (no Redis).
   */
  static sessionIdOf(token) {
    return sessionIdOf(string(token, 'token'))
  }

  /** Every live session of `ownerId` in `app`, newest first, as `{ sessionId, createdAt, expiresAt, data }`. */
  list(dto) {
    try {
      const o = dtoObject(dto, 'list')
      const app = string(o.app, 'app')
      const ownerId = ownerString(o.ownerId)
      return this.#call((id) => this.#native.list(id, app, ownerId)).then(sessionInfos)
    } catch (err) {
      return Promise.reject(err)
    }
  }

  /** How many live sessions `ownerId` has in `app`. */
  count(dto) {
    try {
      const o = dtoObject(dto, 'count')
      const app = string(o.app, 'app')
      const ownerId = ownerString(o.ownerId)
      return this.#call((id) => this.#native.count(id, app, ownerId)).then(Number)
    } catch (err) {
      return Promise.reject(err)
    }
  }

  /** A new token for the same session; the old one stops working at once. `undefined` if not found. */
  rotate(dto) {
    try {
      const o = dtoObject(dto, 'rotate')
      const app = string(o.app, 'app')
      const token = string(o.token, 'token')
      return this.#call((id) => this.#native.rotate(id, app, token))
    } catch (err) {
      return Promise.reject(err)
    }
  }

  /**
   * Converts every 1.x session key (`app:<app>|token:<token>|ownerId:<ownerId>`) into the
   * current layout, batch by batch, on connections of its own. See README, "Migrating from 1.x".
   * Resolves to `{ scanned, migrated, alreadyMigrated, skipped, deleted, errors }`; a failure of
   * the scan itself rejects, with the report so far as `err.report`.
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
        const text = await this.#call((id) => migration.step(id, cursor, o.dryRun, o.deleteOld, o.batchSize))
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
      await this.#start((id) => migration.close(id)).catch(() => {})
    }
    return report
  }

  /** Waits for the calls in flight, then closes the connection. Resolves to `'OK'`. */
  quit() {
    if (this.#quitting) return this.#quitting
    this.#closing = true
    const sessions = this.#whenIdle()
      // After disconnect() the native instance is gone, and so is the connection.
      .then(() => (this.#native === null ? 'OK' : this.#start((id) => this.#native.quit(id))))
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

  #start(start) {
    let id = (this.#lastId = (this.#lastId + 1) >>> 0)
    if (id === 0) id = this.#lastId = 1 // id 0 carries warnings, never a call
    start(id)
    if (this.#pending.size === 0) {
      this.#native.setActive(true)
      busy.add(this)
    }
    return new Promise((resolve, reject) => {
      this.#pending.set(id, { resolve, reject })
    })
  }

  // `meta` is [id, tag, code, …]; code 0/1/2 are false/true/null, 4 + k is values[k]
  // (src/bridge.rs).
  #onBatch(meta, values) {
    const pending = this.#pending
    for (let i = 0; i < meta.length; i += 3) {
      const tag = meta[i + 1]
      const code = meta[i + 2]
      const value = code === 0 ? false : code === 1 ? true : code === 2 ? null : values[code - 4]
      if (tag === TAG_WARNING) {
        // A Redis setting that breaks a guarantee (src/store.rs, watch_eviction_policy).
        process.emitWarning(value, { code: 'SPOTS_SESSIONS_EVICTION' })
        continue
      }
      const call = pending.get(meta[i])
      if (call === undefined) continue // settled already by disconnect()
      pending.delete(meta[i])
      try {
        if (tag === TAG_VALUE) {
          call.resolve(value)
        } else if (tag === TAG_SESSION) {
          if (value === null) {
            call.resolve(undefined)
          } else {
            const [ownerId, data] = JSON.parse(value)
            call.resolve({ ownerId, data })
          }
        } else if (tag === TAG_ERROR) {
          call.reject(nativeError(value))
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

  // Once closed, the native instance is dropped, so that its memory (client, tasks, buffers) is
  // freed at the next collection even while this instance stays referenced. Completions still in
  // flight reach this instance through the callback and find nothing pending.
  #release() {
    this.#native = null
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
