// The original package's README usage, verbatim but for its syntax slips (unbalanced braces),
// compiled with `tsc --strict` against our index.d.ts. It must compile unchanged.
import { SpotsSessions } from '@spots-tech/sessions'
import type {
  CreateSessionDto,
  GetSessionDto,
  GetSessionResponseDto,
  RefreshSessionDto,
  UpdateSessionDto,
  KillSessionDto,
  KillAllSessionsDto,
} from '@spots-tech/sessions'

export async function instantiate() {
  // Pass an optional connection string to the constructor
  // new SpotsSessions('redis://localhost:6379')
  const spotsSessions = new SpotsSessions({
    connectionString: 'redis://localhost:6379',
    tokenEncoding: 'base64',
    tokenSize: 128,
  })
  return spotsSessions
}

export async function createASession() {
  const spotsSessions = new SpotsSessions({})

  const token = await spotsSessions.create({
    app: 'my-app',
    ownerId: '123qwe',
    data: {
      firstName: 'John',
      lastName: 'Doe',
      currentDeviceToken: '123',
    },
    duration: 3600,
  })
  return token
}

export async function getsASession() {
  const spotsSessions = new SpotsSessions({})

  const { ownerId, data } = await spotsSessions.get({
    app: 'my-app',
    token: 'qwerty',
  })
  return { ownerId, data }
}

export async function refreshesASession() {
  const spotsSessions = new SpotsSessions({})

  const success = await spotsSessions.refresh({
    app: 'my-app',
    token: 'qwerty',
    duration: 7200,
  })
  return success
}

export async function updatesASession() {
  const spotsSessions = new SpotsSessions({})

  const success = await spotsSessions.update({
    app: 'my-app',
    token: 'qwerty',
    data: {
      name: null, // Use null to delete existing values, undefined values will be ignored
      age: 25,
    },
  })
  return success
}

export async function killsASession() {
  const spotsSessions = new SpotsSessions({})

  const success = await spotsSessions.kill({
    app: 'my-app',
    token: 'qwerty',
  })
  return success
}

export async function killsAllSessionsOfAUser() {
  const spotsSessions = new SpotsSessions({})

  const success = await spotsSessions.killAll({
    app: 'my-app',
    ownerId: '123qwe',
  })
  return success
}

// The other constructor forms, and the request/response types under the original's names.
export async function otherForms() {
  const a = new SpotsSessions()
  const b = new SpotsSessions('redis://localhost:6379/2')
  const createDto: CreateSessionDto = { app: 'a', ownerId: 'o', data: { x: 1 }, duration: 60 }
  const getDto: GetSessionDto = { app: 'a', token: 't' }
  const refreshDto: RefreshSessionDto = { app: 'a', token: 't', duration: 60 }
  const updateDto: UpdateSessionDto = { app: 'a', token: 't', data: { x: null, y: undefined, z: 2 } }
  const killDto: KillSessionDto = { app: 'a', token: 't' }
  const killAllDto: KillAllSessionsDto = { app: 'a', ownerId: 'o' }
  const token: string = await a.create(createDto)
  const session: GetSessionResponseDto | undefined = await a.get(getDto)
  const ok: boolean[] = await Promise.all([
    a.refresh(refreshDto),
    a.update(updateDto),
    a.kill(killDto),
    a.killAll(killAllDto),
  ])
  const typed = await b.get<{ firstName: string }>({ app: 'a', token })
  const first: string = typed.data.firstName
  const quit: 'OK' = await a.quit()
  b.disconnect()
  return { session, ok, first, quit }
}
