'use strict'

// The measuring loops the benchmarks share: a fixed number of calls with a fixed number in
// flight, untimed bulk work in batches, and the statistics over what they record.

/** The `p`th percentile (nearest rank) of the ascending `sorted`; NaN when it is empty. */
function percentile(sorted, p) {
  if (sorted.length === 0) return NaN
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))
  return sorted[i]
}

/**
 * Runs `ops` calls of `fn(i)` with exactly `c` in flight (c workers, each awaiting in a loop).
 * Returns per-op latencies (ns) and the wall time. `fn` returns whether the result was the
 * expected one; unexpected results are counted, rejections abort the benchmark.
 */
async function pool(c, ops, fn) {
  const lat = new Float64Array(ops)
  let next = 0
  let unexpected = 0
  async function worker() {
    for (;;) {
      const i = next++
      if (i >= ops) return
      const t0 = process.hrtime.bigint()
      const ok = await fn(i)
      lat[i] = Number(process.hrtime.bigint() - t0)
      if (!ok) unexpected++
    }
  }
  const start = process.hrtime.bigint()
  const workers = []
  for (let w = 0; w < Math.min(c, ops); w++) workers.push(worker())
  await Promise.all(workers)
  const wallNs = Number(process.hrtime.bigint() - start)
  return { lat, wallNs, unexpected }
}

/** Untimed bulk work: `count` calls in batches of `batch` concurrent calls. */
async function batched(count, batch, fn) {
  const out = new Array(count)
  for (let i = 0; i < count; i += batch) {
    const end = Math.min(count, i + batch)
    const ps = []
    for (let j = i; j < end; j++) ps.push(fn(j))
    const res = await Promise.all(ps)
    for (let j = i; j < end; j++) out[j] = res[j - i]
  }
  return out
}

/** The median of `values` (the mean of the two middle ones for an even count). */
function median(values) {
  const sorted = [...values].sort((a, b) => a - b)
  const mid = sorted.length >> 1
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2
}

/** The value of `field` in the text of an `INFO` reply. */
function infoField(text, field) {
  const m = new RegExp(`^${field}:(.*)$`, 'm').exec(text)
  if (!m) throw new Error(`INFO has no ${field}`)
  return m[1].trim()
}

/** Redis's CPU so far (user + sys, all its threads) in µs, from the text of `INFO cpu`. */
function cpuUsOfInfo(text) {
  return Math.round((Number(infoField(text, 'used_cpu_sys')) + Number(infoField(text, 'used_cpu_user'))) * 1e6)
}

/**
 * Runs `fn` and adds to its result the CPU spent meanwhile per call, in µs, over `calls` calls:
 * `clientUs` (this whole process) and `redisUs` (the server `redis`, a test-helper server).
 */
async function withCpu(redis, calls, fn) {
  const redisCpu = async () => cpuUsOfInfo((await redis.command('INFO', 'cpu')).toString('latin1'))
  const client = process.cpuUsage()
  const server = await redisCpu()
  const result = await fn()
  const used = process.cpuUsage(client)
  return { ...result, clientUs: (used.user + used.system) / calls, redisUs: ((await redisCpu()) - server) / calls }
}

module.exports = { percentile, pool, batched, median, infoField, cpuUsOfInfo, withCpu }
