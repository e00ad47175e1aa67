'use strict'

// `sessions.client` on TLS, Sentinel and Redis Cluster: the shared client suite
// (shared/client-suite.js: rate-limiter-flexible, connect-redis, defineCommand, duplicate +
// pub/sub, scanStream, multi, quit) against each topology, started by the harness on free
// loopback ports. On Redis Cluster the client is an ioredis `Cluster`.

const { test } = require('node:test')
const assert = require('node:assert/strict')
const Redis = require('ioredis')
const { startTlsRedis, startSentinel, startCluster } = require('./helpers/topologies.js')
const { defineClientSuite, ready } = require('./shared/client-suite.js')

const GUARD = { timeout: 60_000 }

defineClientSuite('client over TLS (rediss://, verified against the test CA)', {
  start: () => startTlsRedis(),
  options: (h) => ({ connectionString: h.url, tls: { ca: h.ca } }),
  extra(ctx) {
    test('TLS: the client presents the client certificate when the server requires one', GUARD, async () => {
      const h = ctx.handle
      await h.commandWithClientCert('CONFIG', 'SET', 'tls-auth-clients', 'yes')
      try {
        const s = ctx.open({ tls: { ca: h.ca, cert: h.clientCert, key: h.clientKey } })
        await ready(s.client)
        assert.equal(await s.client.ping(), 'PONG')
        await s.quit()
      } finally {
        await h.commandWithClientCert('CONFIG', 'SET', 'tls-auth-clients', 'optional')
      }
    })

    test(
      'TLS: a server certificate from another CA is refused, reported on the client as ioredis does',
      GUARD,
      async () => {
        const stranger = await startTlsRedis() // only for its (different) CA
        const wrongCa = stranger.ca
        await stranger.stop()
        const s = ctx.open({ tls: { ca: wrongCa }, commandTimeout: 1500 })
        const errors = []
        s.client.on('error', (e) => errors.push(e))
        const err = await s.client.ping().then(
          (v) => assert.fail(`answered despite the wrong CA: ${v}`),
          (e) => e,
        )
        assert.ok(err instanceof Error)
        assert.ok(errors.length > 0, "the client emitted 'error' for the refused handshake")
        assert.match(`${errors[0].code} ${errors[0].message}`, /certificate|CERT/i)
        s.disconnect()
      },
    )
  },
})

defineClientSuite('client through Sentinel (1 master, 1 replica, 3 sentinels)', {
  start: () => startSentinel(),
  options: (h) => ({ sentinels: h.sentinels, name: h.name }),
  extra(ctx) {
    test('Sentinel: the client talks to the current master, and so does redis-sentinel://', GUARD, async () => {
      const h = ctx.handle
      const master = await h.currentMaster()
      assert.equal(ctx.client.stream.remotePort, master, 'connected to the master the sentinels name')
      const s = ctx.open({ sentinels: undefined, name: undefined, connectionString: h.url })
      await ready(s.client)
      assert.equal(s.client.stream.remotePort, master)
      await s.client.set('sentinel:url', '1')
      assert.equal(await ctx.client.get('sentinel:url'), '1')
    })
  },
})

defineClientSuite('client on Redis Cluster (3 masters)', {
  start: () => startCluster(),
  options: (h) => ({ cluster: h.seeds }),
  cluster: true,
  extra(ctx) {
    test(
      'Cluster: keys in different slots are routed to their nodes; redis-cluster:// gives a Cluster too',
      GUARD,
      async () => {
        const keys = ['pl:alpha', 'pl:beta', 'pl:gamma', 'pl:delta']
        const slots = new Set(await Promise.all(keys.map((k) => ctx.handle.slotOf(k))))
        assert.ok(slots.size > 1, 'the keys hash to several slots')
        await Promise.all(keys.map((k) => ctx.client.set(k, `v:${k}`, 'EX', 60)))
        assert.deepStrictEqual(
          await Promise.all(keys.map((k) => ctx.client.get(k))),
          keys.map((k) => `v:${k}`),
        )
        for (const k of keys)
          assert.equal(String(await ctx.handle.command('GET', k)), `v:${k}`, `${k} is on the node serving its slot`)
        const s = ctx.open({ cluster: undefined, connectionString: ctx.handle.url })
        assert.ok(s.client instanceof Redis.Cluster)
        await ready(s.client)
        assert.equal(await s.client.get(keys[1]), 'v:pl:beta')
      },
    )
  },
})
