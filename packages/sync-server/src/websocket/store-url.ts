import { storeNameProblem } from '@kvsync/shared'

/** The store a WebSocket URL names, or why it names none. */
export type StoreFromUrl = { readonly store: string } | { readonly problem: string }

/**
 * Reads the store name from a request target such as `/prefs/user-42?token=...`: the path
 * without its leading `/`, percent-decoded, validated with `storeNameProblem`.
 *
 * The path is taken verbatim rather than through `new URL`, which would resolve `..` and `.`
 * segments and silently hand the client a different store than it asked for.
 */
export function storeFromUrl(target: string | undefined): StoreFromUrl {
  if (target === undefined || !target.startsWith('/')) return { problem: 'the request has no path' }
  const end = target.search(/[?#]/)
  const path = target.slice(1, end === -1 ? undefined : end)
  let store: string
  try {
    store = decodeURIComponent(path)
  } catch {
    return { problem: 'the path is not valid percent-encoding' }
  }
  const problem = storeNameProblem(store)
  return problem === undefined ? { store } : { problem }
}
