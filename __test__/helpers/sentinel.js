'use strict'

// A throwaway Sentinel deployment: 1 master, 1 replica and 3 sentinels monitoring them, each
// bound to 127.0.0.1 on a free port, all in one temp dir (./processes.js kills them and removes
// the dir on stop() and on process exit).
//
//   startSentinel({ name = 'mymaster' })
//     -> { name, dir, master, replica, servers, serverFor(port), sentinels, url, stop(),
//          currentMaster(), killMaster(), waitForFailover(oldPort, timeoutMs) }

const { spawn } = require('node:child_process')
const fs = require('node:fs')
const path = require('node:path')
const { HOST, freePort, startTracked, command, str, parseInfo, pairs } = require('./redis.js')
const { serverPath } = require('./server-binary.js')
const { track, mkTemp, rmTemp, alive, killChild, waitFor, fatal, tail } = require('./processes.js')

/**
 * 1 master, 1 replica and 3 sentinels monitoring them as `mymaster` (quorum 2,
 * down-after 1000 ms, failover-timeout 5000 ms). Resolves once the replica's link is up and every
 * sentinel reports the master, the replica and the 2 other sentinels.
 */
async function startSentinel(opts = {}) {
  const name = opts.name ?? 'mymaster'
  const dir = mkTemp('spots-sentinel-')
  const servers = []
  const sentinelProcs = []
  let stopped = false

  async function stop() {
    if (stopped) return
    stopped = true
    await Promise.all([...sentinelProcs.map((s) => killChild(s.child)), ...servers.map((s) => s.stop())])
    rmTemp(dir)
  }

  try {
    const masterDir = path.join(dir, 'master')
    fs.mkdirSync(masterDir)
    // repl-diskless-sync-delay defaults to 5 s: without 0 the first full sync takes that long
    const fastRepl = ['--repl-diskless-sync-delay', '0']
    const master = await startTracked({ dir: masterDir, args: fastRepl })
    servers.push(master)
    const replicaDir = path.join(dir, 'replica')
    fs.mkdirSync(replicaDir)
    const replica = await startTracked({
      dir: replicaDir,
      args: [...fastRepl, '--replicaof', HOST, String(master.port)],
    })
    servers.push(replica)

    await waitFor(
      'replica link up',
      async () => parseInfo(await replica.command('INFO', 'replication')).master_link_status === 'up',
      10_000,
    )
    // the master must list the replica before the sentinels' first INFO, so they see it at once
    await waitFor(
      'master sees replica',
      async () => parseInfo(await master.command('INFO', 'replication')).connected_slaves === '1',
      10_000,
    )

    for (let i = 0; i < 3; i++) sentinelProcs.push(await startSentinelProcess(dir, name, master.port))
    const sentinels = sentinelProcs.map((s) => ({
      host: HOST,
      port: s.port,
      command: (...args) => command(s.port, ...args),
      stop: ({ hard = false } = {}) => killChild(s.child, { hard }),
    }))

    await waitFor(
      'sentinels to agree on master, replica and peers',
      async () => {
        for (const s of sentinelProcs) {
          const addr = await command(s.port, 'SENTINEL', 'get-master-addr-by-name', name)
          if (!addr || Number(str(addr[1])) !== master.port) return false
          const reps = (await command(s.port, 'SENTINEL', 'replicas', name)).map(pairs)
          if (reps.length !== 1 || Number(reps[0].port) !== replica.port || reps[0].flags !== 'slave') return false
          const peers = (await command(s.port, 'SENTINEL', 'sentinels', name)).map(pairs)
          if (peers.length !== 2 || peers.some((p) => p.flags !== 'sentinel')) return false
        }
        return true
      },
      15_000,
      100,
    )

    const liveSentinels = () => sentinelProcs.filter((s) => alive(s.child))
    const serverFor = (port) => servers.find((s) => s.port === Number(port))

    async function currentMaster() {
      let last
      for (const s of liveSentinels()) {
        try {
          const addr = await command(s.port, 'SENTINEL', 'get-master-addr-by-name', name)
          if (addr) return Number(str(addr[1]))
        } catch (e) {
          last = e
        }
      }
      throw last ?? new Error('no sentinel answered')
    }

    return {
      name,
      dir,
      /** The initial master / replica (redis.js handles); after a failover their roles differ. */
      master,
      replica,
      servers,
      serverFor,
      sentinels,
      url:
        `redis-sentinel://${HOST}:${sentinels[0].port}?sentinelServiceName=${encodeURIComponent(name)}` +
        sentinels
          .slice(1)
          .map((s) => `&node=${HOST}:${s.port}`)
          .join(''),
      stop,
      /** The master's port as reported by a sentinel. */
      currentMaster,
      /** SIGKILLs the current master's process; resolves with its port. */
      async killMaster() {
        const port = await currentMaster()
        const server = serverFor(port)
        if (!server) throw new Error(`sentinel reports master ${port}, which this topology did not start`)
        await server.stop({ hard: true })
        return port
      },
      /**
       * Waits until every live sentinel reports a master other than `oldPort` and that server
       * answers ROLE with master; resolves with the new master's port.
       */
      async waitForFailover(oldPort, timeoutMs = 20_000) {
        return waitFor(
          `failover away from ${oldPort}`,
          async () => {
            const ports = new Set()
            for (const s of liveSentinels()) {
              const addr = await command(s.port, 'SENTINEL', 'get-master-addr-by-name', name)
              ports.add(addr ? Number(str(addr[1])) : null)
            }
            if (ports.size !== 1) return false
            const [port] = ports
            if (port === null || port === Number(oldPort)) return false
            const role = await command(port, 'ROLE')
            return str(role[0]) === 'master' ? port : false
          },
          timeoutMs,
          100,
        )
      },
    }
  } catch (e) {
    await stop()
    throw e
  }
}

async function startSentinelProcess(dir, name, masterPort) {
  let lastErr
  for (let attempt = 0; attempt < 3; attempt++) {
    const port = await freePort()
    const conf = path.join(dir, `sentinel-${port}.conf`)
    const log = path.join(dir, `sentinel-${port}.log`)
    fs.writeFileSync(
      conf,
      [
        `port ${port}`,
        `bind ${HOST}`,
        `dir ${dir}`,
        `logfile ${log}`,
        'daemonize no',
        'sentinel resolve-hostnames no',
        `sentinel monitor ${name} ${HOST} ${masterPort} 2`,
        `sentinel down-after-milliseconds ${name} 1000`,
        `sentinel failover-timeout ${name} 5000`,
        `sentinel parallel-syncs ${name} 1`,
        '',
      ].join('\n'),
    )
    const child = spawn(serverPath, [conf, '--sentinel'], { stdio: ['ignore', 'ignore', 'pipe'] })
    track({ child })
    let stderr = ''
    child.stderr.on('data', (d) => (stderr = (stderr + d).slice(-4000)))
    try {
      await waitFor(
        `sentinel on ${port}`,
        async () => {
          if (!alive(child)) throw fatal(`sentinel exited: ${stderr}${tail(log)}`)
          return (await command(port, 'PING')) === 'PONG'
        },
        10_000,
        20,
      )
      return { port, child, conf, log }
    } catch (e) {
      lastErr = e
      await killChild(child, { hard: true })
    }
  }
  throw lastErr
}

module.exports = { startSentinel }
