// Every constructor form the README shows compiles under --strict, and the public options type is
// the Rust-defined one (src/options.rs, via binding.d.ts): an option added there cannot be
// missing here.
import * as fs from 'node:fs'
import type { Cluster } from 'ioredis'
import { SpotsSessions, type SpotsSessionsOptions, type SpotsSessionsErrorCode } from '@spots-tech/sessions'
import type { SessionsOptions } from '../../binding'

type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false
function assertTrue<T extends true>(): T | undefined {
  return undefined
}
assertTrue<Equal<keyof SpotsSessionsOptions, keyof SessionsOptions>>()
assertTrue<
  Equal<
    SpotsSessionsErrorCode,
    | 'ERR_INVALID_ARG_TYPE'
    | 'ERR_INVALID_ARG_VALUE'
    | 'ERR_REDIS'
    | 'ERR_REDIS_TIMEOUT'
    | 'ERR_REDIS_CONNECTION'
    | 'ERR_CLOSED'
    | 'ERR_REDIS_OFFLINE'
    | 'ERR_REDIS_AUTH'
    | 'ERR_REDIS_PROTOCOL'
    | 'ERR_REDIS_OOM'
    | 'ERR_REDIS_DURABILITY'
    | 'SPOTS_SESSIONS_EVICTION'
    | 'SPOTS_SESSIONS_WEAK_TOKEN'
  >
>()

export function readmeForms(cert: string, key: Buffer): unknown[] {
  const connectionString = 'redis://host:6379'
  return [
    new SpotsSessions(),
    new SpotsSessions('redis://user:pass@host:6379/2'),
    new SpotsSessions({}),
    new SpotsSessions({ connectionString: 'redis://host:6379', tokenSize: 64, commandTimeout: 2000 }),
    new SpotsSessions({
      connectionString,
      tokenEncoding: 'base64url',
      tokenSize: 32,
      connectTimeout: 1000,
      commandTimeout: 500,
    }),
    new SpotsSessions('rediss://host:6380'),
    new SpotsSessions({
      host: 'host',
      port: 6380,
      password: 'p',
      db: 1,
      tls: { ca: fs.readFileSync('ca.pem'), cert, key },
    }),
    new SpotsSessions({ host: 'host', tls: true, username: 'u', password: 'p' }),
    new SpotsSessions('redis+unix:///run/redis/redis.sock'),
    new SpotsSessions({ path: '/run/redis/redis.sock' }),
    new SpotsSessions('redis-sentinel://s1:26379?sentinelServiceName=mymaster&node=s2:26379&node=s3:26379'),
    new SpotsSessions({
      sentinels: [
        { host: 's1', port: 26379 },
        { host: 's2', port: 26379 },
      ],
      name: 'mymaster',
    }),
    new SpotsSessions('redis-cluster://n1:7000?node=n2:7001&node=n3:7002'),
    new SpotsSessions({
      cluster: [
        { host: 'n1', port: 7000 },
        { host: 'n2', port: 7001 },
      ],
    }),
    new SpotsSessions<Cluster>({ cluster: [{ host: 'n1', port: 7000 }], tls: { rejectUnauthorized: false } }),
    new SpotsSessions({ maxRetriesPerRequest: null, enableOfflineQueue: false, offlineQueueLimit: 0 }),
  ]
}

export function badOptions() {
  // @ts-expect-error ports are numbers
  new SpotsSessions({ host: 'h', port: '6379' })
  // @ts-expect-error no such option
  new SpotsSessions({ hostname: 'h' })
  // @ts-expect-error tls takes PEM text or Buffers
  new SpotsSessions({ tls: { ca: 42 } })
  // @ts-expect-error sentinels are { host, port } objects
  new SpotsSessions({ sentinels: ['s1:26379'], name: 'm' })
}
