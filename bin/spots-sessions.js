#!/usr/bin/env node
'use strict'

// The package's command line: `spots-sessions migrate-v1 [<connection-string>] [options]`
// (`npx @spots-tech/sessions migrate-v1 …`). It runs `SpotsSessions#migrateFromV1` and prints
// a progress line on a terminal, then a summary (or, with --json, the report as JSON).
// Exit codes: 0 nothing failed; 1 some keys failed or the run itself failed; 2 bad usage.
//
// Nothing it prints holds a secret: the report names 1.x keys by app, ownerId and sessionId,
// never by their name (which holds the token), and connection strings are shown without their
// user-info. The connection string may come from SPOTS_SESSIONS_REDIS_URL instead of argv, where
// `ps` and shell history would show its password.

const { SpotsSessions } = require('..')

const ENV = 'SPOTS_SESSIONS_REDIS_URL'

const USAGE = `Usage: spots-sessions migrate-v1 [<connection-string>] [options]

Converts every @spots-tech/sessions 1.x session (keys app:<app>|token:<token>|ownerId:<owner>)
into the 2.x layout, so that nobody is signed out by the upgrade. Safe to run while the
application serves traffic, and again: a second run converts only what is new.

<connection-string>  redis://[user:pass@]host:port[/db], rediss://…, redis-sentinel://…,
                     redis-cluster://host:port?node=host:port…, redis+unix:///path
                     Left out: taken from the environment variable ${ENV}, which keeps
                     a password out of the process list and the shell history.

Options:
  --dry-run          count what would be converted or skipped; write nothing
  --delete-old       delete each 1.x key once converted (run it last, once no 1.x instance is left)
  --batch-size <n>   keys per SCAN batch (SCAN COUNT), 1 to 100000 (default 1000)
  --json             print the report as JSON on stdout (no progress line, no summary)
  -h, --help         show this help

Skipped and failed keys are listed by app, ownerId and sessionId (SpotsSessions.sessionIdOf of
the token), never by key name: a 1.x key's name holds the token.

Exit status: 0 when no key failed, 1 when some did (or the run failed), 2 on bad usage.
`

// A command-line word as it may be echoed in an error: without anything that looks like the
// user-info of a connection string (a mistyped option may be one).
function redacted(word) {
  return String(word).replace(/^([^@]*:\/\/)?.*@/, (_, scheme) => `${scheme ?? ''}***@`)
}

// One skipped or failed key of the report, on one line: what identifies it without the token.
function entryLine(e) {
  const part = (v) => (v === null ? '?' : JSON.stringify(v))
  return `  app ${part(e.app)} · ownerId ${part(e.ownerId)} · sessionId ${e.sessionId ?? '?'}\n    ${e.reason}`
}

function usageError(message) {
  process.stderr.write(`spots-sessions: ${message}\n\n${USAGE}`)
  process.exit(2)
}

function parseArgs(argv) {
  const opts = { dryRun: false, deleteOld: false, json: false, batchSize: 1000 }
  const positional = []
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]
    if (a === '-h' || a === '--help') opts.help = true
    else if (a === '--dry-run') opts.dryRun = true
    else if (a === '--delete-old') opts.deleteOld = true
    else if (a === '--json') opts.json = true
    else if (a === '--batch-size' || a.startsWith('--batch-size=')) {
      const v = a.includes('=') ? a.slice(a.indexOf('=') + 1) : argv[++i]
      const n = Number(v)
      if (v === undefined || !Number.isInteger(n) || n < 1 || n > 100000)
        usageError(`--batch-size: must be a whole number from 1 to 100000, got ${redacted(v)}`)
      opts.batchSize = n
    } else if (a.startsWith('-')) usageError(`unknown option ${redacted(a)}`)
    else positional.push(a)
  }
  return { opts, positional }
}

const fmt = (n) => Math.round(n).toLocaleString('en-US')

function duration(seconds) {
  if (!Number.isFinite(seconds)) return '?'
  const s = Math.max(0, Math.round(seconds))
  const h = Math.floor(s / 3600)
  const m = Math.floor((s % 3600) / 60)
  const pad = (x) => String(x).padStart(2, '0')
  return h > 0 ? `${h}:${pad(m)}:${pad(s % 60)}` : `${m}:${pad(s % 60)}`
}

// The fraction of the keyspace visited so far, estimated: each SCAN batch visits about
// batchSize keys of DBSIZE (SCAN cannot say exactly; the estimate only feeds the ETA).
function etaText(p, batchSize, elapsed) {
  if (p.done) return 'done'
  if (!p.totalKeys) return 'ETA ?'
  const fraction = Math.min(0.99, (p.batches * batchSize) / p.totalKeys)
  return `ETA ${duration((elapsed * (1 - fraction)) / fraction)}`
}

async function migrate(url, opts) {
  const sessions = new SpotsSessions(url)
  const tty = !opts.json && process.stderr.isTTY
  const started = Date.now()
  let shown = 0
  const onProgress = tty
    ? (p) => {
        // At most ten redraws a second, and always the last one.
        if (!p.done && Date.now() - shown < 100) return
        shown = Date.now()
        const elapsed = (Date.now() - started) / 1000
        const rate = elapsed > 0 ? p.scanned / elapsed : 0
        const line =
          `scanned ${fmt(p.scanned)} · migrated ${fmt(p.migrated)} · already ${fmt(p.alreadyMigrated)}` +
          ` · skipped ${fmt(p.skipped)} · errors ${fmt(p.errors)} · ${fmt(rate)} keys/s · ${etaText(p, opts.batchSize, elapsed)}`
        process.stderr.write(`\r\x1b[2K${line}`)
      }
    : undefined
  let report
  let failure
  try {
    report = await sessions.migrateFromV1({
      dryRun: opts.dryRun,
      deleteOld: opts.deleteOld,
      batchSize: opts.batchSize,
      onProgress,
    })
  } catch (err) {
    failure = err
    report = err && err.report
  } finally {
    if (tty) process.stderr.write('\n')
    await sessions.quit().catch(() => {})
  }
  const seconds = (Date.now() - started) / 1000
  if (opts.json) {
    const out = failure ? { ...report, failed: `${failure.code ?? 'ERROR'}: ${failure.message}` } : report
    process.stdout.write(JSON.stringify(out, null, 2) + '\n')
  } else if (report) {
    const dry = opts.dryRun ? ' (dry run: nothing was written; the counts say what a run would do)' : ''
    const lines = [
      `1.x keys scanned:  ${fmt(report.scanned)} in ${seconds.toFixed(1)} s${dry}`,
      `migrated:          ${fmt(report.migrated)}`,
      `already migrated:  ${fmt(report.alreadyMigrated)}`,
      `deleted (1.x):     ${fmt(report.deleted)}`,
      `skipped:           ${fmt(report.skipped.length)}`,
      ...report.skipped.slice(0, 20).map(entryLine),
      ...(report.skipped.length > 20
        ? [`  … and ${fmt(report.skipped.length - 20)} more (--json lists them all)`]
        : []),
      `errors:            ${fmt(report.errors.length)}`,
      ...report.errors.slice(0, 20).map(entryLine),
      ...(report.errors.length > 20 ? [`  … and ${fmt(report.errors.length - 20)} more (--json lists them all)`] : []),
    ]
    process.stdout.write(lines.join('\n') + '\n')
  }
  if (failure) {
    process.stderr.write(`spots-sessions: the migration failed: ${failure.message}\n`)
    return 1
  }
  return report.errors.length === 0 ? 0 : 1
}

async function main() {
  const [command, ...rest] = process.argv.slice(2)
  if (command === undefined || command === '-h' || command === '--help' || command === 'help') {
    process.stdout.write(USAGE)
    return command === undefined ? 2 : 0
  }
  if (command !== 'migrate-v1') usageError(`unknown command ${command}`)
  const { opts, positional } = parseArgs(rest)
  if (opts.help) {
    process.stdout.write(USAGE)
    return 0
  }
  if (positional.length > 1) usageError('expected at most one <connection-string>')
  const url = positional[0]
  // Without the argument the constructor reads SPOTS_SESSIONS_REDIS_URL itself, and its errors
  // name the variable.
  if (url === undefined && !process.env[ENV]) usageError(`give a <connection-string>, or set ${ENV}`)
  try {
    return await migrate(url, opts)
  } catch (err) {
    // A bad connection string throws from the constructor, with a message naming the option.
    process.stderr.write(`spots-sessions: ${err.message}\n`)
    return err && err.code === 'ERR_INVALID_ARG_VALUE' ? 2 : 1
  }
}

main().then((code) => {
  process.exitCode = code
})
