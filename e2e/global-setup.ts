// Builds the harness page once per run, before any test starts a server that serves it.
import { buildHarness } from './harness/build.mjs'

export default async function globalSetup(): Promise<void> {
  await buildHarness()
}
