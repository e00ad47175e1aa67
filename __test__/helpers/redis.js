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
  const child = spawn('redis-server', args, { stdio: ['ignore', 'ignore', 'pipe'] })
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

module.exports = { startRedis, freePort, sleep, rawCommand }
