// ESM entry: `import { SpotsSessions } from '@spots-tech/sessions'`.
import cjs from './index.js'

export const SpotsSessions = cjs.SpotsSessions
export default cjs.SpotsSessions
