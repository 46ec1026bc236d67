// The page the e2e tests drive: it only exposes the public API of @kvsync/browser, so the tests
// exercise exactly what an application would use. See global.d.ts for the window typings.
import { isKvsyncError, openStore } from '@kvsync/browser'

window.kvsync = { openStore, isKvsyncError }
window.kvsyncEvents = []
document.documentElement.dataset.kvsyncReady = 'true'
