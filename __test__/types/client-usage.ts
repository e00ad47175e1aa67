// `sessions.client` under `tsc --strict`: ioredis-style calls compile with precise types, and
// misuse does not (every `@ts-expect-error` below must be an actual error, or tsc fails).
import { SpotsSessions } from '@spots-tech/sessions'
import type { Pipeline, PipelineResult, RedisClient, ClientStatus } from '@spots-tech/sessions'

export async function usage(s: SpotsSessions): Promise<void> {
  const client: RedisClient = s.client
  const status: ClientStatus = client.status

  // Replies, as ioredis types them.
  const value: string | null = await s.client.get('k')
  const count: number = await s.client.incr('k')
  const hash: Record<string, string> = await s.client.hgetall('h')
  const bytes: Buffer | null = await s.client.getBuffer('k')
  const binHash: Record<string, Buffer> = await s.client.hgetallBuffer('h')
  const ok: 'OK' | null = await s.client.set('k', 'v', 'EX', 10)
  const many: Array<string | null> = await s.client.mget(['a', 'b'], 'c')
  const deleted: number = await s.client.del(['a', 'b'], 'c')
  const members: string[] = await s.client.smembers('s')
  const range: string[] = await s.client.zrange('z', 0, -1, 'WITHSCORES')
  const pong: 'PONG' = await s.client.ping()
  const anything: unknown = await s.client.call('OBJECT', 'ENCODING', 'k')
  const evaluated: unknown = await s.client.eval('return 1', 0)

  // Arguments: numbers, Buffers, one level of arrays, objects and Maps.
  await s.client.set(Buffer.from([0x00, 0xff]), 42)
  await s.client.hset('h', { a: 1, b: 'x' })
  await s.client.hset('h', new Map<string, string>([['a', '1']]))
  await s.client.mset({ k1: 'v1', k2: 2 })
  await s.client.sadd('s', ['x', 'y'], 'z')
  await s.client.expire('k', 60)

  // Node-style callbacks.
  s.client.get('k', (err: Error | null, result?: string | null) => {
    if (err) throw err
    const r: string | null | undefined = result
    void r
  })

  // Pipelines and transactions.
  const pipeline: Pipeline = client.pipeline()
  const piped: PipelineResult | null = await client.pipeline().set('a', 1).get('a').exec()
  const trx: PipelineResult | null = await client.multi().set('a', 'b').incr('n').exec()
  const prefilled: PipelineResult | null = await client.pipeline([['set', 'a', '1'], ['get', 'a']]).exec()
  const length: number = client.pipeline().set('a', 'b').get('a').length
  if (piped) {
    const [err, result] = piped[0]
    const e: Error | null = err
    const r: unknown = result
    void e
    void r
  }
  await pipeline.exec((err, results) => {
    const e: Error | null = err
    const r: PipelineResult | null | undefined = results
    void e
    void r
  })

  // Events and lifecycle.
  client.on('ready', () => {})
  client.on('error', (err: Error) => void err.message)
  client.once('reconnecting', (delay: number) => void delay)
  const quit: 'OK' = await client.quit()
  client.disconnect()

  void [status, value, count, hash, bytes, binHash, ok, many, deleted, members, range, pong, anything, evaluated]
  void [piped, trx, prefilled, length, quit]
}

// Lines that must NOT compile: the client is typed, not `any`.
export async function misuse(s: SpotsSessions): Promise<void> {
  // @ts-expect-error get resolves to string | null, not a number
  const n: number = await s.client.get('k')
  // @ts-expect-error no such method on the client
  s.client.nosuchmethod()
  // @ts-expect-error incr needs a key
  await s.client.incr()
  // @ts-expect-error incr resolves to a number
  const str: string = await s.client.incr('k')
  // @ts-expect-error hgetall resolves to an object, not a string
  const h: string = await s.client.hgetall('h')
  // @ts-expect-error getBuffer resolves to Buffer | null, not string
  const b: string = await s.client.getBuffer('k')
  // @ts-expect-error keys are strings or Buffers, not objects
  await s.client.get({ key: 'k' })
  // @ts-expect-error status is read-only
  s.client.status = 'ready'
  // @ts-expect-error not a status ioredis has
  const st: ClientStatus = 'open'
  // @ts-expect-error exec resolves to results (or null), not a string
  const e: string = await s.client.pipeline().get('a').exec()
  // @ts-expect-error the pipeline's exec takes a callback, not a number
  await s.client.pipeline().exec(1)
  // @ts-expect-error disconnect() returns nothing to await a value from
  const d: string = s.client.disconnect()
  // @ts-expect-error the client is a property, not a method
  s.client()
  void [n, str, h, b, st, e, d]
}
