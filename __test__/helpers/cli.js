'use strict'

// The `spots-sessions` command as a user runs it: a child process of this Node.

const path = require('node:path')
const { spawn } = require('node:child_process')

const CLI = path.join(__dirname, '..', '..', 'bin', 'spots-sessions.js')

/**
 * Runs the CLI with `args`; resolves to `{ code, signal, stdout, stderr, all }` (`all`: stdout
 * then stderr). `env`: variables to set on top of this process's (`undefined` unsets one).
 * Bounded: killed after 60 s.
 */
function runCli(args, env = {}) {
  const childEnv = { ...process.env }
  for (const [k, v] of Object.entries(env)) {
    if (v === undefined) delete childEnv[k]
    else childEnv[k] = v
  }
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: childEnv })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (d) => (stdout += d))
    child.stderr.on('data', (d) => (stderr += d))
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000)
    child.on('error', reject)
    child.on('exit', (code, signal) => {
      clearTimeout(timer)
      resolve({ code, signal, stdout, stderr, all: stdout + stderr })
    })
  })
}

module.exports = { CLI, runCli }
