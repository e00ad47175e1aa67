'use strict'

// Durable writes (issue 23; CONTRACT.md, "Durable writes"): with `durability: { replicas,
// timeout }`, `create`, `update`, `kill`, `killAll` and `rotate` resolve only once replicas
// acknowledged them (Redis WAIT). Against real replication: a primary with a replica, Sentinel,
// and Redis Cluster with replicas. A replica is stopped (SIGSTOP) so that it acknowledges
// nothing; to cut its link as well, the primary then drops its connection (CLIENT KILL TYPE
// replica), which the stopped replica cannot remake: what the primary writes next reaches no
// replica. SIGCONT lets it reconnect and catch up from the backlog.

const { describe, test, before, after } = require('node:test')
const assert = require('node:assert/strict')
const { SpotsSessions } = require('..')
const net = require('node:net')
const { startRedis, sleep, str, pipeline } = require('./helpers/redis.js')
const { startSentinel, startCluster } = require('./helpers/topologies.js')
const { sessionKey, indexKey } = require('./helpers/layout.js')
const { supports } = require('./helpers/server-binary.js')

/** Polls `fn` until it returns true, for at most `ms`. */
async function eventually(what, fn, ms = 20_000) {
  const deadline = Date.now() + ms
  for (;;) {
    if (await fn().catch(() => false)) return
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`)
    await sleep(50)
  }
}

/** Whether `promise` settled within `ms` (without consuming its outcome). */
async function settlesWithin(promise, ms) {
  let settled = false
  promise.then(
    () => (settled = true),
    () => (settled = true),
  )
  await sleep(ms)
  return settled
}

const linkUp = (server) => async () => /master_link_status:up/.test(str(await server.command('INFO', 'replication')))

/** `server`'s process stopped (SIGSTOP) while `fn` runs, resumed after. */
async function withStopped(server, fn) {
  server.child.kill('SIGSTOP')
  try {
    return await fn()
  } finally {
    server.child.kill('SIGCONT')
  }
}

describe('option checks', () => {
  test('durability: replicas a whole number >= 0, timeout a positive number; else it throws naming durability', () => {
    const url = 'redis://127.0.0.1:1'
    for (const durability of [
      { replicas: 0, timeout: 1 },
      { replicas: 2, timeout: 250.5 },
    ]) {
      new SpotsSessions({ connectionString: url, durability }).disconnect()
    }
    const bad = [
      [{ replicas: -1, timeout: 100 }, 'ERR_INVALID_ARG_VALUE'],
      [{ replicas: 1.5, timeout: 100 }, 'ERR_INVALID_ARG_VALUE'],
      [{ replicas: NaN, timeout: 100 }, 'ERR_INVALID_ARG_VALUE'],
      [{ replicas: 1, timeout: 0 }, 'ERR_INVALID_ARG_VALUE'],
      [{ replicas: 1, timeout: -5 }, 'ERR_INVALID_ARG_VALUE'],
      [{ replicas: 1, timeout: Infinity }, 'ERR_INVALID_ARG_VALUE'],
      [{ replicas: '1', timeout: 100 }, 'ERR_INVALID_ARG_TYPE'],
      [{ replicas: 1 }, 'ERR_INVALID_ARG_TYPE'],
      [{ timeout: 100 }, 'ERR_INVALID_ARG_TYPE'],
      [true, 'ERR_INVALID_ARG_TYPE'],
      [[1, 100], 'ERR_INVALID_ARG_TYPE'],
    ]
    for (const [durability, code] of bad) {
      assert.throws(
        () => new SpotsSessions({ connectionString: url, durability }),
        (err) => err.code === code && /^durability/.test(err.message),
        JSON.stringify(durability),
      )
    }
  })
})

describe('a primary with one replica', () => {
  let primary
  let replica
  let durable
  let plain
  before(async () => {
    primary = await startRedis({ args: ['--repl-diskless-sync-delay', '0'] })
    replica = await startRedis({ args: ['--replicaof', '127.0.0.1', String(primary.port)] })
    await eventually('the replica link', linkUp(replica))
    durable = new SpotsSessions({
      connectionString: primary.url,
      commandTimeout: 10_000,
      durability: { replicas: 1, timeout: 1_000 },
    })
    plain = new SpotsSessions({ connectionString: primary.url, commandTimeout: 10_000 })
  })
  after(async () => {
    replica?.child.kill('SIGCONT')
    await durable?.quit()
    await plain?.quit()
    await replica?.stop()
    await primary?.stop()
  })

  test('a durable write has reached the replica when it resolves', async () => {
    const app = 'reached'
    const onReplica = (key) => replica.command('EXISTS', key)
    for (let i = 0; i < 20; i++) {
      const token = await durable.create({ app, ownerId: `o${i}`, data: { i }, duration: 600 })
      assert.equal(await onReplica(sessionKey(app, token)), 1, 'the session')
      assert.equal(await onReplica(indexKey(app, `o${i}`)), 1, 'its index')
      assert.equal(await durable.update({ app, token, data: { u: i } }), true)
      assert.equal(str(await replica.command('HGET', sessionKey(app, token), 'u')), String(i), 'the update')
      const rotated = await durable.rotate({ app, token })
      assert.equal(await onReplica(sessionKey(app, token)), 0, 'rotate: the old key')
      assert.equal(await onReplica(sessionKey(app, rotated)), 1, 'rotate: the new key')
      assert.equal(await durable.kill({ app, token: rotated }), true)
      assert.equal(await onReplica(sessionKey(app, rotated)), 0, 'the kill')
    }
    const tokens = await Promise.all([1, 2, 3].map(() => durable.create({ app, ownerId: 'all', duration: 600 })))
    assert.equal(await durable.killAll({ app, ownerId: 'all' }), true)
    for (const token of tokens) assert.equal(await onReplica(sessionKey(app, token)), 0, 'killAll')
    // Many at once share confirmation rounds, and all resolve.
    const many = await Promise.all(
      Array.from({ length: 200 }, (_, i) => durable.create({ app, ownerId: `m${i % 7}`, duration: 600 })),
    )
    for (const token of many.slice(0, 20)) assert.equal(await onReplica(sessionKey(app, token)), 1)
  })

  test('a stopped replica: durable writes reject ERR_REDIS_DURABILITY with err.acknowledged, and get still answers at once', async () => {
    const app = 'stopped'
    const token = await durable.create({ app, ownerId: 'o', data: { a: 1 }, duration: 600 })
    await withStopped(replica, async () => {
      const started = Date.now()
      const killing = durable.kill({ app, token })
      // Reads never wait: get answers while the kill waits for the replica.
      assert.equal(await durable.get({ app, token: 'nope' }), undefined)
      assert.ok(Date.now() - started < 900, `get answered in ${Date.now() - started} ms`)
      const err = await killing.then(
        () => assert.fail('a durable kill resolved while its only replica was stopped'),
        (e) => e,
      )
      assert.equal(err.code, 'ERR_REDIS_DURABILITY')
      assert.equal(err.acknowledged, 0)
      assert.match(err.message, /applied on the primary/)
      assert.ok(Date.now() - started >= 950, 'it waited for durability.timeout')
      // The write stays applied on the primary (WAIT rolls nothing back).
      assert.equal(await plain.get({ app, token }), undefined)
      const err2 = await durable.create({ app, ownerId: 'o' }).catch((e) => e)
      assert.equal(err2.code, 'ERR_REDIS_DURABILITY')
      // refresh and get({ refresh }) never wait.
      const other = await plain.create({ app, ownerId: 'o', duration: 60 })
      const t0 = Date.now()
      assert.equal(await durable.refresh({ app, token: other, duration: 600 }), true)
      assert.ok(await durable.get({ app, token: other, refresh: 600 }))
      assert.ok(Date.now() - t0 < 900, 'refresh did not wait')
    })
    await eventually('the replica link after SIGCONT', linkUp(replica))
    assert.ok(await durable.create({ app, ownerId: 'o' }), 'works again once the replica is back')
  })
})

/**
 * Failover: a primary, a replica and whatever promotes the replica. `control` shows the loss
 * without the option: the replica stopped before a plain kill, the primary killed, the replica
 * promoted: the session is back. Then the same with durable kill, killAll and rotate, which
 * resolve only after the replica (resumed) has them: after the promotion they stay dead.
 */
async function failoverCase({ start, durableOpts }) {
  // The control.
  {
    const h = await start()
    try {
      const s = new SpotsSessions(h.options)
      const app = 'control'
      const token = await s.create({ app, ownerId: 'o', data: { x: 1 }, duration: 600 })
      await h.waitReplicated(token, app)
      await h.cutReplica(token, app)
      assert.equal(await s.kill({ app, token }), true, 'the primary acknowledged the kill')
      await h.killPrimary(token, app)
      h.resumeReplica()
      const promoted = await h.promote(token, app)
      assert.deepEqual(
        await promoted.get({ app, token }),
        { ownerId: 'o', data: { x: 1 } },
        'the killed session is back',
      )
      s.disconnect()
      await promoted.quit()
    } finally {
      await h.stop()
    }
  }
  // With durability.
  {
    const h = await start()
    try {
      const s = new SpotsSessions({ ...h.options, durability: durableOpts })
      const app = 'durable'
      const killed = await s.create({ app, ownerId: 'a', duration: 600 })
      const all = [
        await s.create({ app, ownerId: 'b', duration: 600 }),
        await s.create({ app, ownerId: 'b', duration: 600 }),
      ]
      const rotated = await s.create({ app, ownerId: 'c', data: { r: 1 }, duration: 600 })
      await h.waitReplicated(killed, app)
      await h.cutReplica(killed, app)
      const calls = [
        s.kill({ app, token: killed }),
        s.killAll({ app, ownerId: 'b' }),
        s.rotate({ app, token: rotated }),
      ]
      const all3 = Promise.all(calls)
      assert.equal(await settlesWithin(all3, 300), false, 'nothing resolves while the replica is stopped')
      h.resumeReplica()
      const [k, ka, newToken] = await all3
      assert.equal(k, true)
      assert.equal(ka, true)
      assert.equal(typeof newToken, 'string')
      await h.killPrimary(killed, app)
      const promoted = await h.promote(killed, app)
      assert.equal(await promoted.get({ app, token: killed }), undefined, 'kill survived the failover')
      for (const token of all) assert.equal(await promoted.get({ app, token }), undefined, 'killAll survived')
      assert.equal(await promoted.get({ app, token: rotated }), undefined, 'the rotated-away token stays dead')
      assert.deepEqual(await promoted.get({ app, token: newToken }), { ownerId: 'c', data: { r: 1 } })
      s.disconnect()
      await promoted.quit()
    } finally {
      await h.stop()
    }
  }
}

describe('failover: a primary with one replica, promoted by hand', () => {
  test('a durable kill, killAll and rotate stay done after the replica is promoted; a plain kill does not (control)', async () => {
    await failoverCase({
      durableOpts: { replicas: 1, timeout: 10_000 },
      async start() {
        const primary = await startRedis({ args: ['--repl-diskless-sync-delay', '0'] })
        const replica = await startRedis({ args: ['--replicaof', '127.0.0.1', String(primary.port)] })
        await eventually('the replica link', linkUp(replica))
        return {
          options: { connectionString: primary.url, commandTimeout: 15_000 },
          async waitReplicated(token, app) {
            await eventually('replication', async () => (await replica.command('EXISTS', sessionKey(app, token))) === 1)
          },
          async cutReplica() {
            replica.child.kill('SIGSTOP')
            await primary.command('CLIENT', 'KILL', 'TYPE', 'replica')
          },
          resumeReplica: () => replica.child.kill('SIGCONT'),
          killPrimary: () => primary.stop({ hard: true }),
          async promote() {
            replica.child.kill('SIGCONT')
            await replica.command('REPLICAOF', 'NO', 'ONE')
            return new SpotsSessions({ connectionString: replica.url, commandTimeout: 10_000 })
          },
          async stop() {
            replica.child.kill('SIGCONT')
            await Promise.all([replica.stop(), primary.stop()])
          },
        }
      },
    })
  })
})

describe('failover: Sentinel', () => {
  test('a durable kill, killAll and rotate stay done after Sentinel promotes the replica; a plain kill does not (control)', async () => {
    await failoverCase({
      durableOpts: { replicas: 1, timeout: 10_000 },
      async start() {
        const h = await startSentinel()
        let oldPort
        return {
          options: { connectionString: h.url, commandTimeout: 30_000 },
          async waitReplicated(token, app) {
            await eventually(
              'replication',
              async () => (await h.replica.command('EXISTS', sessionKey(app, token))) === 1,
            )
          },
          async cutReplica() {
            h.replica.child.kill('SIGSTOP')
            await h.serverFor(await h.currentMaster()).command('CLIENT', 'KILL', 'TYPE', 'replica')
          },
          resumeReplica: () => h.replica.child.kill('SIGCONT'),
          async killPrimary() {
            oldPort = await h.killMaster()
          },
          async promote() {
            h.replica.child.kill('SIGCONT')
            await h.waitForFailover(oldPort, 60_000)
            return new SpotsSessions({ connectionString: h.url, commandTimeout: 30_000 })
          },
          async stop() {
            h.replica.child.kill('SIGCONT')
            await h.stop()
          },
        }
      },
    })
  })
})

describe('failover: Redis Cluster with replicas', { skip: supports(7) ? false : 'needs Redis 7.0+' }, () => {
  test('a durable kill, killAll and rotate stay done after the cluster promotes a replica; a plain kill does not (control)', async () => {
    await failoverCase({
      durableOpts: { replicas: 1, timeout: 10_000 },
      async start() {
        const h = await startCluster({ masters: 3, replicas: 1 })
        // The case's keys (sessions, indexes, rotated sessions) may live on any master, so every
        // replica is stopped; the master of the case's first session is the one killed.
        const replicas = []
        for (const n of h.nodes) if (str((await n.command('ROLE'))[0]) === 'slave') replicas.push(n)
        const masterOf = async (token, app) => h.nodeForSlot(await h.slotOf(sessionKey(app, token)))
        let killedMaster
        return {
          options: { cluster: h.seeds, commandTimeout: 30_000 },
          async waitReplicated(token, app) {
            const replica = await h.replicaOf(await masterOf(token, app))
            await eventually(
              'replication',
              async () =>
                (
                  await pipeline(
                    () => net.connect(replica.port, '127.0.0.1'),
                    [['READONLY'], ['EXISTS', sessionKey(app, token)]],
                  )
                )[1] === 1,
            )
          },
          async cutReplica() {
            replicas.forEach((n) => n.child.kill('SIGSTOP'))
            for (const n of h.nodes) if (!replicas.includes(n)) await n.command('CLIENT', 'KILL', 'TYPE', 'replica')
          },
          resumeReplica: () => replicas.forEach((n) => n.child.kill('SIGCONT')),
          async killPrimary(token, app) {
            killedMaster = await masterOf(token, app)
            await killedMaster.stop({ hard: true })
          },
          async promote(token, app) {
            replicas.forEach((n) => n.child.kill('SIGCONT'))
            await eventually(
              'a replica promoted',
              async () => {
                const n = await masterOf(token, app)
                return (
                  n !== null && n.port !== killedMaster.port && (await n.command('ROLE'))[0].toString() === 'master'
                )
              },
              60_000,
            )
            const seeds = h.seeds.filter((seed) => seed.port !== killedMaster.port)
            return new SpotsSessions({ cluster: seeds, commandTimeout: 30_000 })
          },
          async stop() {
            replicas.forEach((n) => n.child.kill('SIGCONT'))
            await h.stop()
          },
        }
      },
    })
  })
})
