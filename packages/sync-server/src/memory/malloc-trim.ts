import { createRequire } from 'node:module'

/** What `native/malloc_trim.c` exports. */
interface MallocTrimAddon {
  trim(): boolean
  supported(): boolean
}

/** Where the install script (`scripts/build-native.mjs`) leaves the addon; the same from `src/` and `dist/`. */
const ADDON_PATH = '../../native/build/Release/kvsync_malloc_trim.node'

/**
 * glibc's `malloc_trim(0)`: gives every malloc arena's free pages back to the system and
 * returns whether it released any. `undefined` where it cannot work: the optional native helper
 * was not built (the install said why) or the C library is not glibc.
 */
export function loadMallocTrim(): (() => boolean) | undefined {
  let addon: MallocTrimAddon
  try {
    addon = createRequire(import.meta.url)(ADDON_PATH) as MallocTrimAddon
  } catch {
    return undefined
  }
  return addon.supported() ? () => addon.trim() : undefined
}
