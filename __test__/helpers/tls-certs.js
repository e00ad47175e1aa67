'use strict'

// A throwaway certificate authority for the TLS harness, made with the openssl CLI: a CA, a
// server certificate for IP:127.0.0.1 and DNS:localhost, and a client certificate, valid 30 days.
//
//   makeCerts(dir, keyType = 'ec' | 'rsa')
//     -> { caPath, caKeyPath, certPath, keyPath, clientCertPath, clientKeyPath } (PEM files in dir)

const { execFile } = require('node:child_process')
const fs = require('node:fs')
const path = require('node:path')
const crypto = require('node:crypto')

/** Runs a command; resolves with its stdout, rejects with its stderr. */
function run(file, args) {
  return new Promise((resolve, reject) => {
    execFile(file, args, { encoding: 'utf8' }, (err, stdout, stderr) => {
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
  // openssl arguments: options with their values kept together on a line
  // prettier-ignore
  const sign = (csr, out, ext) =>
    run('openssl', [
      'x509', '-req', '-in', csr, '-CA', p('ca.crt'), '-CAkey', p('ca.key'), '-set_serial', serial(),
      '-days', '30', '-sha256', '-extfile', cnf, '-extensions', ext, '-out', out,
    ])
  await Promise.all([genkey(p('ca.key')), genkey(p('server.key')), genkey(p('client.key'))])
  // prettier-ignore
  await run('openssl', [
    'req', '-config', cnf, '-x509', '-new', '-key', p('ca.key'), '-sha256', '-days', '30',
    '-subj', '/CN=spots-sessions test CA', '-extensions', 'ca_ext', '-out', p('ca.crt'),
  ])
  // prettier-ignore
  await Promise.all([
    run('openssl', ['req', '-config', cnf, '-new', '-key', p('server.key'), '-subj', '/CN=localhost', '-out', p('server.csr')]),
    run('openssl', ['req', '-config', cnf, '-new', '-key', p('client.key'), '-subj', '/CN=spots-sessions test client', '-out', p('client.csr')]),
  ])
  await Promise.all([
    sign(p('server.csr'), p('server.crt'), 'server_ext'),
    sign(p('client.csr'), p('client.crt'), 'client_ext'),
  ])
  return {
    caPath: p('ca.crt'),
    caKeyPath: p('ca.key'),
    certPath: p('server.crt'),
    keyPath: p('server.key'),
    clientCertPath: p('client.crt'),
    clientKeyPath: p('client.key'),
  }
}

module.exports = { makeCerts }
