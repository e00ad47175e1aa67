'use strict'

// The topologies the suites start besides a single server (./redis.js), in one require. Each
// lives in a module of its own; every process binds to 127.0.0.1 on a free port, in its own temp
// dir, and is killed (the dir removed) by the handle's stop() and on process exit.
//
//   startTlsRedis(opts?)   ./tls-server.js  (certificates: ./tls-certs.js)
//   startSentinel(opts?)   ./sentinel.js
//   startCluster(opts?)    ./cluster.js
//   (process and temp-dir bookkeeping: ./processes.js; the RESP client: ./redis.js)

const { startTlsRedis } = require('./tls-server.js')
const { startSentinel } = require('./sentinel.js')
const { startCluster } = require('./cluster.js')

module.exports = { startTlsRedis, startSentinel, startCluster }
