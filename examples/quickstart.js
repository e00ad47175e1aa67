'use strict'

// Every method once, printing what it does.
//
//   npm run example                                  # starts a throwaway redis-server
//   REDIS_URL=redis://127.0.0.1:6379 npm run example # uses that Redis

const { SpotsSessions } = require('..')
const { startRedis } = require('../__test__/helpers/redis')

async function main() {
  let server
  let url = process.env.REDIS_URL
  if (!url) {
    server = await startRedis()
    url = server.url
    console.log(`started a throwaway redis-server at ${url}`)
  } else {
    console.log(`using REDIS_URL=${url}`)
  }

  const sessions = new SpotsSessions({ connectionString: url, tokenEncoding: 'base64', tokenSize: 128 })
  const app = 'quickstart'
  try {
    const token = await sessions.create({
      app,
      ownerId: '123qwe',
      data: { firstName: 'John', lastName: 'Doe', currentDeviceToken: '123' },
      duration: 3600,
    })
    console.log(`create   -> token (${token.length} chars): ${token.slice(0, 24)}…`)

    console.log('get      ->', JSON.stringify(await sessions.get({ app, token })))
    console.log('refresh  ->', await sessions.refresh({ app, token, duration: 7200 }))
    console.log('update   ->', await sessions.update({ app, token, data: { currentDeviceToken: null, age: 25 } }))
    console.log('get      ->', JSON.stringify(await sessions.get({ app, token })))
    console.log('kill     ->', await sessions.kill({ app, token }))
    console.log('get      ->', await sessions.get({ app, token }))

    await sessions.create({ app, ownerId: '123qwe', data: { device: 'phone' }, duration: 60 })
    await sessions.create({ app, ownerId: '123qwe', data: { device: 'laptop' }, duration: 60 })
    console.log('killAll  ->', await sessions.killAll({ app, ownerId: '123qwe' }), '(two sessions)')
    console.log('killAll  ->', await sessions.killAll({ app, ownerId: '123qwe' }), '(none left)')
  } finally {
    console.log('quit     ->', await sessions.quit())
    if (server) await server.stop()
  }
}

main().catch((err) => {
  console.error(err)
  process.exitCode = 1
})
