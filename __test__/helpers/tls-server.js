'use strict'

// A throwaway redis-server that speaks TLS only, with certificates from ./tls-certs.js, bound to
// 127.0.0.1 on a free port in its own temp dir (./processes.js kills it and removes the dir on
// stop() and on process exit).
//
//   startTlsRedis({ keyType?, args? })
//     -> { host, port, url, dir, child, ca, cert, key, clientCert, clientKey, caPath, certPath,
//          keyPath, clientCertPath, clientKeyPath, tlsOptions, stop(),
//          command(...args), commandWithClientCert(...args) }

const { spawn } = require('node:child_process')
const tls = require('node:tls')
const fs = require('node:fs')
const path = require('node:path')
const { HOST, freePort, commandVia } = require('./redis.js')
const { serverPath } = require('./server-binary.js')
const { track, mkTemp, rmTemp, alive, killChild, waitFor, fatal, tail } = require('./processes.js')
const { makeCerts } = require('./tls-certs.js')

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
      // one redis-server flag and its value per line
      // prettier-ignore
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
            if (!alive(child))
              throw fatal(`redis-server (TLS) exited: ${stderr}${tail(path.join(dir, `redis-${port}.log`))}`)
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

module.exports = { startTlsRedis }
