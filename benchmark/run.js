'use strict'

// Throughput, latency, CPU and memory of the native addon against an ioredis reference
// implementation of the same API (benchmark/reference.js). See benchmark/README.md.
//
//   npm run bench
//   BENCH_SIZES=1000 BENCH_SCALE=0.2 BENCH_METHODS=get,update node benchmark/run.js
//   BENCH_SIZES=1000 BENCH_SCALE=0.2 BENCH_METHODS=get,list,getRefresh node benchmark/run.js
//   BENCH_JSON=/tmp/bench.jsonl npm run bench
//   BENCH_PIN=1 npm run bench     # one vCPU each: node on core 0, redis-server on core 1
//
// It starts its own redis-server on a free loopback port and never talks to any other.

const fs = require('node:fs')
const os = require('node:os')
const { spawnSync } = require('node:child_process')

// BENCH_PIN=1: the one-vCPU layout that many containers give an application. The whole Node
// process (main thread, the addon's tokio threads, V8's helpers) runs on core 0 and
// redis-server on core 1, so neither implementation can borrow the other core. The
// benchmark re-runs itself under `taskset -c 0` (children inherit that, so redis-server is
// started under its own `taskset -c 1`).
const PIN = process.env.BENCH_PIN === '1'
const NODE_CPU = process.env.BENCH_PIN_NODE_CPU || '0'
const REDIS_CPU = process.env.BENCH_PIN_REDIS_CPU || '1'
if (PIN && process.env.BENCH_PINNED !== NODE_CPU) {
  const r = spawnSync('taskset', ['-c', NODE_CPU, process.execPath, ...process.execArgv, __filename], {
    stdio: 'inherit',
    env: { ...process.env, BENCH_PINNED: NODE_CPU },
  })
  if (r.error) throw new Error(`BENCH_PIN=1 needs taskset (util-linux): ${r.error.message}`)
  process.exit(r.status ?? 1)
}
const { SpotsSessions } = require('..')
const { ReferenceSessions } = require('./reference')
const { startRedis } = require('../__test__/helpers/redis')
const { writeChart } = require('./chart')
const { percentile, pool, batched, infoField, cpuUsOfInfo } = require('./measure')

// ---------------------------------------------------------------------------------------------
// Settings

const METHODS = ['get', 'update', 'refresh', 'create', 'kill', 'killAll', 'getRefresh', 'list1', 'list10', 'list100']
// `list` in BENCH_METHODS stands for the three list runs: owners with 1, 10 and 100 sessions.
const LIST_SIZES = { list1: 1, list10: 10, list100: 100 }

function listEnv(name, fallback) {
  const v = process.env[name]
  return v
    ? v
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean)
    : fallback
}

const SIZES = listEnv('BENCH_SIZES', ['1000', '100000']).map(Number)
const SCALE = Number(process.env.BENCH_SCALE || 1)
const CONCURRENCY = listEnv('BENCH_CONCURRENCY', ['1', '16', '256', '1024']).map(Number)
const METHODS_RUN = listEnv('BENCH_METHODS', METHODS).flatMap((m) => (m === 'list' ? Object.keys(LIST_SIZES) : [m]))
const JSON_PATH = process.env.BENCH_JSON || ''
const OTHER_WARN = 15 // % of one core used by foreign processes during a run that gets it flagged
const REPEAT = Math.max(1, Number(process.env.BENCH_REPEAT || 3) | 0)

for (const m of METHODS_RUN) if (!METHODS.includes(m)) throw new Error(`BENCH_METHODS: unknown method ${m}`)
for (const n of SIZES) if (!(Number.isInteger(n) && n >= 2)) throw new Error(`BENCH_SIZES: bad size ${n}`)
if (!(SCALE > 0)) throw new Error(`BENCH_SCALE: must be > 0`)

/** Timed operations for a run. */
function opsFor(method, c) {
  let base
  if (method === 'list100') base = c === 1 ? 2000 : 5000
  else if (c === 1) base = 5000
  else if (method === 'kill' || method === 'killAll' || method === 'list10') base = 20000
  else if (method === 'list1') base = 50000
  else base = 100000
  return Math.max(100, Math.round(base * SCALE))
}
const WARMUP = Math.max(200, Math.round(2000 * Math.min(1, SCALE)))
const PRELOAD_BATCH = 1000
const LIST_OWNERS = 50 // owners per list run
const APP = 'bench-app'
const DURATION = 3600
const { PAYLOAD } = require('./payload')
const UPDATES = [{ locale: 'en-GB' }, { currentDeviceToken: 'f6e5d4c3b2a1', locale: 'fr-FR' }]

// ---------------------------------------------------------------------------------------------
// Measurement helpers

const MAIN_SCHEDSTAT = `/proc/self/task/${process.pid}/schedstat`

/** Nanoseconds the main JS thread has spent on a CPU (first field of its schedstat). */
function mainThreadCpuNs() {
  return Number(fs.readFileSync(MAIN_SCHEDSTAT, 'utf8').split(' ')[0])
}

/** Microseconds of CPU of the whole client process (main + addon/tokio + V8 threads). */
function processCpuUs() {
  const u = process.cpuUsage()
  return u.user + u.system
}

const CLK_TCK = 100 // USER_HZ: /proc/stat counts in 1/100 s on Linux

/** Machine-wide busy CPU time (all cores, incl. steal) in µs, from /proc/stat. */
function machineBusyUs() {
  const f = fs.readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number)
  // user nice system idle iowait irq softirq steal (guest time is already in user)
  const busy = f[0] + f[1] + f[2] + f[5] + f[6] + (f[7] || 0)
  return (busy * 1e6) / CLK_TCK
}

async function redisInfo(redis, section) {
  return (await redis.command('INFO', section)).toString('latin1')
}

/** Redis CPU (user + sys, all its threads) in microseconds, and its socket reads so far. */
async function redisCounters(redis) {
  const t = (await redis.command('INFO', 'cpu', 'stats')).toString('latin1')
  return {
    cpuUs: cpuUsOfInfo(t),
    reads: Number(infoField(t, 'total_reads_processed')),
  }
}

async function usedMemory(redis) {
  return Number(infoField(await redisInfo(redis, 'memory'), 'used_memory'))
}

function shuffle(a) {
  for (let i = a.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1))
    ;[a[i], a[j]] = [a[j], a[i]]
  }
  return a
}

/** Creates `count` sessions; session i belongs to `${prefix}${owner(i)}`. Returns the tokens. */
function preload(impl, count, ownerOf) {
  return batched(count, PRELOAD_BATCH, (i) =>
    impl.create({ app: APP, ownerId: ownerOf(i), data: PAYLOAD, duration: DURATION }),
  )
}

// ---------------------------------------------------------------------------------------------
// Output

const jsonLines = []
function emitJson(obj) {
  const line = JSON.stringify({ bench: 'spots-sessions', ...obj })
  jsonLines.push(line)
  if (JSON_PATH) fs.appendFileSync(JSON_PATH, line + '\n')
}

function progress(msg) {
  process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${msg}\n`)
}

function fmtInt(n) {
  return Number.isFinite(n) ? Math.round(n).toLocaleString('en-US') : '-'
}
function fmt1(n) {
  return Number.isFinite(n) ? n.toFixed(1) : '-'
}
function fmt2(n) {
  return Number.isFinite(n) ? n.toFixed(2) : '-'
}

function table(headers, rows, align) {
  const w = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => String(r[i]).length)))
  const cell = (s, i) => (align[i] === 'l' ? String(s).padEnd(w[i]) : String(s).padStart(w[i]))
  const lines = [headers.map(cell).join('  '), w.map((x) => '-'.repeat(x)).join('  ')]
  for (const r of rows) lines.push(r.map(cell).join('  '))
  return lines.join('\n')
}

/**
 * One timed run of `method` at concurrency `c` on `impl`: an untimed warm-up, targets prepared
 * untimed, then `opsFor(method, c)` calls with exactly `c` in flight. Returns raw totals.
 */
async function runOne(impl, preloaded, method, c, id, redis) {
  const ops = opsFor(method, c)
  const rnd = () => preloaded[(Math.random() * preloaded.length) | 0]

  // `make(count, tag)` prepares `count` calls untimed and returns `fn(i)`, which performs call
  // i and resolves to whether its result was the expected one.
  let make
  let cleanup = async () => {}
  if (method === 'get') {
    make = async () => async () => {
      const s = await impl.get({ app: APP, token: rnd() })
      return s !== undefined && s.data.email === PAYLOAD.email
    }
  } else if (method === 'update') {
    make = async () => async (i) => (await impl.update({ app: APP, token: rnd(), data: UPDATES[i & 1] })) === true
  } else if (method === 'refresh') {
    make = async () => async () => (await impl.refresh({ app: APP, token: rnd(), duration: DURATION })) === true
  } else if (method === 'getRefresh') {
    make = async () => async () => {
      const s = await impl.get({ app: APP, token: rnd(), refresh: DURATION })
      return s !== undefined && s.data.email === PAYLOAD.email
    }
  } else if (LIST_SIZES[method] !== undefined) {
    // LIST_OWNERS owners with k sessions each (untimed); each call lists a random one of them
    // and must see all k. Removed afterwards (untimed).
    const k = LIST_SIZES[method]
    const used = []
    make = async (count, tag) => {
      const prefix = `ls-${id}-${tag}-`
      used.push(prefix)
      await preload(impl, LIST_OWNERS * k, (i) => prefix + (i % LIST_OWNERS))
      return async () => {
        const list = await impl.list({ app: APP, ownerId: prefix + ((Math.random() * LIST_OWNERS) | 0) })
        return list.length === k && list[k - 1].data.email === PAYLOAD.email
      }
    }
    cleanup = async () => {
      for (const prefix of used)
        await batched(LIST_OWNERS, PRELOAD_BATCH, (o) => impl.killAll({ app: APP, ownerId: prefix + o }))
    }
  } else if (method === 'create') {
    // Fresh owners, 2 sessions each; removed afterwards (untimed) so N stays N for later runs.
    const used = []
    make = async (count, tag) => {
      const prefix = `cr-${id}-${tag}-`
      used.push([prefix, Math.ceil(count / 2)])
      return async (i) =>
        typeof (await impl.create({ app: APP, ownerId: prefix + (i >> 1), data: PAYLOAD, duration: DURATION })) ===
        'string'
    }
    cleanup = async () => {
      for (const [prefix, n] of used)
        await batched(n, PRELOAD_BATCH, (k) => impl.killAll({ app: APP, ownerId: prefix + k }))
    }
  } else if (method === 'kill') {
    // A fresh pool, 2 sessions per owner, killed in random order, each once.
    make = async (count, tag) => {
      const prefix = `k-${id}-${tag}-`
      const targets = shuffle(await preload(impl, count, (i) => prefix + (i >> 1)))
      return async (i) => (await impl.kill({ app: APP, token: targets[i] })) === true
    }
  } else if (method === 'killAll') {
    // Fresh owners with 2 sessions each, each owner killed once, in random order.
    make = async (count, tag) => {
      const prefix = `ka-${id}-${tag}-`
      await preload(impl, count * 2, (i) => prefix + (i >> 1))
      const order = shuffle(Array.from({ length: count }, (_, k) => k))
      return async (i) => (await impl.killAll({ app: APP, ownerId: prefix + order[i] })) === true
    }
  }

  const warm = await pool(c, WARMUP, await make(WARMUP, 'w'))
  const fn = await make(ops, 't')
  const redis0 = await redisCounters(redis)
  const main0 = mainThreadCpuNs()
  const proc0 = processCpuUs()
  const busy0 = machineBusyUs()
  const r = await pool(c, ops, fn)
  const busy1 = machineBusyUs()
  const main1 = mainThreadCpuNs()
  const proc1 = processCpuUs()
  const redis1 = await redisCounters(redis)
  await cleanup()

  const sorted = r.lat.slice().sort()
  return {
    ops,
    lat: r.lat,
    wallNs: r.wallNs,
    opsPerSec: ops / (r.wallNs / 1e9),
    p50us: percentile(sorted, 50) / 1000,
    p99us: percentile(sorted, 99) / 1000,
    mainCpuUs: (main1 - main0) / 1000,
    procCpuUs: proc1 - proc0,
    redisCpuUs: redis1.cpuUs - redis0.cpuUs,
    redisReads: redis1.reads - redis0.reads,
    // CPU used on the machine by anything but this process and its redis-server, in % of one
    // core over the run: other processes (or VM steal) competing for the 2 cores.
    otherCpuPct: Math.max(
      0,
      ((busy1 - busy0 - (proc1 - proc0) - (redis1.cpuUs - redis0.cpuUs)) / (r.wallNs / 1000)) * 100,
    ),
    unexpected: r.unexpected + warm.unexpected,
  }
}

function median(xs) {
  const s = [...xs].sort((a, b) => a - b)
  const m = s.length >> 1
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2
}

/** One result per (impl, method, c): median ops/s over the repetitions, percentiles over all
 * their latencies, CPU totals over all their calls. */
function summarise(impl, n, method, c, reps) {
  const ops = reps[0].ops
  const total = ops * reps.length
  const all = new Float64Array(total)
  reps.forEach((r, k) => all.set(r.lat, k * ops))
  all.sort()
  const sum = (f) => reps.reduce((a, r) => a + f(r), 0)
  const rates = reps.map((r) => Math.round(r.opsPerSec))
  return {
    impl,
    n,
    method,
    c,
    ops,
    reps: reps.length,
    opsPerSec: Math.round(median(rates)),
    opsPerSecReps: rates,
    p50us: +(percentile(all, 50) / 1000).toFixed(1),
    p99us: +(percentile(all, 99) / 1000).toFixed(1),
    mainCpuUsPerOp: +(sum((r) => r.mainCpuUs) / total).toFixed(2),
    procCpuUsPerOp: +(sum((r) => r.procCpuUs) / total).toFixed(2),
    redisCpuUsPerOp: +(sum((r) => r.redisCpuUs) / total).toFixed(2),
    // How well calls are pipelined: calls per read(2) on the server (c=1: ~1).
    opsPerRedisRead: +(total / sum((r) => r.redisReads)).toFixed(1),
    otherCpuPctMax: Math.round(Math.max(...reps.map((r) => r.otherCpuPct))),
    unexpected: sum((r) => r.unexpected),
  }
}

// ---------------------------------------------------------------------------------------------
// The benchmark

async function main() {
  const wallStart = Date.now()
  if (JSON_PATH) fs.writeFileSync(JSON_PATH, '')
  const redis = await startRedis({ args: ['--appendonly', 'no', '--save', ''], cpus: PIN ? REDIS_CPU : undefined })
  const impls = {}
  let failed = null
  try {
    const server = await redisInfo(redis, 'server')
    const machine = {
      os: `${os.type()} ${os.release()} ${os.arch()}`,
      cpu: os.cpus()[0]?.model ?? 'unknown',
      cpus: os.cpus().length,
      totalMemGiB: +(os.totalmem() / 2 ** 30).toFixed(1),
      node: process.version,
      redis: infoField(server, 'redis_version'),
      redisMalloc: infoField(await redisInfo(redis, 'memory'), 'mem_allocator'),
      ioredis: require('ioredis/package.json').version,
      addonWorkerThreads: process.env.SPOTS_SESSIONS_WORKER_THREADS || 'default (1)',
      availableParallelism: os.availableParallelism?.() ?? os.cpus().length,
      pinned: PIN ? { node: NODE_CPU, redis: REDIS_CPU } : null,
    }
    console.log('spots-sessions benchmark: native addon vs ioredis reference (benchmark/reference.js)')
    console.log(`machine: ${machine.cpu} x ${machine.cpus}, ${machine.totalMemGiB} GiB RAM, ${machine.os}`)
    console.log(
      `node ${machine.node}, redis-server ${machine.redis} (${machine.redisMalloc}), ioredis ${machine.ioredis}, addon tokio workers: ${machine.addonWorkerThreads}`,
    )
    console.log(
      `sizes ${SIZES.join(', ')}; concurrency ${CONCURRENCY.join(', ')}; methods ${METHODS_RUN.join(', ')}; scale ${SCALE}; ${REPEAT} repetitions per run, each after a ${WARMUP}-op warm-up`,
    )
    console.log(
      `redis-server on 127.0.0.1:${redis.port} (--save '' --appendonly no); ` +
        (PIN
          ? `pinned: node on cpu ${NODE_CPU}, redis-server on cpu ${REDIS_CPU}`
          : 'client and server share the machine'),
    )
    emitJson({ kind: 'machine', ...machine, sizes: SIZES, scale: SCALE })
    console.log(jsonLines[jsonLines.length - 1])

    // The addon in db 0, the reference in db 1: their datasets never mix, and FLUSHALL clears both.
    impls.addon = new SpotsSessions({ connectionString: `${redis.url}/0`, commandTimeout: 30000 })
    impls.reference = new ReferenceSessions(`${redis.url}/1`)
    const NAMES = ['addon', 'reference']

    // Connects both and loads their create/killAll scripts, so that neither the connection
    // nor the script cache is counted as session memory.
    async function warmConnections() {
      for (const name of NAMES) {
        const impl = impls[name]
        await impl.create({ app: APP, ownerId: 'warm', data: PAYLOAD, duration: DURATION })
        await impl.killAll({ app: APP, ownerId: 'warm' })
        await impl.get({ app: APP, token: 'x' })
      }
    }

    async function measurePreload(name, n, owners) {
      const before = await usedMemory(redis)
      const t0 = Date.now()
      const tokens = await preload(impls[name], n, (i) => `user-${i % owners}`)
      const ms = Date.now() - t0
      const after = await usedMemory(redis)
      const bytes = after - before
      emitJson({
        kind: 'memory',
        impl: name,
        n,
        owners,
        sessionsPerOwner: +(n / owners).toFixed(2),
        bytes,
        bytesPerSession: +(bytes / n).toFixed(1),
      })
      progress(`  preload ${name}: ${n} sessions / ${owners} owners in ${ms} ms, ${fmt1(bytes / n)} B/session`)
      return { tokens, bytes, bytesPerSession: bytes / n, owners }
    }

    for (const N of SIZES) {
      progress(`N = ${N}`)
      const memory = {}
      const results = []

      // Memory, worst case: one session per owner, so every session pays for an index of its own.
      await redis.command('FLUSHALL')
      await warmConnections()
      memory.single = {}
      for (const name of NAMES) memory.single[name] = await measurePreload(name, N, N)
      for (const name of NAMES) memory.single[name].tokens = null
      await redis.command('FLUSHALL')

      // The dataset the timings run on: ~2 sessions per owner. Each preload measured on its own
      // (used_memory is server-wide), the addon's first.
      await warmConnections()
      const owners = Math.max(1, Math.floor(N / 2))
      memory.shared = {}
      const tokens = {}
      for (const name of NAMES) {
        memory.shared[name] = await measurePreload(name, N, owners)
        tokens[name] = memory.shared[name].tokens
        memory.shared[name].tokens = null
      }

      let runId = 0
      let pairIndex = 0
      for (const method of METHODS_RUN) {
        for (const c of CONCURRENCY) {
          // Alternate which implementation goes first: between methods/concurrencies, and
          // between repetitions (A B, B A, A B, …).
          const first = pairIndex++ % 2 === 0 ? NAMES : [...NAMES].reverse()
          const reps = { addon: [], reference: [] }
          for (let rep = 0; rep < REPEAT; rep++) {
            const order = rep % 2 === 0 ? first : [...first].reverse()
            for (const name of order) {
              const r = await runOne(impls[name], tokens[name], method, c, `${N}-${runId++}`, redis)
              reps[name].push(r)
              progress(
                `  ${method.padEnd(7)} c=${String(c).padEnd(3)} ${name.padEnd(9)} rep ${rep + 1}/${REPEAT} ${fmtInt(r.opsPerSec).padStart(8)} ops/s  p50 ${fmt1(r.p50us)} µs  p99 ${fmt1(r.p99us)} µs` +
                  `  main ${fmt2(r.mainCpuUs / r.ops)}  proc ${fmt2(r.procCpuUs / r.ops)}  redis ${fmt2(r.redisCpuUs / r.ops)} µs/op  ${fmt1(r.ops / r.redisReads)} calls/read  other ${Math.round(r.otherCpuPct)}%` +
                  (r.unexpected ? `  UNEXPECTED RESULTS: ${r.unexpected}` : ''),
              )
            }
          }
          for (const name of first) {
            const res = summarise(name, N, method, c, reps[name])
            results.push(res)
            emitJson(res)
          }
        }
      }

      // The report for this size.
      console.log()
      console.log(
        `=== N = ${N.toLocaleString('en-US')} sessions per implementation (${owners.toLocaleString('en-US')} owners, ~2 sessions each) ===`,
      )
      console.log(
        `ops/s: median of ${REPEAT} runs of "ops" calls each (±: half the min-max range, as % of the median);`,
      )
      console.log('p50/p99: latency per call in µs over all runs; CPU in µs per call: main = main JS thread')
      console.log(
        "(schedstat), proc = whole client process incl. the addon's tokio threads, redis = redis-server (INFO cpu)",
      )
      console.log()
      const headers = [
        'method',
        'c',
        'ops',
        'addon ops/s',
        '±',
        'p50',
        'p99',
        'main',
        'proc',
        'redis',
        'ref ops/s',
        '±',
        'p50',
        'p99',
        'main',
        'proc',
        'redis',
        'addon/ref',
      ]
      const align = headers.map((_, i) => (i === 0 ? 'l' : 'r'))
      const rows = []
      const spread = (x) =>
        `${Math.round(((Math.max(...x.opsPerSecReps) - Math.min(...x.opsPerSecReps)) / 2 / x.opsPerSec) * 100)}%`
      for (const method of METHODS_RUN) {
        for (const c of CONCURRENCY) {
          const a = results.find((x) => x.impl === 'addon' && x.method === method && x.c === c)
          const b = results.find((x) => x.impl === 'reference' && x.method === method && x.c === c)
          const part = (x) => [
            fmtInt(x.opsPerSec),
            spread(x),
            fmt1(x.p50us),
            fmt1(x.p99us),
            fmt2(x.mainCpuUsPerOp),
            fmt2(x.procCpuUsPerOp),
            fmt2(x.redisCpuUsPerOp),
          ]
          rows.push([method, c, fmtInt(a.ops), ...part(a), ...part(b), fmt2(a.opsPerSec / b.opsPerSec) + 'x'])
        }
      }
      console.log(table(headers, rows, align))
      const bad = results.filter((x) => x.unexpected > 0)
      for (const x of bad)
        console.log(`WARNING: ${x.impl} ${x.method} c=${x.c}: ${x.unexpected} calls returned an unexpected result`)
      const noisy = results.filter((x) => x.otherCpuPctMax >= OTHER_WARN)
      if (noisy.length) {
        console.log(
          `WARNING: other processes used >= ${OTHER_WARN}% of a core during: ` +
            noisy.map((x) => `${x.impl} ${x.method} c=${x.c} (${x.otherCpuPctMax}%)`).join(', ') +
            '; those figures are disturbed',
        )
      } else {
        console.log(`(no run saw other processes use >= ${OTHER_WARN}% of a core)`)
      }
      console.log()
      console.log('memory (Redis used_memory delta / sessions):')
      const memRows = [
        [
          '~2 sessions per owner',
          N,
          owners,
          ...NAMES.map((n) => fmtInt(memory.shared[n].bytes)),
          ...NAMES.map((n) => fmt1(memory.shared[n].bytesPerSession)),
        ],
        [
          '1 session per owner',
          N,
          N,
          ...NAMES.map((n) => fmtInt(memory.single[n].bytes)),
          ...NAMES.map((n) => fmt1(memory.single[n].bytesPerSession)),
        ],
      ]
      console.log(
        table(
          ['layout', 'sessions', 'owners', 'addon bytes', 'ref bytes', 'addon B/session', 'ref B/session'],
          memRows,
          ['l', 'r', 'r', 'r', 'r', 'r', 'r'],
        ),
      )
      console.log()
      for (const line of jsonLines.filter((l) => l.includes(`"n":${N},`))) console.log(line)
    }
    console.log()
    if (JSON_PATH) console.log(`chart: ${writeChart(JSON_PATH)}`)
    console.log(`total wall time: ${((Date.now() - wallStart) / 1000).toFixed(1)} s`)
  } catch (err) {
    failed = err
  } finally {
    for (const impl of Object.values(impls)) {
      try {
        await impl.quit()
      } catch (err) {
        failed ??= err
      }
    }
    await redis.stop()
  }
  if (failed) {
    console.error(failed)
    process.exitCode = 1
  }
}

main().catch((err) => {
  console.error(err)
  process.exitCode = 1
})
