// `sessions.client` under `tsc --strict`: it is ioredis's own `Redis` type, so 1.x code that
// passed it where a `Redis` is expected compiles unchanged (every `@ts-expect-error` below must
// be an actual error, or tsc fails).
import { SpotsSessions } from '@spots-tech/sessions'
import Redis, { Cluster } from 'ioredis'
import type { Redis as NamedRedis, ChainableCommander } from 'ioredis'

// Libraries take an ioredis `Redis`, e.g. `new RateLimiterRedis({ storeClient })`.
function takesRedis(redis: Redis): Redis {
  return redis
}
function takesNamedRedis(redis: NamedRedis): NamedRedis {
  return redis
}

export async function usage(s: SpotsSessions): Promise<void> {
  // 1.x code.
  const r: Redis = s.client
  takesRedis(s.client)
  takesNamedRedis(s.client)
  const value: string | null = await s.client.get('k')
  const count: number = await r.incr('k')
  const hash: Record<string, string> = await s.client.hgetall('h')
  const bytes: Buffer | null = await s.client.getBuffer('k')
  const tx: ChainableCommander = s.client.multi().incrby('k', 1).pttl('k')
  const results: Array<[Error | null, unknown]> | null = await tx.exec()
  const copy: Redis = s.client.duplicate()
  s.client.defineCommand('echoKey', { numberOfKeys: 1, lua: 'return KEYS[1]' })
  s.client.scanStream({ match: 'k*' }).on('data', (keys: string[]) => void keys)
  await copy.subscribe('channel')
  copy.on('message', (channel: string, message: string) => void [channel, message])
  await s.quit()
  void [value, count, hash, bytes, results]
}

export async function cluster(): Promise<void> {
  // Redis Cluster: the client is an ioredis `Cluster` at run time; say so in the type argument.
  const c = new SpotsSessions<Cluster>({ cluster: [{ host: '127.0.0.1', port: 7000 }] })
  const cl: Cluster = c.client
  const nodes = cl.nodes('master')
  const v: string | null = await c.client.get('k')
  // @ts-expect-error a Cluster is not a Redis
  const r: Redis = c.client
  // @ts-expect-error the type argument is an ioredis client
  new SpotsSessions<string>()
  void [nodes, v, r]
}

export function misuse(s: SpotsSessions): void {
  // @ts-expect-error client is read-only
  s.client = new Redis()
  // @ts-expect-error a Redis is not a Cluster
  const cl: Cluster = s.client
  // @ts-expect-error the types are ioredis's, not `any`: no such command
  s.client.notACommand('k')
  // @ts-expect-error get resolves to string | null
  const n: Promise<number> = s.client.get('k')
  void [cl, n]
}
