'use strict'

const { spawn } = require('node:child_process')

/**
 * Runs `source` in a fresh `node -e` process (killed after 20 s) and resolves to
 * `{ code, signal, stdout, stderr }`: for behaviour that must be seen from outside a process,
 * such as exiting by itself or not crashing. `nodeArgs` go before `-e` (`--expose-gc`).
 */
function runNode(source, env = {}, nodeArgs = []) {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [...nodeArgs, '-e', source], {
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (d) => (stdout += d))
    child.stderr.on('data', (d) => (stderr += d))
    const timer = setTimeout(() => child.kill('SIGKILL'), 20_000)
    child.on('exit', (code, signal) => {
      clearTimeout(timer)
      resolve({ code, signal, stdout, stderr })
    })
  })
}

module.exports = { runNode }
