'use strict'

// `sessions.client`: an ioredis-style Redis client to the sessions' Redis, on a connection of its
// own (see src/store.rs, `commands_client`, for why the session methods never share one).
//
// Every Redis command is a lower-case method (the command table is ioredis's own,
// `@ioredis/commands`), plus a `*Buffer` variant; `call`/`sendCommand` take any command by name.
// Arguments are flattened and stringified as ioredis does. Replies come back through the same
// batched completion path as the session methods (see src/bridge.rs).

const { EventEmitter } = require('node:events')
const { list: COMMANDS } = require('@ioredis/commands')

const TAG = { NIL: 0, STRING: 1, INTEGER: 2, ARRAY: 3, ERROR: 4 }

/** A Redis error reply. The message is Redis's own, as with ioredis. */
class ReplyError extends Error {
  constructor(message) {
    super(message)
    this.name = 'ReplyError'
    this.code = 'ERR_REDIS'
  }
}

function notSupported(what, instead) {
  const err = new Error(`${what} is not supported by @spots-tech/sessions' client${instead ? `; ${instead}` : ''}`)
  err.code = 'ERR_NOT_SUPPORTED'
  return err
}

// Decodes a nested reply (src/reply.rs). `buffers(i)` says whether top-level element i keeps its
// strings as Buffers (the `*Buffer` variants); nested elements follow their top-level element.
function decodeReply(buf, buffers) {
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength)
  let pos = 0
  function next(asBuffers) {
    const tag = buf[pos++]
    switch (tag) {
      case TAG.NIL:
        return null
      case TAG.STRING:
      case TAG.ERROR: {
        const len = view.getUint32(pos, true)
        const start = pos + 4
        pos = start + len
        if (tag === TAG.ERROR) return new ReplyError(buf.toString('utf8', start, pos))
        return asBuffers ? Buffer.from(buf.subarray(start, pos)) : buf.toString('utf8', start, pos)
      }
      case TAG.INTEGER: {
        const n = view.getFloat64(pos, true)
        pos += 8
        return n
      }
      case TAG.ARRAY: {
        const count = view.getUint32(pos, true)
        pos += 4
        const items = new Array(count)
        for (let i = 0; i < count; i++) items[i] = next(typeof buffers === 'function' && asBuffers === undefined ? buffers(i) : asBuffers)
        return items
      }
      default:
        throw new Error(`internal error: unknown reply tag ${tag}`)
    }
  }
  return next(typeof buffers === 'function' ? undefined : buffers)
}

// ioredis flattens one level of arrays and stringifies everything but Buffers.
function pushArg(out, arg) {
  if (Buffer.isBuffer(arg)) out.push(arg)
  else if (arg instanceof Uint8Array) out.push(Buffer.from(arg.buffer, arg.byteOffset, arg.byteLength))
  else if (arg === null || arg === undefined) out.push('')
  else out.push(typeof arg === 'string' ? arg : String(arg))
}

function flattenArgs(args) {
  const out = []
  for (const arg of args) {
    if (Array.isArray(arg)) for (const inner of arg) pushArg(out, inner)
    else pushArg(out, arg)
  }
  return out
}

// `hset`, `hmset`, `mset`, `msetnx` accept an object or a Map for their field/value pairs.
const PAIR_COMMANDS = new Set(['hset', 'hmset', 'mset', 'msetnx'])

function expandPairs(name, args) {
  if (!PAIR_COMMANDS.has(name)) return args
  const keyFirst = name === 'hset' || name === 'hmset'
  const objIndex = keyFirst ? 1 : 0
  const obj = args[objIndex]
  if (args.length !== objIndex + 1 || obj === null || typeof obj !== 'object' || Array.isArray(obj) || Buffer.isBuffer(obj)) {
    return args
  }
  const pairs = []
  const entries = obj instanceof Map ? obj.entries() : Object.entries(obj)
  for (const [k, v] of entries) pairs.push(k, v)
  return keyFirst ? [args[0], ...pairs] : pairs
}

// Reply shapes ioredis gives that differ from the raw reply.
function transformReply(name, reply) {
  if ((name === 'hgetall' || name === 'hgetallbuffer') && Array.isArray(reply)) {
    const obj = {}
    for (let i = 0; i < reply.length; i += 2) {
      const field = String(reply[i])
      // A field named __proto__ must stay an own property, not set the object's prototype.
      if (field === '__proto__') {
        Object.defineProperty(obj, field, { value: reply[i + 1], enumerable: true, writable: true, configurable: true })
      } else {
        obj[field] = reply[i + 1]
      }
    }
    return obj
  }
  return reply
}

// Commands that would change the shared connection's state under the session methods, or need
// a connection of their own.
const REFUSED = new Map([
  ['subscribe', 'subscriber mode needs its own connection; use a separate Redis client for pub/sub'],
  ['psubscribe', 'subscriber mode needs its own connection; use a separate Redis client for pub/sub'],
  ['ssubscribe', 'subscriber mode needs its own connection; use a separate Redis client for pub/sub'],
  ['unsubscribe', 'this client never subscribes'],
  ['punsubscribe', 'this client never subscribes'],
  ['sunsubscribe', 'this client never subscribes'],
  ['monitor', 'MONITOR takes over the connection; run redis-cli monitor instead'],
  ['select', 'the connection is shared with the session methods; put the db number in the connection string'],
  ['multi', 'use client.multi() … .exec(), which sends MULTI/EXEC as one unit'],
  ['exec', 'use client.multi() … .exec(), which sends MULTI/EXEC as one unit'],
  ['discard', 'use client.multi() and simply do not call exec()'],
  ['reset', 'the connection is shared with the session methods'],
  ['hello', 'the connection is shared with the session methods, which expect RESP2'],
])

function splitCallback(args) {
  if (args.length > 0 && typeof args[args.length - 1] === 'function') {
    return [args.slice(0, -1), args[args.length - 1]]
  }
  return [args, undefined]
}

function withCallback(promise, callback) {
  if (callback) {
    promise.then((result) => process.nextTick(callback, null, result), (err) => process.nextTick(callback, err))
  }
  return promise
}

const BUFFER_SUFFIX = 'Buffer'

/** A pipeline or (`transaction`) a `MULTI`/`EXEC` block, chainable like ioredis's. */
class Pipeline {
  #client
  #transaction
  #names = []
  #args = []
  #buffers = []
  #callbacks = []
  #error = null

  constructor(client, transaction, commands) {
    this.#client = client
    this.#transaction = transaction
    if (Array.isArray(commands)) {
      // As ioredis: each entry calls the method of that name, so `getBuffer` works too.
      for (const [name, ...args] of commands) {
        const method = String(name)
        if (typeof this[method] === 'function' && method !== 'exec' && method !== 'call' && method !== 'callBuffer') {
          this[method](...args)
        } else {
          this.call(method, ...args)
        }
      }
    }
  }

  get length() {
    return this.#names.length
  }

  #add(name, rawArgs, buffers) {
    const [args, callback] = splitCallback(rawArgs)
    this.#callbacks.push(callback)
    const lower = name.toLowerCase()
    if (REFUSED.has(lower) || lower === 'quit') {
      this.#error ??= notSupported(`${name} in a pipeline`, REFUSED.get(lower))
    }
    this.#names.push(name)
    this.#args.push(flattenArgs(expandPairs(lower, args)))
    this.#buffers.push(buffers)
    return this
  }

  /** Queues any command by name. */
  call(name, ...args) {
    return this.#add(String(name), args, false)
  }

  /** Queues any command by name; its strings come back as Buffers. */
  callBuffer(name, ...args) {
    return this.#add(String(name), args, true)
  }

  /** Sends the batch. Resolves to `[[err, result], …]` (a `multi` aborted by `WATCH`: `null`). */
  exec(callback) {
    if (this.#error) return withCallback(Promise.reject(this.#error), callback)
    if (this.#names.length === 0) return withCallback(Promise.resolve([]), callback)
    const names = this.#names
    const buffers = this.#buffers
    const callbacks = this.#callbacks
    const transaction = this.#transaction
    const argc = this.#args.map((a) => a.length)
    const args = this.#args.flat()
    const promise = this.#client._batch(names, argc, args, transaction).then((encoded) => {
      if (encoded === null) return null // WATCH abort
      const replies = decodeReply(encoded, (i) => buffers[i])
      const results = replies.map((reply, i) =>
        reply instanceof ReplyError ? [reply] : [null, transformReply(names[i].toLowerCase() + (buffers[i] ? 'buffer' : ''), reply)])
      // Per-command callbacks, as ioredis: in a transaction they see the queueing state.
      results.forEach(([err, result], i) => {
        const cb = callbacks[i]
        if (cb) process.nextTick(cb, err ?? null, transaction && !err ? 'QUEUED' : result)
      })
      return results
    })
    return withCallback(promise, callback)
  }
}

// ioredis lets a pipeline hold an inline MULTI … EXEC; this client does not, and says so at once.
Pipeline.prototype.multi = function () {
  throw notSupported('multi() inside a pipeline', 'use client.multi() on its own')
}

for (const name of COMMANDS) {
  if (!(name in Pipeline.prototype)) {
    Pipeline.prototype[name] = function (...args) {
      return this.call(name, ...args)
    }
  }
  if (!(name + BUFFER_SUFFIX in Pipeline.prototype) && name !== 'exec') {
    Pipeline.prototype[name + BUFFER_SUFFIX] = function (...args) {
      return this.callBuffer(name, ...args)
    }
  }
}

/**
 * The ioredis-style client of a `SpotsSessions` instance. Not constructed by users: it is
 * `sessions.client`.
 */
class RedisClient extends EventEmitter {
  #owner

  constructor(owner) {
    super()
    this.#owner = owner
    /** ioredis's status: `connecting`, `connect`, `ready`, `reconnecting`, `close`, `end`. */
    this.status = 'connecting'
  }

  /** Runs any command by name: `call('SET', 'k', 'v', 'EX', 10)`. */
  call(name, ...rest) {
    const [args, callback] = splitCallback(rest)
    return withCallback(this._send(String(name), args, false), callback)
  }

  /** Same as {@link call}. */
  sendCommand(name, ...rest) {
    return this.call(name, ...rest)
  }

  /** Like {@link call}, with strings in the reply as Buffers. */
  callBuffer(name, ...rest) {
    const [args, callback] = splitCallback(rest)
    return withCallback(this._send(String(name), args, true), callback)
  }

  /** @internal one command; `buffers`: strings in the reply as Buffers */
  _send(name, args, buffers) {
    const lower = name.toLowerCase()
    if (lower === 'quit') return this.quit()
    if (REFUSED.has(lower)) return Promise.reject(notSupported(`${name}`, REFUSED.get(lower)))
    let flat
    try {
      flat = flattenArgs(expandPairs(lower, args))
    } catch (err) {
      return Promise.reject(err)
    }
    // The name goes out as given, so that Redis's errors quote it as the caller wrote it.
    return this.#owner.command(name, flat, buffers).then((reply) => transformReply(lower + (buffers ? 'buffer' : ''), reply))
  }

  /** A chainable pipeline: commands are sent together when `exec()` is called. */
  pipeline(commands) {
    return new Pipeline(this, false, commands)
  }

  /** A chainable `MULTI`/`EXEC` transaction. */
  multi(commandsOrOptions, maybeOptions) {
    const options = Array.isArray(commandsOrOptions) ? maybeOptions : commandsOrOptions
    if (options && options.pipeline === false) {
      throw notSupported('multi({ pipeline: false })', 'use client.multi() … .exec()')
    }
    return new Pipeline(this, true, Array.isArray(commandsOrOptions) ? commandsOrOptions : undefined)
  }

  /** @internal used by Pipeline */
  _batch(names, argc, args, transaction) {
    return this.#owner.batch(names, argc, args, transaction)
  }

  /** Closes the connection after pending replies (and the sessions instance with it). */
  quit(callback) {
    return withCallback(this.#owner.quit(), callback)
  }

  /** Closes the connection at once (and the sessions instance with it). */
  disconnect() {
    this.#owner.disconnect()
  }

  /** The connection is opened by the sessions instance itself. */
  connect() {
    return Promise.reject(new Error('Redis is already connecting/connected'))
  }

  duplicate() {
    throw notSupported('client.duplicate()', 'create another SpotsSessions, or your own Redis client')
  }

  defineCommand() {
    throw notSupported('client.defineCommand()', 'use client.eval()/evalsha() with your script')
  }

  /** @internal connection events from the native side */
  _event(name, detail) {
    if (name === 'ready') {
      if (this.status === 'ready') return
      this.status = 'connect'
      this.emit('connect')
      this.status = 'ready'
      this.emit('ready')
    } else if (name === 'error') {
      const err = new Error(detail)
      err.code = 'ERR_REDIS_CONNECTION'
      // ioredis emits 'error' too, but an 'error' with no listener must not crash the process.
      if (this.listenerCount('error') > 0) this.emit('error', err)
      if (this.status === 'ready' || this.status === 'connect') {
        this.status = 'close'
        this.emit('close')
      }
      if (this.status !== 'end') {
        this.status = 'reconnecting'
        this.emit('reconnecting', 0)
      }
    } else if (name === 'end') {
      if (this.status === 'end') return
      if (this.status !== 'close') {
        this.status = 'close'
        this.emit('close')
      }
      this.status = 'end'
      this.emit('end')
    }
  }
}

// ioredis's `*scanStream()` / `*scanBufferStream()` helpers: refused, naming the loop to write.
for (const [scan, keyArg] of [['scan', ''], ['sscan', 'key, '], ['hscan', 'key, '], ['zscan', 'key, ']]) {
  for (const suffix of ['', BUFFER_SUFFIX]) {
    RedisClient.prototype[`${scan}${suffix}Stream`] = function () {
      throw notSupported(`client.${scan}${suffix}Stream()`, `loop over client.${scan}${suffix}(${keyArg}cursor, …) instead`)
    }
  }
}

for (const name of COMMANDS) {
  if (name in RedisClient.prototype || name in EventEmitter.prototype) continue
  RedisClient.prototype[name] = function (...rest) {
    const [args, callback] = splitCallback(rest)
    return withCallback(this._send(name, args, false), callback)
  }
  RedisClient.prototype[name + BUFFER_SUFFIX] = function (...rest) {
    const [args, callback] = splitCallback(rest)
    return withCallback(this._send(name, args, true), callback)
  }
}

module.exports = { RedisClient, Pipeline, ReplyError, decodeReply, flattenArgs }
