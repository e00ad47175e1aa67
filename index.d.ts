/**
 * `@spots-tech/sessions`: users' sessions in Redis, native (Rust) edition.
 *
 * A drop-in replacement for the JavaScript package of the same name: the same class, options,
 * methods and results.
 */

/// <reference types="node" />
import type { Redis, Cluster } from 'ioredis'
import type { ConnectionEvent, ErrorCode, NodeAddress, SessionsOptions, TlsSettings } from './binding'

/** Node `Buffer` encodings that keep every bit of a token's randomness. */
export type TokenEncoding = 'base64' | 'base64url' | 'hex'

/** A `{ host, port }` entry of `sentinels` or `cluster` (defaults documented on each field). */
export type RedisNode = NodeAddress

/** PEM text, a Buffer of it, or an array of them (joined). */
export type Pem = string | Buffer | Array<string | Buffer>

/** The `tls` option: your CA and client certificate, as PEM text or Buffers. */
export interface TlsOptions extends Omit<TlsSettings, 'ca' | 'cert' | 'key'> {
  /** CA certificates to trust instead of the system's. */
  ca?: Pem
  /** Client certificate chain, for servers that require client authentication. */
  cert?: Pem
  /** The client certificate's private key. */
  key?: Pem
}

/**
 * Options for {@link SpotsSessions}. Every field is optional. Defined once, in Rust
 * (`src/options.rs`, which applies every default); this type is that definition, with PEM
 * Buffers allowed in `tls` and `tokenEncoding` narrowed to the encodings that are accepted.
 */
export interface SpotsSessionsOptions extends Omit<SessionsOptions, 'tls' | 'tokenEncoding'> {
  /** TLS: `true` for the system's CAs, or your CA and client certificate. Default off. */
  tls?: boolean | TlsOptions
  /** How tokens are encoded, as `Buffer#toString(encoding)`. Default `'base64'`. */
  tokenEncoding?: TokenEncoding
}

/** Every `err.code` of this package, and the `code` of its `SPOTS_SESSIONS_EVICTION` warning. */
export type SpotsSessionsErrorCode = `${ErrorCode}`

/** The session methods, as `SpotsSessionsCallContext.operation` names them. */
export type SpotsSessionsOperation =
  'create' | 'get' | 'refresh' | 'update' | 'kill' | 'killAll' | 'list' | 'count' | 'rotate'

/**
 * The context object of each call on the `spots-sessions:call` TracingChannel
 * (`diagnostics_channel.tracingChannel('spots-sessions:call')`): one object per call, passed to
 * `start`, `end`, `asyncStart`, `asyncEnd` and `error`. It never holds a token, owner id,
 * session data, password or the call's result.
 */
export interface SpotsSessionsCallContext {
  /** The method called. */
  operation: SpotsSessionsOperation
  /** The call's `app`, when it was a string. */
  app: string | undefined
  /**
   * The server that serves the call: the configured host, Sentinel's current master, or on Redis
   * Cluster the primary that owns the call's key slot (the session's key for calls by token or
   * session id, the owner's index for `create`, `killAll`, `list` and `count`); the socket path on
   * a unix socket. `undefined` while unknown (before the first connection or slot map).
   */
  serverAddress: string | undefined
  /** That server's port (`undefined` on a unix socket or while unknown). */
  serverPort: number | undefined
  /** The database number (always `0` on Redis Cluster). */
  database: number
  /** How the instance connects. */
  topology: 'single' | 'unix' | 'sentinel' | 'cluster'
  /** Set before `error`: the error the call rejects with. */
  error?: Error & { code?: SpotsSessionsErrorCode }
}

/** The name of each `spots-sessions:connection:<name>` channel. */
export type SpotsSessionsConnectionEventName = 'connect' | 'ready' | 'error' | 'close' | 'reconnecting' | 'failover'

/**
 * The message published on `spots-sessions:connection:<event>`: addresses and reasons, never a
 * password or user name.
 */
export interface SpotsSessionsConnectionEvent extends Omit<ConnectionEvent, 'event' | 'code'> {
  event: SpotsSessionsConnectionEventName
  /** `error`: the code a call failing for the same reason rejects with. */
  code?: SpotsSessionsErrorCode
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
  /**
   * Absolute lifetime in whole seconds from creation (1 to 2147483647, at least `duration`): no
   * `refresh` extends the session past `createdAt + maxAge`. Without `duration`, the session
   * expires exactly then.
   */
  maxAge?: number
  /**
   * At most this many live sessions for this owner in this app (1 to 10000): the oldest-created
   * are killed so that exactly `maxSessions` remain, the new one included.
   */
  maxSessions?: number
}

/** Arguments of {@link SpotsSessions.get}. */
export interface GetSessionDto {
  app: string
  token: string
  /**
   * When given and the session exists, also sets its remaining life to this many whole seconds
   * (capped by `maxAge`), as `refresh` does, in the same round trip.
   */
  refresh?: number
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
  /** Give `token` or `sessionId`, not both. */
  sessionId?: undefined
  /** Kill only if the session is this owner's (`false` otherwise, and it lives on). */
  ownerId?: string
}

/** Arguments of {@link SpotsSessions.kill} addressed by session id instead of token. */
export interface KillSessionByIdDto {
  app: string
  /** From {@link SpotsSessions.sessionIdOf} or {@link SpotsSessions.list}. */
  sessionId: string
  /** Give `token` or `sessionId`, not both. */
  token?: undefined
  /**
   * Kill only if the session is this owner's (`false` otherwise, and it lives on). Pass the
   * signed-in user here: session ids are shown in pages and logs, and without it any id kills.
   */
  ownerId?: string
}

/** Arguments of {@link SpotsSessions.killAll}. */
export interface KillAllSessionsDto {
  app: string
  ownerId: string
  /** Keep the session of this token ("sign out everywhere else"). */
  exceptToken?: string
}

/** Arguments of {@link SpotsSessions.count}. */
export interface CountSessionsDto {
  app: string
  /** A number is turned into a string, as everywhere else. */
  ownerId: string
}

/** Arguments of {@link SpotsSessions.list}. */
export interface ListSessionsDto extends CountSessionsDto {
  /** At most this many sessions (a whole number of at least 1), the newest-created. */
  limit?: number
}

/** Arguments of {@link SpotsSessions.rotate}. */
export interface RotateSessionDto {
  app: string
  token: string
}

/** One live session, as {@link SpotsSessions.list} reports it. */
export interface SessionInfo<T extends object = SessionData> {
  /** The session's public id ({@link SpotsSessions.sessionIdOf} of its token). */
  sessionId: string
  /** Creation time, ms since the epoch (Redis's clock); `null` for sessions created by 2.0.0 (before session management). */
  createdAt: number | null
  /** Expiry, ms since the epoch; `null` when it never expires. */
  expiresAt: number | null
  /** As `get` returns it. */
  data: T
}

/** Options of {@link SpotsSessions.migrateFromV1}. */
export interface MigrateFromV1Options {
  /** Count what would be converted, skipped or deleted; write nothing. Default `false`. */
  dryRun?: boolean
  /**
   * Delete each 1.x key once it is converted (or was converted by an earlier run). Run it last,
   * once no 1.x instance is left. Default `false`.
   */
  deleteOld?: boolean
  /** Keys per batch (`SCAN COUNT`), 1 to 100000. Default `1000`. */
  batchSize?: number
  /** Called after every batch; a returned Promise is awaited before the next batch. */
  onProgress?: (progress: MigrationProgress) => void | Promise<void>
}

/** What {@link MigrateFromV1Options.onProgress} receives after each batch: totals so far. */
export interface MigrationProgress {
  scanned: number
  migrated: number
  alreadyMigrated: number
  /** Number of keys skipped so far. */
  skipped: number
  deleted: number
  /** Number of keys that failed so far. */
  errors: number
  /** Batches done (each visits about `batchSize` keys of the keyspace). */
  batches: number
  /** Keys on the scanned servers when the run started (`DBSIZE`), for an estimate of the time left. */
  totalKeys: number | null
  /** `true` on the last call. */
  done: boolean
}

/**
 * A 1.x key that was skipped (not JSON, ambiguous name, wrong type, an empty or too short token,
 * …) or whose conversion failed (a Redis error; a later run retries it). Never the key's name,
 * which holds the raw token; no session data in `reason`. A part is `null` where the key's name
 * does not fix it (an ambiguous name), and `sessionId` is `null` too for a token shorter than
 * 11 characters (its id would give it away).
 */
export interface MigrationEntry {
  app: string | null
  ownerId: string | null
  /** `SpotsSessions.sessionIdOf(token)`: names the session without opening it. */
  sessionId: string | null
  reason: string
}

/** A 1.x key that was not converted, and why. */
export type MigrationSkip = MigrationEntry

/** A 1.x key whose conversion failed (a Redis error); a later run retries it. */
export type MigrationError = MigrationEntry

/** What {@link SpotsSessions.migrateFromV1} resolves to. */
export interface MigrationReport {
  /** 1.x session keys found (`SCAN MATCH app:*|token:*|ownerId:*`). */
  scanned: number
  /** Converted by this run (dry run: would be). */
  migrated: number
  /** Converted by an earlier run, or already a 2.x session: left exactly as they are. */
  alreadyMigrated: number
  /** Left alone, with the reason. */
  skipped: MigrationSkip[]
  /** 1.x keys deleted (`deleteOld`; dry run: would be). */
  deleted: number
  /** Keys whose conversion failed; empty when nothing failed. */
  errors: MigrationError[]
}

/**
 * Errors carry a stable `code`: `ERR_INVALID_ARG_TYPE` / `ERR_INVALID_ARG_VALUE` (bad input; the
 * message names the field), `ERR_REDIS_TIMEOUT`, `ERR_REDIS_CONNECTION`, `ERR_REDIS_OFFLINE`,
 * `ERR_REDIS_AUTH` (credentials refused), `ERR_REDIS_PROTOCOL` (an impossible reply; the
 * connection was dropped), `ERR_REDIS_OOM` (a write refused at Redis's `maxmemory`), `ERR_REDIS_DURABILITY` (too few replicas acknowledged a write in time: see the `durability` option), `ERR_REDIS`
 * (an error reply), `ERR_CLOSED` (after `quit()`/`disconnect()`). Errors of `client` are
 * ioredis's own.
 */
export interface SpotsSessionsError extends Error {
  code: SpotsSessionsErrorCode
  /**
   * `ERR_REDIS_DURABILITY` only: how many replicas (of the node that had the fewest) acknowledged
   * the write within `durability.timeout`. The write stays applied on the primary.
   */
  acknowledged?: number
}

/**
 * Manages users' sessions in Redis.
 *
 * `Client` is the declared type of {@link SpotsSessions.client}: ioredis's `Redis` by default,
 * as in 1.x. With `cluster` options (or a `redis-cluster://` string) the client is an ioredis
 * `Cluster` at run time; write `new SpotsSessions<Cluster>({ cluster: [...] })` to have it typed
 * as one.
 */
export declare class SpotsSessions<Client extends Redis | Cluster = Redis> {
  /**
   * Connects in the background (never blocks, never throws because Redis is down). Throws at
   * once on a bad option, naming it.
   *
   * @param options a `redis://` connection string, or {@link SpotsSessionsOptions}.
   */
  constructor(options?: string | SpotsSessionsOptions)

  /**
   * A real ioredis instance on connections of its own to this instance's Redis, as the original
   * package exposed its ioredis client: created (and connected) on first read, from the same
   * options; an ioredis `Cluster` for Redis Cluster options. Once created it keeps Node alive
   * until it is closed, by `quit()`/`disconnect()` here or on the client itself.
   */
  readonly client: Client

  /**
   * The public id of the session that `token` opens: 22 base64url characters, stable and
   * non-secret (safe to log and show in a "your devices" list); it opens nothing by itself.
   */
  static sessionIdOf(token: string): string

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

  /**
   * Deletes the session (by token or by session id). `false` if it did not exist, or if
   * `ownerId` is given and the session is another owner's.
   */
  kill(dto: KillSessionDto | KillSessionByIdDto): Promise<boolean>

  /**
   * Deletes every session of `ownerId` in `app`, except the session of `exceptToken` when given.
   * `true` if at least one was deleted.
   */
  killAll(dto: KillAllSessionsDto): Promise<boolean>

  /**
   * Converts every 1.x session (`app:<app>|token:<token>|ownerId:<ownerId>` string keys) into
   * the current layout: the same token keeps working, with the same owner, data and remaining
   * life. Idempotent and resumable; see the README, "Migrating from 1.x". Rejects only when the
   * scan itself fails (the report so far is on the error's `report`).
   */
  migrateFromV1(options?: MigrateFromV1Options): Promise<MigrationReport>

  /** Every live session of `ownerId` in `app` (at most `limit`), newest first. */
  list<T extends object = SessionData>(dto: ListSessionsDto): Promise<Array<SessionInfo<T>>>

  /** How many live sessions `ownerId` has in `app` (exact). */
  count(dto: CountSessionsDto): Promise<number>

  /**
   * Moves the session to a new token, which it resolves to (`undefined` if not found): same
   * owner, data, expiry and `createdAt`; the old token stops working at once.
   */
  rotate(dto: RotateSessionDto): Promise<string | undefined>

  /**
   * Lets the calls in flight finish, then closes the connection, and `client` if it was created
   * (waiting for it to end). Resolves to `'OK'`.
   */
  quit(): Promise<'OK'>

  /**
   * Closes the connection, and `client` if it was created, at once; calls in flight reject with
   * `code: 'ERR_CLOSED'`.
   */
  disconnect(): void
}

export default SpotsSessions
