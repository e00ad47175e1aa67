/**
 * `@spots-tech/sessions`: users' sessions in Redis, native (Rust) edition.
 *
 * A drop-in replacement for the JavaScript package of the same name: the same class, options,
 * methods and results.
 */

/// <reference types="node" />
import type { EventEmitter } from 'node:events'

/** Node `Buffer` encodings that keep every bit of a token's randomness. */
export type TokenEncoding = 'base64' | 'base64url' | 'hex'

/** Options for {@link SpotsSessions}. Every field is optional. */
export interface SpotsSessionsOptions {
  /**
   * `redis://[user:password@]host[:port][/db]`. Default: `redis://127.0.0.1:6379` (or the
   * `SPOTS_SESSIONS_REDIS_URL` environment variable when it is set).
   */
  connectionString?: string
  /** How tokens are encoded, as `Buffer#toString(encoding)`. Default `'base64'`. */
  tokenEncoding?: TokenEncoding
  /** Random bytes per token, 8 to 1024. Default `128` (a 172-character base64 token). */
  tokenSize?: number
  /** Milliseconds allowed to establish a connection. Default `10000`. */
  connectTimeout?: number
  /**
   * Milliseconds a call may wait for Redis (including while connecting or reconnecting)
   * before it rejects with `code: 'ERR_REDIS_TIMEOUT'`. Default `5000`.
   */
  commandTimeout?: number
  /**
   * How many times a command is re-sent when its connection drops while it is in flight, as
   * ioredis's option. Default `20`. (A `null` means no limit other than `commandTimeout`.)
   */
  maxRetriesPerRequest?: number | null
  /**
   * As ioredis: `true` (default) lets calls wait for the connection while Redis is unreachable
   * (up to `commandTimeout`); `false` rejects them at once with `code: 'ERR_REDIS_OFFLINE'`.
   */
  enableOfflineQueue?: boolean
  /**
   * Most calls that may wait for the connection at once; further calls reject at once with
   * `code: 'ERR_REDIS_OFFLINE'`. `0` (default) means no limit.
   */
  offlineQueueLimit?: number
}

/** A session's custom data: any JSON-serialisable plain object. */
export type SessionData = Record<string, any>

/** Arguments of {@link SpotsSessions.create}. */
export interface CreateSessionDto<T extends object = SessionData> {
  /** The application the session belongs to. Any string. */
  app: string
  /** The session's owner (a user id). Any string; a number is turned into a string. */
  ownerId: string
  /** Custom data stored with the session. Default `{}`. */
  data?: T
  /** Lifetime in whole seconds (1 to 2147483647). Omitted: the session never expires. */
  duration?: number
}

/** Arguments of {@link SpotsSessions.get}. */
export interface GetSessionDto {
  app: string
  token: string
}

/** What {@link SpotsSessions.get} resolves to when the session exists. */
export interface GetSessionResponseDto<T extends object = SessionData> {
  ownerId: string
  /** Equal to `JSON.parse(JSON.stringify(data))` after every update. */
  data: T
}

/** Arguments of {@link SpotsSessions.refresh}. */
export interface RefreshSessionDto {
  app: string
  token: string
  /** The new remaining life, in whole seconds (1 to 2147483647). */
  duration: number
}

/** Arguments of {@link SpotsSessions.update}. */
export interface UpdateSessionDto<T extends object = SessionData> {
  app: string
  token: string
  /** Shallow merge: a `null` value deletes that key, an `undefined` value is ignored. */
  data: { [K in keyof T]?: T[K] | null | undefined }
}

/** Arguments of {@link SpotsSessions.kill}. */
export interface KillSessionDto {
  app: string
  token: string
}

/** Arguments of {@link SpotsSessions.killAll}. */
export interface KillAllSessionsDto {
  app: string
  ownerId: string
}

/**
 * Errors carry a stable `code`: `ERR_INVALID_ARG_TYPE` / `ERR_INVALID_ARG_VALUE` (bad input; the
 * message names the field), `ERR_REDIS_TIMEOUT`, `ERR_REDIS_CONNECTION`, `ERR_REDIS_OOM` (a write
 * refused at Redis's `maxmemory`), `ERR_REDIS` (an error
 * reply; the message is Redis's own for `client` commands), `ERR_CLOSED` (after
 * `quit()`/`disconnect()`), `ERR_NOT_SUPPORTED` (a `client` feature this package does not provide).
 */
export interface SpotsSessionsError extends Error {
  code: string
}

/** A key: a string or raw bytes. */
export type RedisKey = string | Buffer
/** An argument: strings and Buffers pass as they are, numbers are sent as their decimal text. */
export type RedisValue = string | Buffer | number
/** A Node-style callback, honoured when given as a command's last argument. */
export type Callback<T> = (err: Error | null, result?: T) => void
/** The client's connection status, with ioredis's values. */
export type ClientStatus = 'wait' | 'connecting' | 'connect' | 'ready' | 'reconnecting' | 'close' | 'end'
/** What a pipeline or transaction resolves to: one `[error]` or `[null, result]` per command. */
export type PipelineResult = Array<[Error | null, unknown]>

/**
 * Commands queued in a pipeline or `multi()`: every Redis command is a lower-case method (and a
 * `*Buffer` variant); the common ones are typed below, any other works through `call`.
 */
export interface ChainableCommands {
  call(command: string, ...args: Array<RedisValue | RedisValue[]>): this
  callBuffer(command: string, ...args: Array<RedisValue | RedisValue[]>): this
  get(key: RedisKey): this
  getBuffer(key: RedisKey): this
  set(key: RedisKey, value: RedisValue, ...args: RedisValue[]): this
  del(...keys: Array<RedisKey | RedisKey[]>): this
  exists(...keys: Array<RedisKey | RedisKey[]>): this
  expire(key: RedisKey, seconds: number, ...args: string[]): this
  ttl(key: RedisKey): this
  incr(key: RedisKey): this
  incrby(key: RedisKey, increment: number): this
  decr(key: RedisKey): this
  mget(...keys: Array<RedisKey | RedisKey[]>): this
  mset(...args: Array<RedisValue | RedisValue[] | Record<string, RedisValue> | Map<RedisKey, RedisValue>>): this
  hset(key: RedisKey, ...args: Array<RedisValue | RedisValue[] | Record<string, RedisValue> | Map<RedisKey, RedisValue>>): this
  hget(key: RedisKey, field: RedisKey): this
  hgetall(key: RedisKey): this
  hdel(key: RedisKey, ...fields: RedisKey[]): this
  hincrby(key: RedisKey, field: RedisKey, increment: number): this
  sadd(key: RedisKey, ...members: Array<RedisValue | RedisValue[]>): this
  smembers(key: RedisKey): this
  zadd(key: RedisKey, ...args: Array<RedisValue | RedisValue[]>): this
  zrange(key: RedisKey, start: number | string, stop: number | string, ...args: RedisValue[]): this
  lpush(key: RedisKey, ...values: Array<RedisValue | RedisValue[]>): this
  lrange(key: RedisKey, start: number, stop: number): this
  eval(script: string, numkeys: number, ...args: Array<RedisValue | RedisValue[]>): this
  [command: string]: unknown
}

/** A chainable pipeline, or a `MULTI`/`EXEC` transaction from `multi()`. */
export interface Pipeline extends ChainableCommands {
  /** How many commands are queued. */
  readonly length: number
  /**
   * Sends the queued commands together. Resolves to `[[err, result], …]`; a `multi()` whose
   * `WATCH`ed keys changed resolves to `null`.
   */
  exec(callback?: Callback<PipelineResult | null>): Promise<PipelineResult | null>
}

/**
 * The ioredis-style Redis client of a `SpotsSessions` instance: the same Redis and options, on a
 * connection of its own opened on first use. Every Redis command
 * is a lower-case method with a `*Buffer` variant; the common ones are typed here, and
 * `call(command, ...args)` reaches any command. Replies come back as ioredis gives them.
 *
 * Not supported (rejects or throws with `code: 'ERR_NOT_SUPPORTED'`): subscriber mode
 * (`subscribe`, `psubscribe`, `ssubscribe`), `monitor`, `select` (put the db in the connection
 * string), raw `multi`/`exec`/`discard` through `call` (use `multi()`), `duplicate()`,
 * `*scanStream()`, `defineCommand()`.
 */
export interface RedisClient extends EventEmitter {
  /** ioredis's status values. */
  readonly status: ClientStatus

  /** Any command by name, e.g. `call('SET', 'k', 'v', 'EX', 10)`. */
  call(command: string, ...args: Array<RedisValue | RedisValue[] | Callback<unknown>>): Promise<unknown>
  /** Same as `call`. */
  sendCommand(command: string, ...args: Array<RedisValue | RedisValue[] | Callback<unknown>>): Promise<unknown>
  /** Like `call`, with the reply's strings as Buffers. */
  callBuffer(command: string, ...args: Array<RedisValue | RedisValue[] | Callback<unknown>>): Promise<unknown>

  get(key: RedisKey, callback?: Callback<string | null>): Promise<string | null>
  getBuffer(key: RedisKey, callback?: Callback<Buffer | null>): Promise<Buffer | null>
  set(key: RedisKey, value: RedisValue, ...args: Array<RedisValue | Callback<'OK' | null>>): Promise<'OK' | null>
  setex(key: RedisKey, seconds: number, value: RedisValue, callback?: Callback<'OK'>): Promise<'OK'>
  setnx(key: RedisKey, value: RedisValue, callback?: Callback<number>): Promise<number>
  getdel(key: RedisKey, callback?: Callback<string | null>): Promise<string | null>
  append(key: RedisKey, value: RedisValue, callback?: Callback<number>): Promise<number>
  strlen(key: RedisKey, callback?: Callback<number>): Promise<number>
  del(...keys: Array<RedisKey | RedisKey[]>): Promise<number>
  unlink(...keys: Array<RedisKey | RedisKey[]>): Promise<number>
  exists(...keys: Array<RedisKey | RedisKey[]>): Promise<number>
  expire(key: RedisKey, seconds: number, ...args: string[]): Promise<number>
  pexpire(key: RedisKey, milliseconds: number, ...args: string[]): Promise<number>
  expireat(key: RedisKey, timestamp: number, ...args: string[]): Promise<number>
  persist(key: RedisKey, callback?: Callback<number>): Promise<number>
  ttl(key: RedisKey, callback?: Callback<number>): Promise<number>
  pttl(key: RedisKey, callback?: Callback<number>): Promise<number>
  type(key: RedisKey, callback?: Callback<string>): Promise<string>
  rename(key: RedisKey, newKey: RedisKey, callback?: Callback<'OK'>): Promise<'OK'>
  incr(key: RedisKey, callback?: Callback<number>): Promise<number>
  incrby(key: RedisKey, increment: number | string, callback?: Callback<number>): Promise<number>
  incrbyfloat(key: RedisKey, increment: number | string, callback?: Callback<string>): Promise<string>
  decr(key: RedisKey, callback?: Callback<number>): Promise<number>
  decrby(key: RedisKey, decrement: number | string, callback?: Callback<number>): Promise<number>
  mget(...keys: Array<RedisKey | RedisKey[]>): Promise<Array<string | null>>
  mset(...args: Array<RedisValue | RedisValue[] | Record<string, RedisValue> | Map<RedisKey, RedisValue>>): Promise<'OK'>
  msetnx(...args: Array<RedisValue | RedisValue[] | Record<string, RedisValue> | Map<RedisKey, RedisValue>>): Promise<number>
  keys(pattern: string, callback?: Callback<string[]>): Promise<string[]>
  scan(cursor: number | string, ...args: RedisValue[]): Promise<[cursor: string, keys: string[]]>

  hset(key: RedisKey, ...args: Array<RedisValue | RedisValue[] | Record<string, RedisValue> | Map<RedisKey, RedisValue>>): Promise<number>
  hmset(key: RedisKey, ...args: Array<RedisValue | RedisValue[] | Record<string, RedisValue> | Map<RedisKey, RedisValue>>): Promise<'OK'>
  hsetnx(key: RedisKey, field: RedisKey, value: RedisValue, callback?: Callback<number>): Promise<number>
  hget(key: RedisKey, field: RedisKey, callback?: Callback<string | null>): Promise<string | null>
  hgetBuffer(key: RedisKey, field: RedisKey, callback?: Callback<Buffer | null>): Promise<Buffer | null>
  hmget(key: RedisKey, ...fields: Array<RedisKey | RedisKey[]>): Promise<Array<string | null>>
  hgetall(key: RedisKey, callback?: Callback<Record<string, string>>): Promise<Record<string, string>>
  hgetallBuffer(key: RedisKey, callback?: Callback<Record<string, Buffer>>): Promise<Record<string, Buffer>>
  hdel(key: RedisKey, ...fields: Array<RedisKey | RedisKey[]>): Promise<number>
  hexists(key: RedisKey, field: RedisKey, callback?: Callback<number>): Promise<number>
  hincrby(key: RedisKey, field: RedisKey, increment: number | string, callback?: Callback<number>): Promise<number>
  hkeys(key: RedisKey, callback?: Callback<string[]>): Promise<string[]>
  hvals(key: RedisKey, callback?: Callback<string[]>): Promise<string[]>
  hlen(key: RedisKey, callback?: Callback<number>): Promise<number>

  sadd(key: RedisKey, ...members: Array<RedisValue | RedisValue[]>): Promise<number>
  srem(key: RedisKey, ...members: Array<RedisValue | RedisValue[]>): Promise<number>
  smembers(key: RedisKey, callback?: Callback<string[]>): Promise<string[]>
  sismember(key: RedisKey, member: RedisValue, callback?: Callback<number>): Promise<number>
  scard(key: RedisKey, callback?: Callback<number>): Promise<number>

  zadd(key: RedisKey, ...args: Array<RedisValue | RedisValue[]>): Promise<number>
  zrem(key: RedisKey, ...members: Array<RedisValue | RedisValue[]>): Promise<number>
  zrange(key: RedisKey, start: number | string, stop: number | string, ...args: RedisValue[]): Promise<string[]>
  zrangebyscore(key: RedisKey, min: number | string, max: number | string, ...args: RedisValue[]): Promise<string[]>
  zscore(key: RedisKey, member: RedisValue, callback?: Callback<string | null>): Promise<string | null>
  zincrby(key: RedisKey, increment: number | string, member: RedisValue, callback?: Callback<string>): Promise<string>
  zcard(key: RedisKey, callback?: Callback<number>): Promise<number>

  lpush(key: RedisKey, ...values: Array<RedisValue | RedisValue[]>): Promise<number>
  rpush(key: RedisKey, ...values: Array<RedisValue | RedisValue[]>): Promise<number>
  lpop(key: RedisKey, callback?: Callback<string | null>): Promise<string | null>
  rpop(key: RedisKey, callback?: Callback<string | null>): Promise<string | null>
  lrange(key: RedisKey, start: number, stop: number, callback?: Callback<string[]>): Promise<string[]>
  llen(key: RedisKey, callback?: Callback<number>): Promise<number>

  eval(script: string, numkeys: number | string, ...args: Array<RedisValue | RedisValue[]>): Promise<unknown>
  evalsha(sha1: string, numkeys: number | string, ...args: Array<RedisValue | RedisValue[]>): Promise<unknown>
  watch(...keys: Array<RedisKey | RedisKey[]>): Promise<'OK'>
  unwatch(callback?: Callback<'OK'>): Promise<'OK'>
  publish(channel: string, message: RedisValue, callback?: Callback<number>): Promise<number>
  ping(callback?: Callback<'PONG'>): Promise<'PONG'>
  echo(message: string, callback?: Callback<string>): Promise<string>
  info(...sections: string[]): Promise<string>
  dbsize(callback?: Callback<number>): Promise<number>
  flushdb(...args: string[]): Promise<'OK'>
  flushall(...args: string[]): Promise<'OK'>
  time(callback?: Callback<[string, string]>): Promise<[string, string]>

  /** A chainable pipeline; `commands` may pre-fill it as `[['set', 'k', 'v'], …]`. */
  pipeline(commands?: Array<[string, ...RedisValue[]]>): Pipeline
  /** A chainable `MULTI`/`EXEC` transaction. */
  multi(commands?: Array<[string, ...RedisValue[]]>): Pipeline

  /** Closes after pending replies, and the sessions instance with it. Resolves to `'OK'`. */
  quit(callback?: Callback<'OK'>): Promise<'OK'>
  /** Closes at once, and the sessions instance with it. */
  disconnect(): void

  on(event: 'connect' | 'ready' | 'close' | 'end', listener: () => void): this
  on(event: 'reconnecting', listener: (delay: number) => void): this
  on(event: 'error', listener: (err: Error) => void): this
  once(event: 'connect' | 'ready' | 'close' | 'end', listener: () => void): this
  once(event: 'reconnecting', listener: (delay: number) => void): this
  once(event: 'error', listener: (err: Error) => void): this
}

/** Manages users' sessions in Redis. */
export declare class SpotsSessions {
  /**
   * Connects in the background (never blocks, never throws because Redis is down). Throws at
   * once on a bad option, naming it.
   *
   * @param options a `redis://` connection string, or {@link SpotsSessionsOptions}.
   */
  constructor(options?: string | SpotsSessionsOptions)

  /**
   * The ioredis-style client to this instance's Redis, as the original package exposed its
   * ioredis instance. Closing it closes the sessions instance too.
   */
  readonly client: RedisClient

  /** Creates a session and resolves to its token. */
  create<T extends object = SessionData>(dto: CreateSessionDto<T>): Promise<string>

  /**
   * Resolves to the session's `{ ownerId, data }`, or to `undefined` when it does not exist or
   * has expired.
   *
   * The declared type leaves out `undefined` on purpose, exactly like the original package's
   * typings, so that existing strict TypeScript code compiles unchanged. Check the result before
   * destructuring it when the token may be unknown.
   */
  get<T extends object = SessionData>(dto: GetSessionDto): Promise<GetSessionResponseDto<T>>

  /** Sets the session's remaining life to `duration` seconds. `false` if it does not exist. */
  refresh(dto: RefreshSessionDto): Promise<boolean>

  /**
   * Shallow-merges `data` into the session, atomically on the server; the remaining life is
   * unchanged. `false` if it does not exist.
   */
  update<T extends object = SessionData>(dto: UpdateSessionDto<T>): Promise<boolean>

  /** Deletes the session. `false` if it did not exist. */
  kill(dto: KillSessionDto): Promise<boolean>

  /** Deletes every session of `ownerId` in `app`. `true` if at least one was deleted. */
  killAll(dto: KillAllSessionsDto): Promise<boolean>

  /** Lets the calls in flight finish, then closes the connection. Resolves to `'OK'`. */
  quit(): Promise<'OK'>

  /** Closes the connection at once; calls in flight reject with `code: 'ERR_CLOSED'`. */
  disconnect(): void
}

export default SpotsSessions
