// Lines that must NOT compile: proof that the types are real, not `any`.
import { SpotsSessions } from '@spots-tech/sessions'

export async function misuse(s: SpotsSessions) {
  // @ts-expect-error ownerId is required
  await s.create({ app: 'a', data: {}, duration: 1 })
  // @ts-expect-error app must be a string
  await s.get({ app: 1, token: 't' })
  // @ts-expect-error refresh needs a duration
  await s.refresh({ app: 'a', token: 't' })
  // @ts-expect-error duration is a number of seconds, not a string
  await s.create({ app: 'a', ownerId: 'o', duration: '3600' })
  // @ts-expect-error update needs data
  await s.update({ app: 'a', token: 't' })
  // @ts-expect-error create resolves to a string token
  const n: number = await s.create({ app: 'a', ownerId: 'o' })
  // @ts-expect-error refresh resolves to a boolean
  const str: string = await s.refresh({ app: 'a', token: 't', duration: 1 })
  // @ts-expect-error killAll takes an ownerId, not a token
  await s.killAll({ app: 'a', token: 't' })
  // @ts-expect-error unknown encodings are refused
  new SpotsSessions({ tokenEncoding: 'utf8' })
  // @ts-expect-error tokenSize is a number
  new SpotsSessions({ tokenSize: '128' })
  // @ts-expect-error the class is not callable without new
  SpotsSessions()
  // @ts-expect-error no such method
  await s.destroy({ app: 'a', token: 't' })
  const session = await s.get({ app: 'a', token: 't' })
  // @ts-expect-error ownerId is a string
  const owner: number = session.ownerId
  return { n, str, owner }
}
