'use strict'

// The public `SpotsSessions` class: a thin JavaScript layer over the native `NativeSessions`.
//
// Why a JavaScript layer at all: argument checks that produce field-naming errors, `data`
// crossing into Rust as one `JSON.stringify` text (far cheaper than walking objects through
// N-API), and one table of pending calls that the native side settles in batches (see
// src/bridge.rs). Every native call returns at once; outcomes arrive through `#onBatch`.

const { NativeSessions } = require('./binding.js')
const { RedisClient, decodeReply } = require('./client.js')

// Completion tags (src/bridge.rs).
const TAG_VALUE = 0
const TAG_SESSION = 1
const TAG_ERROR = 2
const TAG_ENCODED = 3
const TAG_ENCODED_BUFFERS = 4
const TAG_EVENT = 5

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

// Instances with calls in flight. The native side reaches an instance only through a WeakRef
// (see the constructor), so that an instance nobody references can be collected and its
// connection closed; while calls are pending this set keeps it alive, so that they still settle.
const busy = new Set()

class SpotsSessions {
  #native
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
    this.#client = new RedisClient({
      command: (name, args, buffers) => this.#call((id) => this.#native.command(id, name, args, buffers)),
      batch: (names, argc, args, transaction) =>
        this.#call((id) => this.#native.batch(id, names, argc, args, transaction), true),
      quit: () => this.quit(),
      disconnect: () => this.disconnect(),
    })
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

  /** The ioredis-style client on this instance's connection (see client.js). */
  get client() {
    return this.#client
  }

  create(dto) {
    try {
      const o = dtoObject(dto, 'create')
      const app = string(o.app, 'app')
      const ownerId = ownerString(o.ownerId)
      const data = dataJson(o.data, true)
      const secs = duration(o.duration, true)
      return this.#call((id) => this.#native.create(id, app, ownerId, data, secs))
    } catch (err) {
      return Promise.reject(err)
    }
  }

  get(dto) {
    try {
      const o = dtoObject(dto, 'get')
      const app = string(o.app, 'app')
      const token = string(o.token, 'token')
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
      return this.#call((id) => this.#native.killAll(id, app, ownerId))
    } catch (err) {
      return Promise.reject(err)
    }
  }

  /** Waits for the calls in flight, then closes the connection. Resolves to `'OK'`. */
  quit() {
    if (this.#quitting) return this.#quitting
    this.#closing = true
    this.#quitting = this.#whenIdle()
      // After disconnect() the native instance is gone, and so is the connection.
      .then(() => (this.#native === null ? 'OK' : this.#start((id) => this.#native.quit(id))))
      .finally(() => {
        this.#release()
        this.#client._event('end')
      })
    return this.#quitting
  }

  /** Closes the connection at once; calls in flight reject with `ERR_CLOSED`. */
  disconnect() {
    this.#closing = true
    this.#native?.disconnect()
    const pending = [...this.#pending.values()]
    this.#pending.clear()
    this.#native?.setActive(false)
    busy.delete(this)
    this.#release()
    for (const call of pending) call.reject(closedError())
    this.#settleIdle()
    this.#client._event('end')
  }

  #call(start, raw = false) {
    if (this.#closing) return Promise.reject(closedError())
    return this.#start(start, raw)
  }

  // `raw`: an encoded reply resolves as the Buffer itself (pipelines decode it per command).
  #start(start, raw = false) {
    let id = (this.#lastId = (this.#lastId + 1) >>> 0)
    if (id === 0) id = this.#lastId = 1 // id 0 carries connection events
    start(id)
    if (this.#pending.size === 0) {
      this.#native.setActive(true)
      busy.add(this)
    }
    return new Promise((resolve, reject) => {
      this.#pending.set(id, { resolve, reject, raw })
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
      if (tag === TAG_EVENT) {
        this.#onEvent(value)
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
        } else if (tag === TAG_ENCODED || tag === TAG_ENCODED_BUFFERS) {
          call.resolve(call.raw ? value : decodeReply(value, tag === TAG_ENCODED_BUFFERS))
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

  #onEvent(text) {
    if (text.startsWith('warning:')) {
      // A Redis setting that breaks a guarantee (src/store.rs, watch_eviction_policy).
      process.emitWarning(text.slice(8), { code: 'SPOTS_SESSIONS_EVICTION' })
      return
    }
    const colon = text.indexOf(':')
    if (colon < 0) this.#client._event(text)
    else this.#client._event(text.slice(0, colon), text.slice(colon + 1))
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
