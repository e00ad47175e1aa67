'use strict'

// The package as a user gets it: `npm pack` of the main package and of this platform's binary
// package, installed into a fresh application, then used from CommonJS, from ESM and from a
// strict TypeScript compile, on the Node that runs this suite (CI runs it on 20, 22 and 24).
// The app talks to a redis-server the harness started; the packages come from the tarballs and
// the npm cache (`npm ci` filled it), so the install needs no registry round trip.

const test = require('node:test')
const assert = require('node:assert/strict')
const { execFile } = require('node:child_process')
const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')
const { startRedis } = require('./helpers/redis.js')

const root = path.join(__dirname, '..')
const platformDir = 'linux-x64-gnu'
const nativeFile = `spots-sessions.${platformDir}.node`
const supported = process.platform === 'linux' && process.arch === 'x64' && !isMusl()

function isMusl() {
  return process.report?.getReport?.().header?.glibcVersionRuntime === undefined
}

function run(file, args, cwd, env = {}) {
  return new Promise((resolve, reject) => {
    execFile(
      file,
      args,
      { cwd, env: { ...process.env, ...env }, encoding: 'utf8', timeout: 180_000 },
      (err, stdout, stderr) => {
        if (err)
          reject(
            Object.assign(err, { message: `${file} ${args.join(' ')} failed: ${err.message}\n${stdout}\n${stderr}` }),
          )
        else resolve(stdout.trim())
      },
    )
  })
}

const npm = (args, cwd) => run('npm', [...args, '--no-audit', '--no-fund', '--loglevel=error'], cwd)
// Read from the file: some packages (@opentelemetry/api) do not export their package.json.
const devVersion = (name) =>
  JSON.parse(fs.readFileSync(path.join(root, 'node_modules', name, 'package.json'), 'utf8')).version

const CJS = `
const { SpotsSessions } = require('@spots-tech/sessions')
const binding = require.resolve('@spots-tech/sessions-${platformDir}')
;(async () => {
  const s = new SpotsSessions(process.env.URL)
  const token = await s.create({ app: 'pack', ownerId: 'cjs', data: { n: 1 }, duration: 60 })
  const got = await s.get({ app: 'pack', token })
  await s.quit()
  console.log(JSON.stringify({ got, binding }))
})()
`

const ESM = `
import { SpotsSessions } from '@spots-tech/sessions'
import Default from '@spots-tech/sessions'
const s = new SpotsSessions(process.env.URL)
const token = await s.create({ app: 'pack', ownerId: 'esm', data: { n: 2 } })
const got = await s.get({ app: 'pack', token })
await s.quit()
console.log(JSON.stringify({ got, same: Default === SpotsSessions }))
`

// The original README's usage, as an application would write it.
const TS = `
import { SpotsSessions } from '@spots-tech/sessions'
import type { GetSessionResponseDto } from '@spots-tech/sessions'

export async function main(url: string): Promise<string> {
  const spotsSessions = new SpotsSessions({ connectionString: url, tokenEncoding: 'base64', tokenSize: 128 })
  const token: string = await spotsSessions.create({ app: 'my-app', ownerId: '123qwe', data: { firstName: 'John' }, duration: 3600 })
  const { ownerId, data }: GetSessionResponseDto = await spotsSessions.get({ app: 'my-app', token })
  const ok: boolean = await spotsSessions.update({ app: 'my-app', token, data: { firstName: null, age: 25 } })
  await spotsSessions.refresh({ app: 'my-app', token, duration: 7200 })
  await spotsSessions.kill({ app: 'my-app', token })
  await spotsSessions.killAll({ app: 'my-app', ownerId })
  await spotsSessions.quit()
  return JSON.stringify({ ok, data })
}
`

// `@spots-tech/sessions/otel`, once the application has installed @opentelemetry/api.
const OTEL_ESM = `
import { SpotsSessionsInstrumentation } from '@spots-tech/sessions/otel'
const instrumentation = new SpotsSessionsInstrumentation()
instrumentation.disable()
console.log(JSON.stringify({ name: instrumentation.instrumentationName, enabled: instrumentation.getConfig().enabled }))
`

const OTEL_TS = `
import { SpotsSessionsInstrumentation } from '@spots-tech/sessions/otel'
import type { SpotsSessionsInstrumentationConfig } from '@spots-tech/sessions/otel'
import { trace } from '@opentelemetry/api'

const config: SpotsSessionsInstrumentationConfig = { enabled: false }
export const instrumentation = new SpotsSessionsInstrumentation(config)
instrumentation.setTracerProvider(trace.getTracerProvider())
`

const TSCONFIG = {
  compilerOptions: {
    strict: true,
    noEmit: true,
    target: 'ES2022',
    module: 'node16',
    moduleResolution: 'node16',
    types: ['node'],
  },
  files: ['main.ts', 'otel.ts'],
}

test(
  'the packed tarballs install into a fresh app and work from require, import and strict TypeScript',
  { skip: !supported && 'the platform package tested is linux-x64-gnu' },
  async (t) => {
    const built = path.join(root, nativeFile)
    assert.ok(fs.existsSync(built), `${nativeFile} is built (npm run build)`)
    const work = fs.mkdtempSync(path.join(os.tmpdir(), 'spots-pack-'))
    const redis = await startRedis()
    t.after(async () => {
      await redis.stop()
      fs.rmSync(work, { recursive: true, force: true })
    })

    // The platform package as `napi prepublish` publishes it: its package.json and the binary.
    const platform = path.join(work, 'platform')
    fs.mkdirSync(platform)
    fs.copyFileSync(path.join(root, 'npm', platformDir, 'package.json'), path.join(platform, 'package.json'))
    fs.copyFileSync(built, path.join(platform, nativeFile))
    const tarballs = path.join(work, 'tarballs')
    fs.mkdirSync(tarballs)
    const mainTgz = path.join(tarballs, await npm(['pack', '--pack-destination', tarballs], root))
    const platformTgz = path.join(tarballs, await npm(['pack', '--pack-destination', tarballs], platform))

    const app = path.join(work, 'app')
    fs.mkdirSync(app)
    fs.writeFileSync(path.join(app, 'package.json'), JSON.stringify({ name: 'app', private: true, version: '1.0.0' }))
    await npm(
      [
        'install',
        '--prefer-offline',
        mainTgz,
        platformTgz,
        `typescript@${devVersion('typescript')}`,
        `@types/node@${devVersion('@types/node')}`,
      ],
      app,
    )
    const installed = path.join(app, 'node_modules', '@spots-tech', 'sessions')
    assert.equal(
      fs.readdirSync(installed).filter((f) => f.endsWith('.node')).length,
      0,
      'the main package carries no binary: it loads the platform package',
    )

    fs.writeFileSync(path.join(app, 'cjs.js'), CJS)
    const cjs = JSON.parse(await run(process.execPath, ['cjs.js'], app, { URL: redis.url }))
    assert.deepEqual(cjs.got, { ownerId: 'cjs', data: { n: 1 } })
    assert.ok(cjs.binding.includes(path.join('node_modules', '@spots-tech', `sessions-${platformDir}`)), cjs.binding)

    fs.writeFileSync(path.join(app, 'esm.mjs'), ESM)
    const esm = JSON.parse(await run(process.execPath, ['esm.mjs'], app, { URL: redis.url }))
    assert.deepEqual(esm.got, { ownerId: 'esm', data: { n: 2 } })
    assert.equal(esm.same, true)

    // The OpenTelemetry subpath ships, and the main entry never needs @opentelemetry/api (an
    // optional peer dependency, not installed so far): the runs above worked without it.
    for (const file of ['otel.js', 'otel.d.ts']) assert.ok(fs.existsSync(path.join(installed, file)), file)
    await assert.rejects(
      run(process.execPath, ['-e', "require('@spots-tech/sessions/otel')"], app),
      /npm install @opentelemetry\/api/,
    )
    await npm(['install', '--prefer-offline', `@opentelemetry/api@${devVersion('@opentelemetry/api')}`], app)
    fs.writeFileSync(path.join(app, 'otel.mjs'), OTEL_ESM)
    const otel = JSON.parse(await run(process.execPath, ['otel.mjs'], app))
    assert.deepEqual(otel, { name: '@spots-tech/sessions', enabled: true })

    fs.writeFileSync(path.join(app, 'main.ts'), TS)
    fs.writeFileSync(path.join(app, 'otel.ts'), OTEL_TS)
    fs.writeFileSync(path.join(app, 'tsconfig.json'), JSON.stringify(TSCONFIG))
    await run(
      process.execPath,
      [path.join(app, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.json'],
      app,
    )
    t.diagnostic(
      `node ${process.version}: require, import, the otel subpath and tsc --strict passed on ${path.basename(mainTgz)} + ${path.basename(platformTgz)}`,
    )
  },
)
