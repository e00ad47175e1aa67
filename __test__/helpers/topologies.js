'use strict'

// Throwaway Redis topologies for the test suites: TLS, Sentinel and Cluster.
//
// Built on ./redis.js (startRedis, freePort, sleep, command). Every process binds to 127.0.0.1
// on a free port, lives in its own temp dir, and is killed (and the dir removed) by the handle's
// stop(). Nothing here ever talks to a server it did not start.
//
//   startTlsRedis(opts?)          -> { port, url, ca, cert, key, caPath, certPath, keyPath,
//                                      clientCert, clientKey, clientCertPath, clientKeyPath,
//                                      dir, child, stop(), command(...args) }
//   startSentinel(opts?)          -> { name, master, replica, servers, sentinels, url, stop(),
//                                      currentMaster(), killMaster(), waitForFailover(old, ms),
//                                      serverFor(port) }
//   startCluster({ masters = 3, replicas = 0 })
//                                 -> { nodes, seeds, url, stop(), command(...args),
//                                      commandAll(...args), dbsize(), slotOf(key),
//                                      nodeForSlot(slot), migrateSlot(slot, from, to, opts?),
//                                      replicaOf(master), failover(replica, ms) }

const { spawn, execFile } = require('node:child_process')
const net = require('node:net')
const tls = require('node:tls')
const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')
const crypto = require('node:crypto')
const { startRedis, freePort, sleep, command, parseReply } = require('./redis.js')
const { serverPath, cliPath, supports } = require('./server-binary.js')

const HOST = '127.0.0.1'

// ---------------------------------------------------------------------------------------------
// process / temp-dir bookkeeping: whatever a crashed test leaves behind is killed on exit.

const tracked = new Set() // { child } | { dir }

function track(entry) {
  tracked.add(entry)
  return entry
}

process.once('exit', () => {
  for (const e of tracked) {
    try {
      if (e.child && e.child.exitCode === null && e.child.signalCode === null) e.child.kill('SIGKILL')
      if (e.dir) fs.rmSync(e.dir, { recursive: true, force: true })
    } catch {
      // best effort
    }
  }
})

function mkTemp(prefix) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix))
  track({ dir })
  return dir
}

function rmTemp(dir) {
  fs.rmSync(dir, { recursive: true, force: true })
  for (const e of tracked) if (e.dir === dir) tracked.delete(e)
}

const alive = (child) => child.exitCode === null && child.signalCode === null

/** Kills a child (SIGTERM, or SIGKILL when `hard`) and waits for it; SIGKILL after 3 s. */
async function killChild(child, { hard = false } = {}) {
  if (alive(child)) {
    const exited = new Promise((resolve) => child.once('exit', resolve))
    child.kill(hard ? 'SIGKILL' : 'SIGTERM')
    const t = setTimeout(() => alive(child) && child.kill('SIGKILL'), 3000)
    await exited
    clearTimeout(t)
  }
  for (const e of tracked) if (e.child === child) tracked.delete(e)
}

/** startRedis with up to 3 attempts (a free port can be taken between freePort() and bind). */
async function startTracked(opts) {
  let lastErr
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      const s = await startRedis({ ...opts, port: opts.port ?? (await freePort()) })
      track({ child: s.child })
      const baseStop = s.stop.bind(s)
      s.host = HOST
      s.alive = () => alive(s.child)
      s.stop = async ({ hard = false } = {}) => {
        // redis.js stop() has no SIGKILL fallback; add one so a wedged server cannot hang teardown
        const t = setTimeout(() => alive(s.child) && s.child.kill('SIGKILL'), 3000)
        await baseStop({ hard })
        clearTimeout(t)
        await killChild(s.child, { hard: true })
      }
      return s
    } catch (e) {
      lastErr = e
      if (opts.port !== undefined) break
    }
  }
  throw lastErr
}

async function waitFor(what, fn, timeoutMs, intervalMs = 50) {
  const deadline = Date.now() + timeoutMs
  let last
  for (;;) {
    try {
      const v = await fn()
      if (v) return v
    } catch (e) {
      if (e.fatal) throw e
      last = e
    }
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? `: ${last.message}` : ''}`)
    }
    await sleep(intervalMs)
  }
}

const fatal = (msg) => Object.assign(new Error(msg), { fatal: true })

const str = (v) => (Buffer.isBuffer(v) ? v.toString() : String(v))

/** `INFO`-style text ("k:v" lines) to an object. */
function parseInfo(text) {
  const out = {}
  for (const line of str(text).split('\r\n')) {
    const i = line.indexOf(':')
    if (i > 0 && !line.startsWith('#')) out[line.slice(0, i)] = line.slice(i + 1)
  }
  return out
}

/** A flat [k, v, k, v…] reply to an object of strings. */
function pairs(arr) {
  const o = {}
  for (let i = 0; i + 1 < arr.length; i += 2) o[str(arr[i])] = str(arr[i + 1])
  return o
}

// ---------------------------------------------------------------------------------------------
// RESP over any socket: redis.js's `command()` generalised with a socket factory, plus
// pipelining (needed for ASKING + command on one connection), on redis.js's RESP2 parser.

function encode(args) {
  const parts = [Buffer.from(`*${args.length}\r\n`)]
  for (const a of args) {
    const b = Buffer.isBuffer(a) ? a : Buffer.from(String(a))
    parts.push(Buffer.from(`$${b.length}\r\n`), b, Buffer.from('\r\n'))
  }
  return Buffer.concat(parts)
}

/**
 * Sends `commands` (arrays of strings/numbers/Buffers) on one connection made by `connect()`
 * and resolves with their replies in order; error replies come back as Error values.
 */
function pipeline(connect, commands, timeoutMs = 5000) {
  return new Promise((resolve, reject) => {
    const sock = connect()
    let buf = Buffer.alloc(0)
    const replies = []
    let done = false
    const finish = (err, val) => {
      if (done) return
      done = true
      clearTimeout(timer)
      if (err) sock.destroy()
      else sock.end()
      err ? reject(err) : resolve(val)
    }
    const timer = setTimeout(() => finish(new Error('resp: timeout')), timeoutMs)
    sock.on('data', (d) => {
      buf = Buffer.concat([buf, d])
      try {
        for (;;) {
          const r = parseReply(buf, 0)
          if (!r) break
          replies.push(r.value)
          buf = buf.subarray(r.pos)
          if (replies.length === commands.length) return finish(null, replies)
        }
      } catch (e) {
        finish(e)
      }
    })
    sock.on('error', (e) => finish(e))
    sock.on('close', () => finish(new Error('resp: connection closed before all replies')))
    // net and tls sockets both buffer writes made before the (secure) connection is up
    sock.write(Buffer.concat(commands.map(encode)))
  })
}

/** One command over a socket from `connect()`; rejects on an error reply (like redis.js `command`). */
async function commandVia(connect, ...args) {
  const [reply] = await pipeline(connect, [args])
  if (reply instanceof Error) throw reply
  return reply
}

const tcp = (port) => () => net.connect(port, HOST)

// ---------------------------------------------------------------------------------------------
// TLS

function run(file, args, opts = {}) {
  return new Promise((resolve, reject) => {
    execFile(file, args, { ...opts, encoding: 'utf8' }, (err, stdout, stderr) => {
      if (err) reject(new Error(`${file} ${args.join(' ')} failed: ${err.message}\n${stderr}`))
      else resolve(stdout)
    })
  })
}

const OPENSSL_CNF = `
[req]
distinguished_name = dn
prompt = no
[dn]
CN = spots-sessions test
[ca_ext]
basicConstraints = critical,CA:TRUE
keyUsage = critical,keyCertSign,cRLSign
subjectKeyIdentifier = hash
[server_ext]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature,keyEncipherment
extendedKeyUsage = serverAuth
subjectAltName = IP:127.0.0.1,DNS:localhost
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
[client_ext]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature,keyEncipherment
extendedKeyUsage = clientAuth
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
`

/** Makes a throwaway CA, a server cert (IP:127.0.0.1, DNS:localhost) and a client cert in `dir`. */
async function makeCerts(dir, keyType = 'ec') {
  const cnf = path.join(dir, 'openssl.cnf')
  fs.writeFileSync(cnf, OPENSSL_CNF)
  const p = (f) => path.join(dir, f)
  const genkey = (out) =>
    keyType === 'rsa'
      ? run('openssl', ['genpkey', '-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:2048', '-out', out])
      : run('openssl', ['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', out])
  const serial = () => '0x' + crypto.randomBytes(8).toString('hex')
  const sign = (csr, out, ext) =>
    run('openssl', [
      'x509', '-req', '-in', csr, '-CA', p('ca.crt'), '-CAkey', p('ca.key'), '-set_serial', serial(),
      '-days', '30', '-sha256', '-extfile', cnf, '-extensions', ext, '-out', out,
    ])
  await Promise.all([genkey(p('ca.key')), genkey(p('server.key')), genkey(p('client.key'))])
  await run('openssl', [
    'req', '-config', cnf, '-x509', '-new', '-key', p('ca.key'), '-sha256', '-days', '30',
    '-subj', '/CN=spots-sessions test CA', '-extensions', 'ca_ext', '-out', p('ca.crt'),
  ])
  await Promise.all([
    run('openssl', ['req', '-config', cnf, '-new', '-key', p('server.key'), '-subj', '/CN=localhost', '-out', p('server.csr')]),
    run('openssl', ['req', '-config', cnf, '-new', '-key', p('client.key'), '-subj', '/CN=spots-sessions test client', '-out', p('client.csr')]),
  ])
  await Promise.all([sign(p('server.csr'), p('server.crt'), 'server_ext'), sign(p('client.csr'), p('client.crt'), 'client_ext')])
  return {
    caPath: p('ca.crt'),
    caKeyPath: p('ca.key'),
    certPath: p('server.crt'),
    keyPath: p('server.key'),
    clientCertPath: p('client.crt'),
    clientKeyPath: p('client.key'),
  }
}

/**
 * Starts redis-server with TLS only (`--port 0 --tls-port <free>`), with a fresh CA and
 * server/client certificates made by openssl. Client certificates are optional
 * (`--tls-auth-clients optional`). Resolves once a TLS PING (verified against the CA) answers
 * PONG.
 *
 * `opts.keyType`: 'ec' (P-256, default) or 'rsa' (2048). `opts.args`: extra redis-server args.
 */
async function startTlsRedis(opts = {}) {
  const dir = mkTemp('spots-tls-')
  try {
    const files = await makeCerts(dir, opts.keyType)
    const read = (f) => fs.readFileSync(f, 'utf8')
    const ca = read(files.caPath)
    let lastErr
    for (let attempt = 0; attempt < 3; attempt++) {
      const port = await freePort()
      const args = [
        '--port', '0',
        '--tls-port', String(port),
        '--bind', HOST,
        '--tls-cert-file', files.certPath,
        '--tls-key-file', files.keyPath,
        '--tls-ca-cert-file', files.caPath,
        '--tls-auth-clients', 'optional',
        '--save', '',
        '--appendonly', 'no',
        '--dir', dir,
        '--daemonize', 'no',
        '--loglevel', 'warning',
        '--logfile', path.join(dir, `redis-${port}.log`),
        ...(opts.args ?? []),
      ]
      const child = spawn(serverPath, args, { stdio: ['ignore', 'ignore', 'pipe'] })
      track({ child })
      let stderr = ''
      child.stderr.on('data', (d) => (stderr = (stderr + d).slice(-4000)))
      const connect = () => tls.connect({ host: HOST, port, ca })
      try {
        await waitFor(
          `TLS redis-server on ${port}`,
          async () => {
            if (!alive(child)) throw fatal(`redis-server (TLS) exited: ${stderr}${tail(path.join(dir, `redis-${port}.log`))}`)
            return (await commandVia(connect, 'PING')) === 'PONG'
          },
          10_000,
          30,
        )
      } catch (e) {
        lastErr = e
        await killChild(child, { hard: true })
        continue
      }
      let stopped = false
      const clientCert = read(files.clientCertPath)
      const clientKey = read(files.clientKeyPath)
      return {
        host: HOST,
        port,
        url: `rediss://${HOST}:${port}`,
        dir,
        child,
        ca,
        cert: read(files.certPath),
        key: read(files.keyPath),
        clientCert,
        clientKey,
        caPath: files.caPath,
        certPath: files.certPath,
        keyPath: files.keyPath,
        clientCertPath: files.clientCertPath,
        clientKeyPath: files.clientKeyPath,
        /** Options for `tls.connect` that trust this server (add cert/key for client auth). */
        tlsOptions: { host: HOST, port, ca },
        /** One command over a new TLS connection verified against the CA; bulk replies are Buffers. */
        command(...args) {
          return commandVia(connect, ...args)
        },
        /** Like `command`, but presenting the client certificate. */
        commandWithClientCert(...args) {
          return commandVia(() => tls.connect({ host: HOST, port, ca, cert: clientCert, key: clientKey }), ...args)
        },
        async stop({ hard = false } = {}) {
          if (stopped) return
          stopped = true
          await killChild(child, { hard })
          rmTemp(dir)
        },
      }
    }
    throw lastErr
  } catch (e) {
    rmTemp(dir)
    throw e
  }
}

function tail(file, n = 2000) {
  try {
    const s = fs.readFileSync(file, 'utf8')
    return s.slice(-n)
  } catch {
    return ''
  }
}

// ---------------------------------------------------------------------------------------------
// Sentinel

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
    await Promise.all([
      ...sentinelProcs.map((s) => killChild(s.child)),
      ...servers.map((s) => s.stop()),
    ])
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
    const replica = await startTracked({ dir: replicaDir, args: [...fastRepl, '--replicaof', HOST, String(master.port)] })
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
        sentinels.slice(1).map((s) => `&node=${HOST}:${s.port}`).join(''),
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

// ---------------------------------------------------------------------------------------------
// Cluster

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
 * with `replicas` replicas (default none). Each node gets an explicit `--cluster-port` (bus port), so ports near 65535 work.
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
        ['--cluster', 'create', ...nodes.map((n) => `${HOST}:${n.port}`), '--cluster-replicas', String(replicas), '--cluster-yes'],
        { stdio: ['ignore', 'pipe', 'pipe'] },
      )
      let out = ''
      p.stdout.on('data', (d) => (out += d))
      p.stderr.on('data', (d) => (out += d))
      p.on('error', reject)
      p.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`redis-cli --cluster create exited ${code}:\n${out}`))))
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
      for (let hop = 0, tries = 0; hop < 10; ) {
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

    return {
      dir,
      nodes,
      seeds: nodes.map((n) => ({ host: HOST, port: n.port })),
      url: `redis-cluster://${HOST}:${nodes[0].port}?` + nodes.slice(1).map((n) => `node=${HOST}:${n.port}`).join('&'),
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
        const owner = await nodeForSlot(slot)
        if (owner !== src) throw new Error(`migrateSlot: slot ${slot} is served by ${owner?.port}, not ${src.port}`)
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
        // A node can take the slot back from gossip sent before the source gave it up, when the
        // source's config epoch is higher (likelier while two slots move at once): after a
        // grace period, make the target's epoch the highest and tell the stragglers again.
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

module.exports = { startTlsRedis, startSentinel, startCluster, commandVia, pipeline }
