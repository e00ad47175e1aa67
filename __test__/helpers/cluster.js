'use strict'

// A throwaway Redis Cluster: `masters` (>= 3) cluster-enabled redis-servers, each with `replicas`
// replicas, joined by `redis-cli --cluster create`, each bound to 127.0.0.1 on a free port, all
// in one temp dir (./processes.js kills them and removes the dir on stop() and on process exit).
// Redis 6.2 has no --cluster-port (server-binary.js drops it): its bus is port + 10000, which
// must be free too.
//
//   startCluster({ masters = 3, replicas = 0, args = [] })
//     -> { dir, nodes, seeds, url, stop(), command(...args) (follows MOVED / ASK),
//          commandAll(...args), dbsize(), slotOf(key), nodeForSlot(slot), replicaOf(master),
//          failover(replica, timeoutMs), migrateSlot(slot, from, to, opts) }

const { spawn } = require('node:child_process')
const net = require('node:net')
const path = require('node:path')
const { HOST, freePort, startTracked, sleep, pipeline, str, parseInfo } = require('./redis.js')
const { cliPath, supports } = require('./server-binary.js')
const { mkTemp, rmTemp, waitFor } = require('./processes.js')

const tcp = (port) => () => net.connect(port, HOST)

/** A free port whose cluster bus port (port + 10000, Redis 6.2) is free too. */
async function freePortWithBus() {
  for (let i = 0; i < 50; i++) {
    const port = await freePort()
    if (port + 10000 > 65535) continue
    const bus = await new Promise((resolve) => {
      const srv = net.createServer()
      srv.once('error', () => resolve(false))
      srv.listen(port + 10000, HOST, () => srv.close(() => resolve(true)))
    })
    if (bus) return port
  }
  throw new Error('no free port with a free cluster bus port (port + 10000)')
}

const CLUSTER_SLOTS = 16384

/**
 * `masters` (>= 3) cluster-enabled redis-servers joined by `redis-cli --cluster create`, each
 * with `replicas` replicas (default none). Each node gets an explicit `--cluster-port` (bus
 * port), so ports near 65535 work (Redis 7+; on 6.2 the bus is port + 10000, checked free).
 * Resolves once every node reports cluster_state:ok, all slots assigned, every node known, and
 * all nodes agree on the slot map.
 */
async function startCluster({ masters = 3, replicas = 0, args: extraArgs = [] } = {}) {
  if (masters < 3) throw new Error('redis-cli --cluster create needs at least 3 masters')
  const dir = mkTemp('spots-cluster-')
  const nodes = []
  const started = []
  let stopped = false

  async function stop() {
    if (stopped) return
    stopped = true
    await Promise.all(started.map((n) => n.stop()))
    rmTemp(dir)
  }

  try {
    const servers = await Promise.all(
      Array.from({ length: masters * (1 + replicas) }, async () => {
        let lastErr
        for (let attempt = 0; attempt < 3; attempt++) {
          // Redis 6.2 has no --cluster-port (serverArgs drops it): its bus is port + 10000.
          const port = supports(7) ? await freePort() : await freePortWithBus()
          const busPort = supports(7) ? await freePort() : port + 10000
          try {
            const s = await startTracked({
              port,
              dir,
              // one redis-server flag and its value per line
              // prettier-ignore
              args: [
                '--cluster-enabled', 'yes',
                '--cluster-config-file', path.join(dir, `nodes-${port}.conf`),
                '--cluster-port', String(busPort),
                '--cluster-node-timeout', '2000',
                '--appendonly', 'no',
                '--save', '',
                ...extraArgs,
              ],
            })
            started.push(s) // so a failed start still tears this one down
            return s
          } catch (e) {
            lastErr = e
          }
        }
        throw lastErr
      }),
    )
    for (const s of servers) {
      s.id = str(await s.command('CLUSTER', 'MYID'))
      nodes.push(s)
    }

    await new Promise((resolve, reject) => {
      const p = spawn(
        cliPath,
        [
          '--cluster',
          'create',
          ...nodes.map((n) => `${HOST}:${n.port}`),
          '--cluster-replicas',
          String(replicas),
          '--cluster-yes',
        ],
        { stdio: ['ignore', 'pipe', 'pipe'] },
      )
      let out = ''
      p.stdout.on('data', (d) => (out += d))
      p.stderr.on('data', (d) => (out += d))
      p.on('error', reject)
      p.on('exit', (code) =>
        code === 0 ? resolve() : reject(new Error(`redis-cli --cluster create exited ${code}:\n${out}`)),
      )
    })

    await waitFor(
      'cluster_state:ok on every node',
      async () => {
        let signature
        for (const n of nodes) {
          const info = parseInfo(await n.command('CLUSTER', 'INFO'))
          if (info.cluster_state !== 'ok') return false
          if (Number(info.cluster_slots_assigned) !== CLUSTER_SLOTS) return false
          if (Number(info.cluster_known_nodes) !== nodes.length) return false
          const sig = slotMapSignature(await n.command('CLUSTER', 'SLOTS'))
          if (signature !== undefined && sig !== signature) return false
          signature = sig
        }
        return true
      },
      15_000,
      50,
    )
    if (replicas > 0) {
      await waitFor(
        'every replica linked to its master',
        async () => {
          let linked = 0
          for (const n of nodes) {
            const info = parseInfo(await n.command('INFO', 'replication'))
            if (info.role === 'slave' && info.master_link_status === 'up') linked++
          }
          return linked === masters * replicas
        },
        20_000,
        100,
      )
    }

    const liveNodes = () => nodes.filter((n) => n.alive())
    const byPort = (p) => {
      const port = typeof p === 'object' && p !== null ? p.port : Number(p)
      const n = nodes.find((x) => x.port === port)
      if (!n) throw new Error(`no cluster node on port ${port}`)
      return n
    }
    const anyNode = () => {
      const n = liveNodes()[0]
      if (!n) throw new Error('no live cluster node')
      return n
    }

    /** One command, following -MOVED and -ASK (ASKING first) and retrying -TRYAGAIN. */
    async function clusterCommand(...args) {
      let port = anyNode().port
      let asking = false
      for (let hop = 0, tries = 0; hop < 10;) {
        let reply
        if (asking) {
          ;[, reply] = await pipeline(tcp(port), [['ASKING'], args])
        } else {
          ;[reply] = await pipeline(tcp(port), [args])
        }
        asking = false
        if (!(reply instanceof Error)) return reply
        const m = /^(MOVED|ASK) \d+ ([^:\s]+|\[[^\]]+\]):(\d+)$/.exec(reply.message)
        if (m) {
          port = Number(m[3])
          asking = m[1] === 'ASK'
          hop++
          continue
        }
        if (reply.message.startsWith('TRYAGAIN') && tries++ < 50) {
          await sleep(20)
          continue
        }
        throw reply
      }
      throw new Error(`cluster: too many redirections for ${args.map(str).join(' ')}`)
    }

    async function masterNodes() {
      const out = []
      for (const n of liveNodes()) {
        const role = await n.command('ROLE')
        if (str(role[0]) === 'master') out.push(n)
      }
      return out
    }

    async function nodeForSlot(slot) {
      const ranges = await anyNode().command('CLUSTER', 'SLOTS')
      for (const r of ranges) {
        if (slot >= r[0] && slot <= r[1]) return byPort(r[2][1])
      }
      return null
    }

    // The migrations under way: { src, dst } each (see migrateSlot).
    const migrating = new Set()

    async function migrate(slot, src, dst, { batchSize, timeoutMs, replace, onBatch, first }) {
      await dst.command('CLUSTER', 'SETSLOT', slot, 'IMPORTING', src.id)
      await src.command('CLUSTER', 'SETSLOT', slot, 'MIGRATING', dst.id)
      let moved = 0
      const firstKeys = []
      for (const k of first) if ((await src.command('EXISTS', k)) === 1) firstKeys.push(k)
      for (let pending = firstKeys; ; pending = []) {
        const keys = pending.length > 0 ? pending : await src.command('CLUSTER', 'GETKEYSINSLOT', slot, batchSize)
        if (keys.length === 0) break
        await src.command('MIGRATE', HOST, dst.port, '', 0, timeoutMs, ...(replace ? ['REPLACE'] : []), 'KEYS', ...keys)
        moved += keys.length
        if (onBatch) await onBatch(keys)
      }
      await dst.command('CLUSTER', 'SETSLOT', slot, 'NODE', dst.id)
      await src.command('CLUSTER', 'SETSLOT', slot, 'NODE', dst.id)
      for (const n of liveNodes()) {
        if (n !== src && n !== dst) await n.command('CLUSTER', 'SETSLOT', slot, 'NODE', dst.id)
      }
      // A node can still take the slot back from gossip sent before the source gave it up, when
      // the source's config epoch is higher: after a grace period, make the target's epoch the
      // highest and tell the stragglers again.
      const settleFrom = Date.now() + 2000
      await waitFor(
        `every node to see slot ${slot} on ${dst.port}`,
        async () => {
          let agreed = true
          for (const n of liveNodes()) {
            const ranges = await n.command('CLUSTER', 'SLOTS')
            const r = ranges.find((x) => slot >= x[0] && slot <= x[1])
            if (r && r[2][1] === dst.port) continue
            agreed = false
            if (Date.now() > settleFrom) {
              await dst.command('CLUSTER', 'BUMPEPOCH').catch(() => {})
              await n.command('CLUSTER', 'SETSLOT', slot, 'NODE', dst.id).catch(() => {})
            }
          }
          return agreed
        },
        30_000,
      )
      return moved
    }

    return {
      dir,
      nodes,
      seeds: nodes.map((n) => ({ host: HOST, port: n.port })),
      url:
        `redis-cluster://${HOST}:${nodes[0].port}?` +
        nodes
          .slice(1)
          .map((n) => `node=${HOST}:${n.port}`)
          .join('&'),
      stop,
      command: clusterCommand,
      /** Runs the command on every live master; resolves with the replies in `nodes` order. */
      async commandAll(...args) {
        return Promise.all((await masterNodes()).map((n) => n.command(...args)))
      },
      /** Total DBSIZE over the live masters. */
      async dbsize() {
        const sizes = await Promise.all((await masterNodes()).map((n) => n.command('DBSIZE')))
        return sizes.reduce((a, b) => a + b, 0)
      },
      /** CLUSTER KEYSLOT (key may be a Buffer). */
      async slotOf(key) {
        return anyNode().command('CLUSTER', 'KEYSLOT', key)
      },
      /** The node (from `nodes`, with `.port`, `.id`) serving `slot`, per CLUSTER SLOTS. */
      nodeForSlot,
      /** A live replica (from `nodes`) of `master` (a port or a node), per ROLE; or null. */
      async replicaOf(master) {
        const m = byPort(master)
        for (const n of liveNodes()) {
          const role = await n.command('ROLE')
          if (str(role[0]) === 'slave' && Number(role[2]) === m.port) return n
        }
        return null
      },
      /**
       * `CLUSTER FAILOVER` (the coordinated kind: the master stops taking writes until the
       * replica has caught up, so nothing it acknowledged is lost) sent to `replica`, then waits
       * until every live node maps that replica's slots to it. Resolves with the replica node.
       */
      async failover(replica, timeoutMs = 30_000) {
        const r = byPort(replica)
        const role = await r.command('ROLE')
        if (str(role[0]) !== 'slave') throw new Error(`failover: ${r.port} is not a replica`)
        const oldPort = Number(role[2])
        await r.command('CLUSTER', 'FAILOVER')
        await waitFor(
          `every node to see ${r.port} as master in place of ${oldPort}`,
          async () => {
            if (str((await r.command('ROLE'))[0]) !== 'master') return false
            for (const n of liveNodes()) {
              const ranges = await n.command('CLUSTER', 'SLOTS')
              if (ranges.some((x) => x[2][1] === oldPort)) return false
              if (!ranges.some((x) => x[2][1] === r.port)) return false
            }
            return true
          },
          timeoutMs,
          100,
        )
        return r
      },
      /**
       * Live-migrates `slot` from one node to another (ports or node objects): SETSLOT
       * IMPORTING on the target, MIGRATING on the source, MIGRATE … KEYS in batches of
       * CLUSTER GETKEYSINSLOT, then SETSLOT NODE on target, source and every other node.
       * opts: { batchSize = 100, timeoutMs = 5000, replace = false,
       *         first: keys to move first, in a batch of their own (then onBatch runs),
       *         onBatch: async (keys) => {} — called after each batch moves, while the slot is
       *         still MIGRATING/IMPORTING (so tests can exercise -ASK) }.
       * Resolves with the number of keys moved.
       */
      async migrateSlot(slot, from, to, opts = {}) {
        const { batchSize = 100, timeoutMs = 5000, replace = false, onBatch, first = [] } = opts
        const src = byPort(from)
        const dst = byPort(to)
        if (src === dst) throw new Error('migrateSlot: source and target are the same node')
        // Migrations at the same time must not cross (a node the target of one and the source
        // of another). Closing a slot bumps the target's config epoch; a node that imported a
        // slot elsewhere may then have a higher epoch than the target of the slot it is giving
        // away, and its gossip from before it gave that slot up makes the target hand the slot
        // back and delete every key in it (Redis's "dirty slot" rule in
        // clusterUpdateSlotsConfigWith): acknowledged writes vanish, through no fault of the
        // client.
        for (const m of migrating) {
          if (m.src === dst || m.dst === src) {
            throw new Error(`migrateSlot: ${src.port} -> ${dst.port} crosses ${m.src.port} -> ${m.dst.port}`)
          }
        }
        const owner = await nodeForSlot(slot)
        if (owner !== src) throw new Error(`migrateSlot: slot ${slot} is served by ${owner?.port}, not ${src.port}`)
        const mine = { src, dst }
        migrating.add(mine)
        try {
          return await migrate(slot, src, dst, { batchSize, timeoutMs, replace, onBatch, first })
        } finally {
          migrating.delete(mine)
        }
      },
    }
  } catch (e) {
    await stop()
    throw e
  }
}

function slotMapSignature(slots) {
  return slots
    .map((r) => `${r[0]}-${r[1]}@${r[2][1]}`)
    .sort()
    .join(',')
}

module.exports = { startCluster }
