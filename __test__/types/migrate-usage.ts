// Type test for migrateFromV1 (compiled with tsc --strict by `npm run test:types`).
import { SpotsSessions, MigrateFromV1Options, MigrationReport, MigrationProgress, MigrationEntry } from '../..'

async function main(): Promise<void> {
  const sessions = new SpotsSessions('redis://127.0.0.1:6379')
  const report: MigrationReport = await sessions.migrateFromV1()
  const n: number = report.scanned + report.migrated + report.alreadyMigrated + report.deleted
  const reasons: string[] = report.skipped.map(
    (s) => `${s.app ?? '?'}/${s.ownerId ?? '?'}/${s.sessionId ?? '?'}: ${s.reason}`,
  )
  const failed: boolean = report.errors.length > 0 && typeof report.errors[0].reason === 'string'
  const entry: MigrationEntry = report.errors[0]
  // @ts-expect-error an entry never holds the 1.x key's name (it holds the token)
  void entry.key
  // @ts-expect-error app may be null (an ambiguous name)
  const app: string = entry.app
  const options: MigrateFromV1Options = {
    dryRun: true,
    deleteOld: false,
    batchSize: 500,
    onProgress: async (p: MigrationProgress) => {
      const left: number | null = p.totalKeys === null ? null : p.totalKeys - p.batches * 500
      void left
      if (p.done) void p.skipped.toFixed()
    },
  }
  await sessions.migrateFromV1(options)
  await sessions.migrateFromV1({ onProgress: () => undefined })
  // @ts-expect-error batchSize is a number
  await sessions.migrateFromV1({ batchSize: '10' })
  // @ts-expect-error skipped entries are objects, not strings
  const wrong: string[] = report.skipped
  void [n, reasons, failed, wrong, app]
}
void main
