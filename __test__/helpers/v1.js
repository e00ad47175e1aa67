'use strict'

// A faithful re-implementation of @spots-tech/sessions 1.x (pure JavaScript on ioredis), used
// to write sessions exactly as 1.x wrote them, so that the migration tests convert real 1.x
// data. Per the 1.x README (shared/reference/original-README.md) and its source's behaviour:
//
// - a session is the string key `app:<app>|token:<token>|ownerId:<ownerId>` holding
//   `JSON.stringify(data)`, set with `EX duration` when a duration was given;
// - tokens are `crypto.randomBytes(tokenSize).toString(tokenEncoding)` (base64, 128 bytes by
//   default);
// - get/kill find the key with `KEYS app:<app>|token:<token>|*`; killAll with
//   `KEYS app:<app>|token:*|ownerId:<ownerId>` (patterns, as 1.x did: that is one of the
//   reasons 2.x exists);
// - update reads, merges `{ ...old, ...new }` (a null value deletes that key, undefined is
//   ignored) and writes it back keeping the remaining TTL; refresh sets `EX duration`.

const crypto = require('node:crypto')
const Redis = require('ioredis')

class V1Sessions {
  /**
   * @param {{ connectionString?: string, client?: import('ioredis').Redis | import('ioredis').Cluster,
   *   tokenEncoding?: BufferEncoding, tokenSize?: number }} [opts] `client`: an ioredis client
   *   to use instead (a `Redis.Cluster` for the Cluster tests, where only create() is used:
   *   1.x's KEYS lookups never worked on a Cluster).
   */
  constructor(opts = {}) {
    this.client =
      opts.client ?? new Redis(opts.connectionString ?? 'redis://127.0.0.1:6379', { maxRetriesPerRequest: 3 })
    this.tokenEncoding = opts.tokenEncoding ?? 'base64'
    this.tokenSize = opts.tokenSize ?? 128
  }

  /** The 1.x key name: plain concatenation, nothing escaped. */
  static key(app, token, ownerId) {
    return `app:${app}|token:${token}|ownerId:${ownerId}`
  }

  async create({ app, ownerId, data, duration }) {
    const token = crypto.randomBytes(this.tokenSize).toString(this.tokenEncoding)
    const key = V1Sessions.key(app, token, ownerId)
    if (duration) await this.client.set(key, JSON.stringify(data), 'EX', duration)
    else await this.client.set(key, JSON.stringify(data))
    return token
  }

  async #find(app, token) {
    const keys = await this.client.keys(`app:${app}|token:${token}|*`)
    return keys[0]
  }

  async get({ app, token }) {
    const key = await this.#find(app, token)
    if (!key) return undefined
    const value = await this.client.get(key)
    if (value === null) return undefined
    const ownerId = key.slice(key.indexOf('|ownerId:') + '|ownerId:'.length)
    return { ownerId, data: JSON.parse(value) }
  }

  async refresh({ app, token, duration }) {
    const key = await this.#find(app, token)
    if (!key) return false
    return (await this.client.expire(key, duration)) === 1
  }

  async update({ app, token, data }) {
    const key = await this.#find(app, token)
    if (!key) return false
    const old = await this.client.get(key)
    if (old === null) return false
    // `{ ...old, ...new }` where a null value deletes the key and an undefined one is ignored.
    const merged = { ...JSON.parse(old) }
    for (const [k, v] of Object.entries(data)) {
      if (v === null) delete merged[k]
      else if (v !== undefined) merged[k] = v
    }
    await this.client.set(key, JSON.stringify(merged), 'KEEPTTL')
    return true
  }

  async kill({ app, token }) {
    const key = await this.#find(app, token)
    if (!key) return false
    return (await this.client.del(key)) === 1
  }

  async killAll({ app, ownerId }) {
    const keys = await this.client.keys(`app:${app}|token:*|ownerId:${ownerId}`)
    if (keys.length === 0) return false
    await this.client.del(...keys)
    return true
  }

  quit() {
    return this.client.quit()
  }
}

module.exports = { V1Sessions }
