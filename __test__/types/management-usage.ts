// Session management typings (README "Session management"): what must compile, and
// what must not (each marked as an expected error).
import { SpotsSessions, type SessionInfo, type KillSessionByIdDto } from '@spots-tech/sessions'

interface Device {
  userAgent: string
}

export async function devices(s: SpotsSessions, currentToken: string) {
  const currentId: string = SpotsSessions.sessionIdOf(currentToken)
  const list: Array<SessionInfo<Device>> = await s.list<Device>({ app: 'a', ownerId: 'u' })
  for (const d of list) {
    const id: string = d.sessionId
    const created: number | null = d.createdAt
    const expires: number | null = d.expiresAt
    const agent: string = d.data.userAgent
    void [id, created, expires, agent, d.sessionId === currentId]
  }
  const n: number = await s.count({ app: 'a', ownerId: 'u' })
  const byId: KillSessionByIdDto = { app: 'a', sessionId: currentId }
  const killed: boolean = await s.kill(byId)
  await s.kill({ app: 'a', token: currentToken })
  const scoped: boolean = await s.kill({ app: 'a', ownerId: 'u', sessionId: currentId })
  await s.kill({ app: 'a', ownerId: 'u', token: currentToken })
  const newest: Array<SessionInfo<Device>> = await s.list<Device>({ app: 'a', ownerId: 'u', limit: 10 })
  void [scoped, newest]
  const any: boolean = await s.killAll({ app: 'a', ownerId: 'u', exceptToken: currentToken })
  await s.create({ app: 'a', ownerId: 'u', duration: 3600, maxAge: 86400, maxSessions: 5 })
  const session = await s.get<Device>({ app: 'a', token: currentToken, refresh: 3600 })
  const agent: string = session.data.userAgent
  const rotated: string | undefined = await s.rotate({ app: 'a', token: currentToken })
  void [n, killed, any, agent, rotated]
}

export async function misuse(s: SpotsSessions) {
  // @ts-expect-error kill takes a token or a sessionId, not both
  await s.kill({ app: 'a', token: 't', sessionId: 'i' })
  // @ts-expect-error kill needs one of them
  await s.kill({ app: 'a' })
  // @ts-expect-error limit is a number
  await s.list({ app: 'a', ownerId: 'o', limit: '10' })
  // @ts-expect-error count takes no limit
  await s.count({ app: 'a', ownerId: 'o', limit: 10 })
  // @ts-expect-error maxSessions is a number
  await s.create({ app: 'a', ownerId: 'o', maxSessions: '5' })
  // @ts-expect-error maxAge is a number of seconds
  await s.create({ app: 'a', ownerId: 'o', maxAge: '1d' })
  // @ts-expect-error refresh is a number of seconds
  await s.get({ app: 'a', token: 't', refresh: true })
  // @ts-expect-error rotate may resolve to undefined
  const t: string = await s.rotate({ app: 'a', token: 't' })
  // @ts-expect-error sessionIdOf is static
  s.sessionIdOf('t')
  // @ts-expect-error list needs an ownerId
  await s.list({ app: 'a' })
  // @ts-expect-error count resolves to a number
  const c: string = await s.count({ app: 'a', ownerId: 'o' })
  // @ts-expect-error exceptToken is a string
  await s.killAll({ app: 'a', ownerId: 'o', exceptToken: 1 })
  void [t, c]
}
