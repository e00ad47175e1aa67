'use strict'

// The documented storage layout (README, "Storage layout", format 1), recomputed independently
// of the library so tests can look inside Redis.

const crypto = require('node:crypto')

/** The name escape: `\` → `\\`, `:` → `\.`, `{` → `\(`, `}` → `\)`. */
function esc(name) {
  return name.replace(/[\\:{}]/g, (c) => ({ '\\': '\\\\', ':': '\\.', '{': '\\(', '}': '\\)' })[c])
}

/** A session id: the first 16 bytes of SHA-256(token), raw. */
function sessionId(token) {
  return crypto.createHash('sha256').update(token).digest().subarray(0, 16)
}

/** `S1:<app>:<id>` as bytes. */
function sessionKey(app, token) {
  return Buffer.concat([Buffer.from(`S1:${esc(app)}:`), sessionId(token)])
}

/** `O1:<app>:<owner>`. */
function indexKey(app, owner) {
  return `O1:${esc(app)}:${esc(owner)}`
}

/** The owner field's name: the single byte 0xFF. */
const OWNER_FIELD = Buffer.from([0xff])

module.exports = { esc, sessionId, sessionKey, indexKey, OWNER_FIELD }
