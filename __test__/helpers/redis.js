'use strict'

// Starts throwaway redis-server processes on free loopback ports for the test suites.
// Nothing here ever talks to a server the tests did not start.

const { spawn } = require('node:child_process')
const net = require('node:net')
const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')

/** A free TCP port on 127.0.0.1 (the OS picks it). */
function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer()
    srv.unref()
    srv.on('error', reject)
    srv.listen(0, '127.0.0.1', () => {
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
    const sock = net.connect(port, '127.0.0.1')
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

// A minimal binary-safe RESP2 client: keys and fields hold raw bytes (session ids are binary),
// which redis-cli's argv cannot carry. It only ever talks to a server the harness started.
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

/** Sends one command (strings, numbers or Buffers); bulk replies come back as Buffers. */
function command(port, ...args) {
  return new Promise((resolve, reject) => {
    const sock = net.connect(port, '127.0.0.1')
    let buf = Buffer.alloc(0)
    const timer = setTimeout(() => {
      sock.destroy()
      reject(new Error('resp: timeout'))
    }, 5000)
    sock.on('connect', () => {
      const parts = [Buffer.from(`*${args.length}\r\n`)]
      for (const a of args) {
        const b = Buffer.isBuffer(a) ? a : Buffer.from(String(a))
        parts.push(Buffer.from(`$${b.length}\r\n`), b, Buffer.from('\r\n'))
      }
      sock.write(Buffer.concat(parts))
    })
    sock.on('data', (d) => {
      buf = Buffer.concat([buf, d])
      const r = parseReply(buf, 0)
      if (r) {
        clearTimeout(timer)
        sock.end()
        if (r.value instanceof Error) reject(r.value)
        else resolve(r.value)
      }
    })
    sock.on('error', (e) => {
      clearTimeout(timer)
      reject(e)
    })
    // Closed by the server before a whole reply (CLIENT KILL, shutdown): fail now, not on the
    // timeout. After a resolve this is a no-op.
    sock.on('close', () => {
      clearTimeout(timer)
      reject(new Error('resp: connection closed before a reply'))
    })
  })
}

/**
 * Starts `redis-server` on a free port (or on `opts.port`) with no persistence unless asked.
 * Resolves to `{ port, url, stop(), restart(), cli(...args) }` once it answers PING.
 */
async function startRedis(opts = {}) {
  const port = opts.port ?? (await freePort())
  const dir = opts.dir ?? fs.mkdtempSync(path.join(os.tmpdir(), 'spots-redis-'))
  const args = [
    '--port', String(port),
    '--bind', '127.0.0.1',
    '--save', '',
    '--appendonly', opts.appendonly ? 'yes' : 'no',
    '--dir', dir,
    '--daemonize', 'no',
    '--loglevel', 'warning',
    ...(opts.args ?? []),
  ]
  // SPOTS_TEST_REDIS_SERVER: another server binary (Redis 6.2, Valkey) for compatibility runs.
  const child = spawn(process.env.SPOTS_TEST_REDIS_SERVER || 'redis-server', args, { stdio: ['ignore', 'ignore', 'pipe'] })
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
      throw new Error(`redis-server did not start on port ${port}: ${stderr}`)
    }
    await sleep(20)
  }
  const server = {
    port,
    dir,
    url: `redis://127.0.0.1:${port}`,
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
        const p = spawn('redis-cli', ['-p', String(port), '--no-raw', ...cliArgs], { stdio: ['ignore', 'pipe', 'pipe'] })
        let out = ''
        p.stdout.on('data', (d) => (out += d))
        p.on('error', reject)
        p.on('exit', (code) => (code === 0 ? resolve(out.trim()) : reject(new Error(`redis-cli exited ${code}`))))
      })
    },
    /** Runs redis-cli with --raw output, one reply line per element. */
    raw(...cliArgs) {
      return new Promise((resolve, reject) => {
        const p = spawn('redis-cli', ['-p', String(port), '--raw', ...cliArgs], { stdio: ['ignore', 'pipe', 'pipe'] })
        let out = ''
        p.stdout.on('data', (d) => (out += d))
        p.on('error', reject)
        p.on('exit', (code) => (code === 0 ? resolve(out.replace(/\n$/, '')) : reject(new Error(`redis-cli exited ${code}`))))
      })
    },
  }
  return server
}

module.exports = { startRedis, freePort, sleep, rawCommand, command, parseReply }
