// `import { SpotsSessions } from '@spots-tech/sessions'` works from ES modules.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { SpotsSessions } from '@spots-tech/sessions'
import Default from '@spots-tech/sessions'
import cjs from '../index.js'

test('named and default ESM imports are the CommonJS class', () => {
  assert.equal(typeof SpotsSessions, 'function')
  assert.equal(SpotsSessions, cjs.SpotsSessions)
  assert.equal(Default, SpotsSessions)
  const s = new SpotsSessions({ connectionString: 'redis://127.0.0.1:1' })
  assert.ok(s instanceof SpotsSessions)
  s.disconnect()
})
