'use strict'

// `sessions.client`: a real ioredis instance, as 1.x exposed, built from the same options as the
// sessions.
//
// The options are parsed once, by the native side (src/config.rs), whose `describeConnection`
// says what they name: kind (single / unix / sentinel / cluster), nodes, TLS on or off,
// credentials, db, Sentinel name. `ioredisArguments` maps that description, plus the caller's
// own `tls` object and timeouts, to ioredis's constructor arguments; there is no second parser.

/** PEM fields of the `tls` option that the sessions' connection uses too. */
const TLS_FIELDS = ['ca', 'cert', 'key', 'rejectUnauthorized']

// An own property, never an inherited one (a polluted `Object.prototype` changes nothing).
const own = (object, field) => (Object.hasOwn(object, field) ? object[field] : undefined)

// ioredis's `tls`: the caller's CA, certificate, key and `rejectUnauthorized` as given (strings,
// Buffers or arrays: Node's `tls.connect` takes them all), or `{}` (the system's CAs) when TLS
// was asked for by `tls: true` or a `rediss…` scheme.
function tlsOf(value) {
  const tls = {}
  if (value !== null && typeof value === 'object') {
    for (const field of TLS_FIELDS) {
      const given = own(value, field)
      if (given !== undefined && given !== null) tls[field] = given
    }
  }
  return tls
}

/** The caller's options that `client` uses besides the parsed connection, read once. */
function clientOptionsOf(options) {
  if (options === null || typeof options !== 'object') return {}
  const fields = ['tls', 'connectTimeout', 'commandTimeout', 'maxRetriesPerRequest', 'enableOfflineQueue']
  return Object.fromEntries(fields.map((field) => [field, own(options, field)]))
}

const nodesOf = (connection) => connection.nodes.map(({ host, port }) => ({ host, port }))

/**
 * ioredis's constructor arguments for the connection `connection` (from the native
 * `describeConnection`) and the caller's constructor `options` (a string, an object or
 * `undefined`).
 *
 * The timeouts the caller set go to ioredis's options of the same meaning (`connectTimeout`,
 * `commandTimeout`, `maxRetriesPerRequest`, `enableOfflineQueue`); those left out keep
 * ioredis's defaults, as 1.x's client had (a default `commandTimeout` would cut blocking
 * commands short). `offlineQueueLimit` has no ioredis counterpart.
 *
 * @returns {{ cluster: false, options: object } | { cluster: true, nodes: Array<{ host: string, port: number }>, options: object }}
 *   `new Redis(options)`, or `new Redis.Cluster(nodes, options)`.
 */
function ioredisArguments(connection, options) {
  const given = clientOptionsOf(options)
  const server = {}
  if (connection.username !== undefined && connection.username !== null) server.username = connection.username
  if (connection.password !== undefined && connection.password !== null) server.password = connection.password
  if (connection.tls) server.tls = tlsOf(given.tls)
  if (typeof given.connectTimeout === 'number') server.connectTimeout = given.connectTimeout
  if (typeof given.commandTimeout === 'number') server.commandTimeout = given.commandTimeout
  // `null`: retry until the command times out, in both.
  if (given.maxRetriesPerRequest === null || typeof given.maxRetriesPerRequest === 'number') {
    server.maxRetriesPerRequest = given.maxRetriesPerRequest
  }
  const offline = typeof given.enableOfflineQueue === 'boolean' ? { enableOfflineQueue: given.enableOfflineQueue } : {}
  if (connection.kind === 'cluster') {
    // Redis Cluster has database 0 only; the per-node options go in `redisOptions`.
    return { cluster: true, nodes: nodesOf(connection), options: { ...offline, redisOptions: server } }
  }
  const db = connection.db !== undefined && connection.db !== null ? { db: connection.db } : {}
  if (connection.kind === 'sentinel') {
    // The sessions' connection (fred) authenticates to the sentinels with the same credentials
    // as to the master, and speaks TLS to both when TLS is on: so does the client.
    const sentinel = {}
    if (server.username !== undefined) sentinel.sentinelUsername = server.username
    if (server.password !== undefined) sentinel.sentinelPassword = server.password
    if (server.tls !== undefined) Object.assign(sentinel, { enableTLSForSentinelMode: true, sentinelTLS: server.tls })
    return {
      cluster: false,
      options: { sentinels: nodesOf(connection), name: connection.name, ...server, ...sentinel, ...db, ...offline },
    }
  }
  if (connection.kind === 'unix') {
    return { cluster: false, options: { path: connection.path, ...server, ...db, ...offline } }
  }
  const [{ host, port }] = connection.nodes
  return { cluster: false, options: { host, port, ...server, ...db, ...offline } }
}

/**
 * A new ioredis `Redis` (or `Cluster`) for `args` (see `ioredisArguments`). It connects at once,
 * as 1.x's did, unless `closed`: then it is created already ended (an instance closed before
 * anyone read its `client` opens no connection; commands reject as on any ended ioredis).
 */
function createClient(args, closed = false) {
  // Loaded on first use: an application that never reads `client` never loads ioredis.
  const Redis = require('ioredis')
  const options = closed ? { ...args.options, lazyConnect: true } : args.options
  const client = args.cluster ? new Redis.Cluster(args.nodes, options) : new Redis(options)
  if (closed) client.disconnect()
  return client
}

const CONNECTION_CLOSED = 'Connection is closed.'

// Whether `client`, after quit(), still holds a socket whose closing will end it. ioredis's
// quit() while reconnecting (no socket, a retry timer pending) only cancels the retry: nothing
// is left open, and no 'end' ever follows.
function holdsConnection(client) {
  if (client.status === 'end') return false
  if (client.isCluster) return client.nodes().length > 0 // the Cluster ends when its last node has
  return Boolean(client.stream) && !client.stream.destroyed
}

/**
 * Quits `client` gracefully and resolves once it holds no connection any more (so that it no
 * longer keeps Node alive); at once when it had already ended.
 */
function quitClient(client) {
  if (client.status === 'end') return Promise.resolve()
  // 'end' is emitted once, and not before this listener is added.
  const ended = new Promise((resolve) => client.once('end', resolve))
  const closed = () => (holdsConnection(client) ? ended : undefined)
  return client.quit().then(closed, (err) => {
    if (err && err.message === CONNECTION_CLOSED) return closed()
    throw err
  })
}

module.exports = { clientOptionsOf, ioredisArguments, createClient, quitClient }
