import { createRequire } from 'node:module'

/** What `native/malloc_trim.c` exports. */
interface MallocTrimAddon {
  trim(): boolean
  supported(): boolean
}

/** Where the install script (`scripts/build-native.mjs`) leaves the addon; the same from `src/` and `dist/`. */
const ADDON_PATH = '../../native/build/Release/kvsync_malloc_trim.node'

let glibc: boolean | undefined

/**
 * Whether this process runs on Linux with glibc, the only place `malloc_trim` exists. Asked
 * once per process: the answer comes from a full diagnostic report (about 4 ms), and every
 * server started here asks.
 */
export function isGlibc(): boolean {
  if (glibc === undefined) {
    const report = process.platform === 'linux' ? (process.report.getReport() as { header?: { glibcVersionRuntime?: string } }) : undefined
    glibc = typeof report?.header?.glibcVersionRuntime === 'string'
  }
  return glibc
}

/** {@link loadMallocTrim}'s answer: the call, or why there is none. */
export type MallocTrim = { readonly trim: () => void } | { readonly trim?: undefined; readonly unavailable: string }

/**
 * glibc's `malloc_trim(0)`, which gives every malloc arena's free pages back to the system, or
 * why it cannot work here: not glibc, or the optional native helper was not built or does not
 * load (the install said why; a pnpm 10+ project must list `@kvsync/sync-server` in
 * `allowBuilds` / `onlyBuiltDependencies` for it to be built).
 */
export function loadMallocTrim(): MallocTrim {
  if (!isGlibc()) return { unavailable: 'the C library is not glibc' }
  let addon: MallocTrimAddon
  try {
    addon = createRequire(import.meta.url)(ADDON_PATH) as MallocTrimAddon
  } catch (error) {
    return { unavailable: `the native helper does not load (${error instanceof Error ? error.message.split('\n')[0] : String(error)})` }
  }
  if (!addon.supported()) return { unavailable: 'the native helper was built without glibc' }
  return { trim: () => void addon.trim() }
}
