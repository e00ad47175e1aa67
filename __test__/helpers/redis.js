'use strict'

// The harness's RESP client, and throwaway redis-server processes on free loopback ports, for
// the test suites, the benchmarks and the example. Nothing here ever talks to a server the
// harness did not start. (TLS, Sentinel and Cluster: ./topologies.js.)
//
//   HOST                           '127.0.0.1': every server the harness starts binds there
//   freePort()                     -> a free TCP port on HOST
//   sleep(ms)
//   command(port, ...args)         -> one command over TCP; bulk replies are Buffers
//   commandVia(connect, ...args)   -> the same over any socket (`connect` makes it: TLS, …)
//   pipeline(connect, commands)    -> several commands on one connection, replies in order
//   rawCommand(port, line)         -> one inline command, the raw reply text
//   parseReply(buf, pos)           -> the binary-safe RESP2 parser under all of the above
//   str(v), parseInfo(text), pairs(arr) -> a reply as a string / INFO text / [k, v, …] as objects
//   startRedis(opts?)              -> { port, dir, url, child, stop(), command(), cli(), raw() }
//   startTracked(opts)             -> startRedis retried on a port race, with .host, .alive() and
//                                     a stop() that cannot hang (the topologies' servers)
//
// Every server is killed, and a temp dir that startRedis made removed, when the process exits
// (./processes.js); stop() kills it sooner and keeps the dir, to restart on it.

const { spawn } = require('node:child_process')
const net = require('node:net')
const { serverPath, cliPath, serverArgs } = require('./server-binary.js')
const { track, mkTemp, alive, killChild } = require('./processes.js')

const HOST = '127.0.0.1'

/** A free TCP port on HOST (the OS picks it). */
function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer()
    srv.unref()
    srv.on('error', reject)
    srv.listen(0, HOST, () => {
      const { port } = srv.address()
      srv.close(() => resolve(port))
    })
  })
}

function sleep(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms))
}

/** Sends one inline command and resolves with the raw reply text. */
function rawCommand(port, line, timeoutMs = 1000) {
  return new Promise((resolve, reject) => {
    const sock = net.connect(port, HOST)
    let buf = ''
    const timer = setTimeout(() => {
      sock.destroy()
      reject(new Error('timeout'))
    }, timeoutMs)
    sock.on('connect', () => sock.write(line + '\r\n'))
    sock.on('data', (d) => {
      buf += d
      if (buf.endsWith('\r\n')) {
        clearTimeout(timer)
        sock.end()
        resolve(buf)
      }
    })
    sock.on('error', (e) => {
      clearTimeout(timer)
      reject(e)
    })
  })
}

// A minimal binary-safe RESP2 client (parseReply, encode, pipeline, commandVia, command): keys
// and fields hold raw bytes (session ids are binary), which redis-cli's argv cannot carry. It
// only ever talks to a server the harness started.
function parseReply(buf, pos) {
  if (pos >= buf.length) return null
  const eol = buf.indexOf('\r\n', pos)
  if (eol < 0) return null
  const type = String.fromCharCode(buf[pos])
  const line = buf.toString('latin1', pos + 1, eol)
  const next = eol + 2
  if (type === '+') return { value: line, pos: next }
  if (type === '-') return { value: new Error(line), pos: next }
  if (type === ':') return { value: Number(line), pos: next }
  if (type === '$') {
    const n = Number(line)
    if (n < 0) return { value: null, pos: next }
    if (buf.length < next + n + 2) return null
    return { value: buf.subarray(next, next + n), pos: next + n + 2 }
  }
  if (type === '*') {
    const n = Number(line)
    if (n < 0) return { value: null, pos: next }
    const items = []
    let p = next
    for (let i = 0; i < n; i++) {
      const r = parseReply(buf, p)
      if (!r) return null
      items.push(r.value)
      p = r.pos
    }
    return { value: items, pos: p }
  }
  throw new Error(`unexpected RESP type ${JSON.stringify(type)}`)
}

function encode(args) {
  const parts = [Buffer.from(`*${args.length}\r\n`)]
  for (const a of args) {
    const b = Buffer.isBuffer(a) ? a : Buffer.from(String(a))
    parts.push(Buffer.from(`$${b.length}\r\n`), b, Buffer.from('\r\n'))
  }
  return Buffer.concat(parts)
}

/**
 * Sends `commands` (arrays of strings, numbers or Buffers) on one connection made by
 * `connect()` (a net or tls socket) and resolves with their replies in order; error replies
 * come back as Error values. One connection for several commands: ASKING + a command.
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
      if (err) reject(err)
      else resolve(val)
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
    // Closed by the server before every reply (CLIENT KILL, shutdown): fail now, not on the
    // timeout. After a resolve this is a no-op.
    sock.on('close', () => finish(new Error('resp: connection closed before all replies')))
    // net and tls sockets both buffer writes made before the (secure) connection is up
    sock.write(Buffer.concat(commands.map(encode)))
  })
}

/** One command over a socket from `connect()`; bulk replies are Buffers, an error reply rejects. */
async function commandVia(connect, ...args) {
  const [reply] = await pipeline(connect, [args])
  if (reply instanceof Error) throw reply
  return reply
}

/** One command (strings, numbers or Buffers) to HOST:`port`; bulk replies come back as Buffers. */
function command(port, ...args) {
  return commandVia(() => net.connect(port, HOST), ...args)
}

/** A reply (Buffer or anything else) as a string. */
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

/**
 * Starts `redis-server` on a free port (or on `opts.port`), in `opts.dir` or a temp dir of its
 * own, with no persistence unless asked (`opts.cpus`: pinned with taskset). Resolves to `{ port, dir, url, child, stop(),
 * command(...args), cli(...args), raw(...args) }` once it answers PING.
 */
async function startRedis(opts = {}) {
  const port = opts.port ?? (await freePort())
  const dir = opts.dir ?? mkTemp('spots-redis-')
  // one redis-server flag and its value per line
  // prettier-ignore
  const args = [
    '--port', String(port),
    '--bind', HOST,
    '--save', '',
    '--appendonly', opts.appendonly ? 'yes' : 'no',
    '--dir', dir,
    '--daemonize', 'no',
    '--loglevel', 'warning',
    ...(opts.args ?? []),
  ]
  // `opts.cpus` (benchmarks only): run it under `taskset -c <cpus>`, which execs the server in
  // place, so `child` is the server's own process.
  const child = opts.cpus
    ? spawn('taskset', ['-c', opts.cpus, serverPath, ...serverArgs(args)], { stdio: ['ignore', 'ignore', 'pipe'] })
    : spawn(serverPath, serverArgs(args), { stdio: ['ignore', 'ignore', 'pipe'] })
  track({ child })
  let stderr = ''
  child.stderr.on('data', (d) => (stderr += d))
  const exited = new Promise((resolve) => child.once('exit', resolve))
  const deadline = Date.now() + 10_000
  for (;;) {
    try {
      if ((await rawCommand(port, 'PING')).startsWith('+PONG')) break
    } catch {
      // not up yet
    }
    if (child.exitCode !== null || Date.now() > deadline) {
      child.kill('SIGKILL')
      throw new Error(`${serverPath} did not start on port ${port}: ${stderr}`)
    }
    await sleep(20)
  }
  const server = {
    port,
    dir,
    url: `redis://${HOST}:${port}`,
    child,
    /** Stops the server (SIGKILL when `hard`, else SIGTERM) and waits for it to exit. */
    async stop({ hard = false } = {}) {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill(hard ? 'SIGKILL' : 'SIGTERM')
        await exited
      }
    },
    /** One command over a binary-safe connection; see `command`. */
    command(...cmdArgs) {
      return command(port, ...cmdArgs)
    },
    /** Runs redis-cli against this server and resolves with its trimmed stdout. */
    cli(...cliArgs) {
      return new Promise((resolve, reject) => {
        const p = spawn(cliPath, ['-p', String(port), '--no-raw', ...cliArgs], { stdio: ['ignore', 'pipe', 'pipe'] })
        let out = ''
        p.stdout.on('data', (d) => (out += d))
        p.on('error', reject)
        p.on('exit', (code) => (code === 0 ? resolve(out.trim()) : reject(new Error(`redis-cli exited ${code}`))))
      })
    },
    /** Runs redis-cli with --raw output, one reply line per element. */
    raw(...cliArgs) {
      return new Promise((resolve, reject) => {
        const p = spawn(cliPath, ['-p', String(port), '--raw', ...cliArgs], { stdio: ['ignore', 'pipe', 'pipe'] })
        let out = ''
        p.stdout.on('data', (d) => (out += d))
        p.on('error', reject)
        p.on('exit', (code) =>
          code === 0 ? resolve(out.replace(/\n$/, '')) : reject(new Error(`redis-cli exited ${code}`)),
        )
      })
    },
  }
  return server
}

/** startRedis with up to 3 attempts (a free port can be taken between freePort() and bind). */
async function startTracked(opts) {
  let lastErr
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      const s = await startRedis({ ...opts, port: opts.port ?? (await freePort()) })
      const baseStop = s.stop.bind(s)
      s.host = HOST
      s.alive = () => alive(s.child)
      s.stop = async ({ hard = false } = {}) => {
        // startRedis's stop() has no SIGKILL fallback; add one so a wedged server cannot hang teardown
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

module.exports = {
  HOST,
  startRedis,
  startTracked,
  freePort,
  sleep,
  rawCommand,
  command,
  commandVia,
  pipeline,
  parseReply,
  str,
  parseInfo,
  pairs,
}
