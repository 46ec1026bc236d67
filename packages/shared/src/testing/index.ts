/**
 * @packageDocumentation
 * Conformance suites for the plug points of `@kvsync/shared` (vitest). Adapter packages call
 * these from their own tests so every adapter keeps the same contract. Also the seeded PRNG
 * that replayable tests share, and `rejection` for asserting on a promise's error.
 */
export { runDocStorageSuite } from './doc-storage-suite.js'
export type { DocStorageFixture } from './doc-storage-suite.js'
export { rejection } from './rejection.js'
export { seededRandom } from './random.js'
