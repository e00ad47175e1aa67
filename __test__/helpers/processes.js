'use strict'

// The child processes and temp dirs of the harness (single servers, TLS, Sentinel, Cluster):
// whatever a test leaves behind, crashed or not, is killed (and its dir removed) when the test
// process exits.
//
//   track({ child } | { dir })     -> the entry: killed / removed on process exit (a child that
//                                     exits before is forgotten)
//   mkTemp(prefix) / rmTemp(dir)   -> a tracked temp dir under os.tmpdir() / removes it now
//   alive(child)                   -> whether it has neither exited nor been killed
//   killChild(child, { hard })     -> SIGTERM (SIGKILL when hard, or after 3 s), waits for the exit
//   waitFor(what, fn, timeoutMs, intervalMs?) -> fn()'s first truthy value; fatal(msg) ends it
//   tail(file, n?)                 -> the last n characters of a log file, '' if unreadable

const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')
const { setTimeout: sleep } = require('node:timers/promises')

const tracked = new Set() // { child } | { dir }

function track(entry) {
  tracked.add(entry)
  if (entry.child) entry.child.once('exit', () => tracked.delete(entry))
  return entry
}

process.once('exit', () => {
  for (const e of tracked) {
    try {
      if (e.child && e.child.exitCode === null && e.child.signalCode === null) e.child.kill('SIGKILL')
      if (e.dir) fs.rmSync(e.dir, { recursive: true, force: true })
    } catch {
      // best effort
    }
  }
})

function mkTemp(prefix) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix))
  track({ dir })
  return dir
}

function rmTemp(dir) {
  fs.rmSync(dir, { recursive: true, force: true })
  for (const e of tracked) if (e.dir === dir) tracked.delete(e)
}

const alive = (child) => child.exitCode === null && child.signalCode === null

/** Kills a child (SIGTERM, or SIGKILL when `hard`) and waits for it; SIGKILL after 3 s. */
async function killChild(child, { hard = false } = {}) {
  if (alive(child)) {
    const exited = new Promise((resolve) => child.once('exit', resolve))
    child.kill(hard ? 'SIGKILL' : 'SIGTERM')
    const t = setTimeout(() => alive(child) && child.kill('SIGKILL'), 3000)
    await exited
    clearTimeout(t)
  }
}

async function waitFor(what, fn, timeoutMs, intervalMs = 50) {
  const deadline = Date.now() + timeoutMs
  let last
  for (;;) {
    try {
      const v = await fn()
      if (v) return v
    } catch (e) {
      if (e.fatal) throw e
      last = e
    }
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? `: ${last.message}` : ''}`)
    }
    await sleep(intervalMs)
  }
}

/** An error that ends a waitFor at once (the process being waited for has exited). */
const fatal = (msg) => Object.assign(new Error(msg), { fatal: true })

function tail(file, n = 2000) {
  try {
    const s = fs.readFileSync(file, 'utf8')
    return s.slice(-n)
  } catch {
    return ''
  }
}

module.exports = { track, mkTemp, rmTemp, alive, killChild, waitFor, fatal, tail }
