'use strict'

// The benchmark's reference: the same API as `SpotsSessions`, written in plain JavaScript on
// ioredis the way a careful developer would, with the same O(1) storage guarantees (exact keys,
// hashed tokens, an owner index, server-side multi-key steps). It exists only to tell whether the
// native addon is worth it; it is not part of the package.
//
// Layout:
//   sess:<app>:<sha256(token), base64url>   string  JSON.stringify({ o: ownerId, d: data, c: createdAt }),
//                                                   PX expiry
//   owner:<app>:<ownerId>                   zset    member: the token's hash, score: expiry (ms);
//                                                   PEXPIREAT at its highest score
// <app> and <ownerId> are encodeURIComponent-escaped, so ':' (→ %3A) cannot collide.
//
// Known limits (fine for a benchmark, not for production): cjson re-encodes data in `update`, so
// numbers above 2^53 or with more than 14 significant digits lose precision, and an empty array
// becomes `{}`; encodeURIComponent throws on lone surrogates.

const crypto = require('node:crypto')
const Redis = require('ioredis')

const LUA_NOW = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
`

// encodeURIComponent in Lua (byte-wise on UTF-8, which is what encodeURIComponent produces).
const LUA_ESCAPE = `
local function esc(s)
  return (string.gsub(s, "[^%w%-_%.!~%*'%(%)]", function(c)
    return string.format('%%%02X', string.byte(c))
  end))
end
`

// Prune expired members, list the session, and keep the index alive as long as its last member.
const LUA_INDEX_PUT = `
local function index_put(index, id, expiry, now)
  redis.call('ZREMRANGEBYSCORE', index, '-inf', '(' .. string.format('%d', now))
  redis.call('ZADD', index, string.format('%d', expiry), id)
  local top = redis.call('ZRANGE', index, -1, -1, 'WITHSCORES')
  redis.call('PEXPIREAT', index, top[2])
end
`

const SCRIPTS = {
  // KEYS: session, index. ARGV: id, value (JSON), duration ms.
  sessCreate: {
    numberOfKeys: 2,
    lua: `${LUA_NOW}${LUA_INDEX_PUT}
local ms = tonumber(ARGV[3])
redis.call('SET', KEYS[1], ARGV[2], 'PX', ms)
index_put(KEYS[2], ARGV[1], now + ms, now)
return 1
`,
  },
  // KEYS: session. ARGV: id, duration ms, index prefix ("owner:<app>:").
  sessRefresh: {
    numberOfKeys: 1,
    lua: `${LUA_NOW}${LUA_ESCAPE}${LUA_INDEX_PUT}
local v = redis.call('GET', KEYS[1])
if not v then return 0 end
local ms = tonumber(ARGV[2])
local owner = cjson.decode(v).o
index_put(ARGV[3] .. esc(owner), ARGV[1], now + ms, now)
redis.call('PEXPIRE', KEYS[1], ms)
return 1
`,
  },
  // `get` with `refresh`: the session's JSON, and its expiry (and its index entry's) extended,
  // as sessRefresh. KEYS: session. ARGV: id, duration ms, index prefix.
  sessGetRefresh: {
    numberOfKeys: 1,
    lua: `${LUA_NOW}${LUA_ESCAPE}${LUA_INDEX_PUT}
local v = redis.call('GET', KEYS[1])
if not v then return false end
local ms = tonumber(ARGV[2])
index_put(ARGV[3] .. esc(cjson.decode(v).o), ARGV[1], now + ms, now)
redis.call('PEXPIRE', KEYS[1], ms)
return v
`,
  },
  // `list`: every live session listed in an owner's index, with its remaining life; members
  // whose session is gone are removed. KEYS: index. ARGV: session prefix ("sess:<app>:").
  // Returns { id, pttl, json, … }.
  sessList: {
    numberOfKeys: 1,
    lua: `${LUA_NOW}
local out, gone = {}, {}
for _, id in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1)) do
  local v = redis.call('GET', ARGV[1] .. id)
  if v then
    out[#out + 1] = id
    out[#out + 1] = redis.call('PTTL', ARGV[1] .. id)
    out[#out + 1] = v
  else
    gone[#gone + 1] = id
  end
end
if #gone > 0 then
  redis.call('ZREM', KEYS[1], unpack(gone))
end
return out
`,
  },
  // KEYS: session. ARGV: patch (JSON object; null deletes a key).
  sessUpdate: {
    numberOfKeys: 1,
    lua: `
local v = redis.call('GET', KEYS[1])
if not v then return 0 end
local s = cjson.decode(v)
local d = s.d
for k, x in pairs(cjson.decode(ARGV[1])) do
  if x == cjson.null then d[k] = nil else d[k] = x end
end
redis.call('SET', KEYS[1], cjson.encode(s), 'KEEPTTL')
return 1
`,
  },
  // KEYS: session. ARGV: id, index prefix.
  sessKill: {
    numberOfKeys: 1,
    lua: `${LUA_ESCAPE}
local v = redis.call('GET', KEYS[1])
if not v then return 0 end
redis.call('DEL', KEYS[1])
redis.call('ZREM', ARGV[2] .. esc(cjson.decode(v).o), ARGV[1])
return 1
`,
  },
  // KEYS: index. ARGV: session prefix ("sess:<app>:").
  sessKillAll: {
    numberOfKeys: 1,
    lua: `
local killed = 0
for _, id in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1)) do
  killed = killed + redis.call('DEL', ARGV[1] .. id)
end
redis.call('DEL', KEYS[1])
return killed
`,
  },
}

const esc = encodeURIComponent

function hashToken(token) {
  return crypto.createHash('sha256').update(token).digest('base64url')
}

function ms(duration) {
  if (typeof duration !== 'number' || !Number.isFinite(duration) || duration <= 0) {
    throw new TypeError('duration: must be a positive number of seconds')
  }
  return Math.ceil(duration * 1000)
}

class ReferenceSessions {
  constructor(connectionString) {
    this.client = new Redis(connectionString, { enableAutoPipelining: true })
    for (const [name, def] of Object.entries(SCRIPTS)) this.client.defineCommand(name, def)
  }

  async create({ app, ownerId, data = {}, duration }) {
    const token = crypto.randomBytes(128).toString('base64')
    const id = hashToken(token)
    const owner = String(ownerId)
    await this.client.sessCreate(
      `sess:${esc(app)}:${id}`,
      `owner:${esc(app)}:${esc(owner)}`,
      id,
      JSON.stringify({ o: owner, d: data, c: Date.now() }),
      ms(duration),
    )
    return token
  }

  async get({ app, token, refresh }) {
    const key = `sess:${esc(app)}:${hashToken(token)}`
    const v =
      refresh === undefined
        ? await this.client.get(key)
        : await this.client.sessGetRefresh(key, hashToken(token), ms(refresh), `owner:${esc(app)}:`)
    if (v === null) return undefined
    const s = JSON.parse(v)
    return { ownerId: s.o, data: s.d }
  }

  async refresh({ app, token, duration }) {
    const id = hashToken(token)
    return (await this.client.sessRefresh(`sess:${esc(app)}:${id}`, id, ms(duration), `owner:${esc(app)}:`)) === 1
  }

  async update({ app, token, data }) {
    return (await this.client.sessUpdate(`sess:${esc(app)}:${hashToken(token)}`, JSON.stringify(data))) === 1
  }

  async kill({ app, token }) {
    const id = hashToken(token)
    return (await this.client.sessKill(`sess:${esc(app)}:${id}`, id, `owner:${esc(app)}:`)) === 1
  }

  /** Newest first; the reference has no pre-createdAt sessions, so every createdAt is a number. */
  async list({ app, ownerId }) {
    const flat = await this.client.sessList(`owner:${esc(app)}:${esc(String(ownerId))}`, `sess:${esc(app)}:`)
    const now = Date.now()
    const out = []
    for (let i = 0; i < flat.length; i += 3) {
      const s = JSON.parse(flat[i + 2])
      out.push({ sessionId: flat[i], createdAt: s.c, expiresAt: flat[i + 1] < 0 ? null : now + flat[i + 1], data: s.d })
    }
    return out.sort((a, b) => b.createdAt - a.createdAt)
  }

  async killAll({ app, ownerId }) {
    return (await this.client.sessKillAll(`owner:${esc(app)}:${esc(String(ownerId))}`, `sess:${esc(app)}:`)) > 0
  }

  async quit() {
    return this.client.quit()
  }
}

module.exports = { ReferenceSessions }
