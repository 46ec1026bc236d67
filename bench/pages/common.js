// Shared by every benchmark page: the keys and values all systems write, and the page protocol
// the Node side drives (window.bench.<fn>(...) through page.evaluate; ?open=DB&n=N runs the L3
// cold open as soon as the module evaluates and leaves the result in window.benchResult).

/** Key i, fixed width so every system stores the same bytes. */
export const key = (i) => `key-${String(i).padStart(6, '0')}`

/** Value of key i in rewrite round r: a small JSON object, as a preferences store would hold. */
export const value = (i, round = 0) => ({ n: i, round, label: `value ${i} of round ${round}` })

export function setupPage(api) {
  window.bench = {
    ...api,
    async estimate() {
      const { usage } = await navigator.storage.estimate()
      return usage ?? 0
    },
  }
  const params = new URLSearchParams(location.search)
  const db = params.get('open')
  if (db !== null) {
    const n = Number(params.get('n'))
    api.open(db, n).then(
      (result) => {
        window.benchResult = result
      },
      (error) => {
        window.benchResult = { error: String(error && error.stack ? error.stack : error) }
      },
    )
  } else {
    window.benchResult = { ready: true }
  }
}

/** Promise of an IDBRequest. */
export function request(req) {
  return new Promise((resolve, reject) => {
    req.onsuccess = () => resolve(req.result)
    req.onerror = () => reject(req.error)
  })
}

/** Promise of an IDBTransaction's completion. */
export function done(tx) {
  return new Promise((resolve, reject) => {
    tx.oncomplete = () => resolve()
    tx.onerror = () => reject(tx.error)
    tx.onabort = () => reject(tx.error ?? new Error('transaction aborted'))
  })
}
