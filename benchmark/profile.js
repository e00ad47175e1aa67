'use strict'

// A steady load of one method for a profiler to watch (e.g. `perf record -g -p <pid>`): starts
// its own redis-server on a free loopback port, creates 10,000 sessions, prints `ready <pid>`,
// then runs `get` (or PROFILE_METHOD: update, refresh) with PROFILE_CONCURRENCY calls in flight
// for PROFILE_SECONDS, and prints the calls per second.
//
//   node benchmark/profile.js & perf record -F 1999 -g -p <pid printed> -- sleep 5

const { SpotsSessions } = require('..')
const { startRedis } = require('../__test__/helpers/redis.js')

const METHOD = process.env.PROFILE_METHOD || 'get'
const CONCURRENCY = Number(process.env.PROFILE_CONCURRENCY || 256)
const SECONDS = Number(process.env.PROFILE_SECONDS || 8)

async function main() {
  const server = await startRedis()
  const sessions = new SpotsSessions(server.url)
  const app = 'profile'
  const data = { role: 'user', name: 'x'.repeat(40), flags: ['a', 'b'] }
  const tokens = []
  for (let i = 0; i < 10000; i += 500) {
    const batch = Array.from({ length: 500 }, (_, j) =>
      sessions.create({ app, ownerId: `o${i + j}`, data, duration: 3600 }),
    )
    tokens.push(...(await Promise.all(batch)))
  }
  const call = {
    get: (token) => sessions.get({ app, token }),
    update: (token) => sessions.update({ app, token, data: { seen: Date.now() } }),
    refresh: (token) => sessions.refresh({ app, token, duration: 3600 }),
  }[METHOD]
  console.log(`ready ${process.pid}`)
  const end = Date.now() + SECONDS * 1000
  let calls = 0
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (Date.now() < end) {
        await call(tokens[(Math.random() * tokens.length) | 0])
        calls++
      }
    }),
  )
  console.log(`${METHOD} c=${CONCURRENCY}: ${Math.round(calls / SECONDS)} calls/s`)
  await sessions.quit()
  await server.stop()
}

main().catch((err) => {
  console.error(err)
  process.exit(1)
})
