import { constants } from 'node:fs'
import type { Stats } from 'node:fs'
import { access, mkdir, stat } from 'node:fs/promises'
import { errorCode } from '../logger.js'

/**
 * Makes sure `dir` is a writable directory, creating it (and its parents) if missing. Returns
 * a one-line problem for the user, or `undefined` when the directory is usable.
 */
export async function prepareDataDir(dir: string): Promise<string | undefined> {
  let info: Stats
  try {
    info = await stat(dir)
  } catch (error) {
    if (errorCode(error) !== 'ENOENT') return `cannot use --data ${dir}: ${describe(error)}`
    try {
      await mkdir(dir, { recursive: true })
    } catch (mkdirError) {
      return `cannot create --data directory ${dir}: ${describe(mkdirError)}`
    }
    return undefined
  }
  if (!info.isDirectory()) return `--data ${dir} exists but is not a directory`
  try {
    await access(dir, constants.W_OK | constants.X_OK)
  } catch (error) {
    return `--data directory ${dir} is not writable: ${describe(error)}`
  }
  return undefined
}

/** Returns a one-line problem unless `dir` is an existing directory. */
export async function checkStaticDir(dir: string): Promise<string | undefined> {
  try {
    const info = await stat(dir)
    return info.isDirectory() ? undefined : `--static ${dir} is not a directory`
  } catch (error) {
    return `cannot use --static ${dir}: ${describe(error)}`
  }
}

function describe(error: unknown): string {
  return errorCode(error) ?? (error instanceof Error ? error.message : String(error))
}
