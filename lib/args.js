'use strict'

// The argument checks of `SpotsSessions` (index.js): the constructor's options, the session
// calls' fields and `migrateFromV1`'s options, each checked so that a wrong value is reported
// with its name and a stable `code` (ErrorCode, src/error.rs); the own-property readers that
// keep a polluted `Object.prototype` out; and the error builders.

const { ErrorCode, MIGRATE_MAX_BATCH_SIZE, MIGRATE_DEFAULT_BATCH_SIZE } = require('../binding.js')

// An own property of `object`, never an inherited one: options and call arguments are read
// through this, so that a polluted `Object.prototype` (a prototype-pollution bug anywhere in the
// application, `Object.prototype.tls = { rejectUnauthorized: false }`, say) changes nothing here.
function own(object, field) {
  return Object.hasOwn(object, field) ? object[field] : undefined
}

// A fresh object without a prototype, for what crosses to the native side: napi reads its
// fields as properties, which would otherwise find inherited ones for those left out.
function bare(fields) {
  return Object.assign(Object.create(null), fields)
}

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
  return codedError(TypeError, ErrorCode.InvalidArgType, `${field}: must be ${expected}, got ${got}`)
}

function valueError(message) {
  return codedError(TypeError, ErrorCode.InvalidArgValue, message)
}

function closedError() {
  return codedError(Error, ErrorCode.Closed, 'Connection is closed (quit() or disconnect() was called)')
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
    const err = valueError(`data: cannot be serialised to JSON: ${cause.message}`)
    err.cause = cause
    throw err
  }
  if (typeof text !== 'string' || text.charCodeAt(0) !== 123 /* { */) {
    throw valueError('data: must serialise to a JSON object')
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

// The constructor's options are defined once, in Rust (src/options.rs), which also applies
// every default. Here each value's type is checked, so that a wrong one is reported with the
// option's name, and PEM Buffers become text; an absent or `null` option is left out (except
// `maxRetriesPerRequest: null`, which means "no limit").

// `label`: the option's name in errors, when it is nested (`tls.rejectUnauthorized`).
function optionOf(options, field, type, label = field) {
  const value = own(options, field)
  if (value === undefined || value === null) return undefined
  if (typeof value !== type) throw typeError(label, `a ${type}`, value)
  return value
}

function pem(value, field) {
  if (value === undefined || value === null) return undefined
  if (isArray(value)) return value.map((v, i) => pem(v, `${field}[${i}]`)).join('\n')
  if (Buffer.isBuffer(value)) return value.toString('utf8')
  if (typeof value === 'string') return value
  throw typeError(field, 'PEM text (a string or Buffer, or an array of them)', value)
}

// ioredis's `tls` option: `true`/`false`, or `{ ca, cert, key, rejectUnauthorized }`.
function tlsOption(options, field) {
  const value = own(options, field)
  if (value === undefined || value === null || typeof value === 'boolean') return value ?? undefined
  if (typeof value !== 'object' || isArray(value)) throw typeError(field, 'true or an object', value)
  return bare({
    ca: pem(own(value, 'ca'), 'tls.ca'),
    cert: pem(own(value, 'cert'), 'tls.cert'),
    key: pem(own(value, 'key'), 'tls.key'),
    rejectUnauthorized: optionOf(value, 'rejectUnauthorized', 'boolean', 'tls.rejectUnauthorized'),
  })
}

function nodesOption(options, field) {
  const value = own(options, field)
  if (value === undefined || value === null) return undefined
  if (!isArray(value)) throw typeError(field, 'an array of { host, port }', value)
  return Array.from(value, (node, i) => {
    if (node === null || typeof node !== 'object') throw typeError(`${field}[${i}]`, 'a { host, port } object', node)
    return bare({ host: optionOf(node, 'host', 'string'), port: optionOf(node, 'port', 'number') })
  })
}

// `durability: { replicas, timeout }`: both numbers (their ranges are checked natively, naming
// `durability`).
function durabilityOption(options, field) {
  const value = own(options, field)
  if (value === undefined || value === null) return undefined
  if (typeof value !== 'object' || isArray(value)) throw typeError(field, 'a { replicas, timeout } object', value)
  const number = (name) => {
    const n = own(value, name)
    if (typeof n !== 'number') throw typeError(`${field}.${name}`, 'a number', n)
    return n
  }
  return bare({ replicas: number('replicas'), timeout: number('timeout') })
}

function retriesOption(options, field) {
  return own(options, field) === null ? null : optionOf(options, field, 'number')
}

// Every option of `SessionsOptions` (binding.d.ts) with its check: a `typeof` name, or a function
// of (options, field). A test keeps this table and the Rust struct in step.
const OPTIONS = {
  connectionString: 'string',
  host: 'string',
  port: 'number',
  path: 'string',
  username: 'string',
  password: 'string',
  db: 'number',
  tls: tlsOption,
  sentinels: nodesOption,
  name: 'string',
  cluster: nodesOption,
  tokenEncoding: 'string',
  tokenSize: 'number',
  connectTimeout: 'number',
  commandTimeout: 'number',
  maxRetriesPerRequest: retriesOption,
  enableOfflineQueue: 'boolean',
  offlineQueueLimit: 'number',
  durability: durabilityOption,
}

function nativeOptions(options) {
  if (options === undefined || options === null) return bare({})
  if (typeof options === 'string') return bare({ connectionString: options })
  if (typeof options !== 'object' || isArray(options)) {
    throw typeError('options', 'a connection string or an options object', options)
  }
  const native = bare({})
  for (const field of Object.keys(OPTIONS)) {
    const check = OPTIONS[field]
    const value = typeof check === 'string' ? optionOf(options, field, check) : check(options, field)
    if (value !== undefined) native[field] = value
  }
  return native
}

// `migrateFromV1` options, checked here so that the errors name the option.
function migrateOptions(options) {
  if (options === undefined || options === null) options = {}
  if (typeof options !== 'object' || isArray(options))
    throw typeError('migrateFromV1()', 'called with an options object', options)
  const batchSize = optionOf(options, 'batchSize', 'number') ?? MIGRATE_DEFAULT_BATCH_SIZE
  if (!Number.isInteger(batchSize) || batchSize < 1 || batchSize > MIGRATE_MAX_BATCH_SIZE) {
    throw codedError(
      RangeError,
      ErrorCode.InvalidArgValue,
      `batchSize: must be a whole number from 1 to ${MIGRATE_MAX_BATCH_SIZE}, got ${batchSize}`,
    )
  }
  const onProgress = own(options, 'onProgress') ?? undefined
  if (onProgress !== undefined && typeof onProgress !== 'function')
    throw typeError('onProgress', 'a function', onProgress)
  return {
    dryRun: optionOf(options, 'dryRun', 'boolean') ?? false,
    deleteOld: optionOf(options, 'deleteOld', 'boolean') ?? false,
    batchSize,
    onProgress,
  }
}

module.exports = {
  own,
  bare,
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
}
