// The preferences app's service worker: keeps the app shell so the app opens offline.
// - Install: precache every built file (the list is filled in at build time, see
//   vite.config.ts) under a cache named after the build, and take over at once.
// - Built assets (hashed names) and the shell's public files: cache first.
// - Navigations: network first (a new build shows up on the next load), falling back to the
//   cached index.html when the network fails. A fallback response carries
//   `X-Kvsync-Served-By: service-worker-cache` so tests (and curious users) can tell.
// The data itself is not cached here: it lives in IndexedDB, kept by @kvsync/browser.
/* global self, caches, fetch, URL, Response, Headers */
const PRECACHE = __PRECACHE__
const VERSION = __VERSION__
const CACHE = `kvsync-prefs-${VERSION}`
const scope = self.registration.scope
const indexUrl = new URL('./', scope).href
const precached = new Set(PRECACHE.map((file) => new URL(file, scope).href))

self.addEventListener('install', (event) => {
  event.waitUntil(
    caches
      .open(CACHE)
      .then((cache) => cache.addAll([...precached]))
      .then(() => self.skipWaiting()),
  )
})

self.addEventListener('activate', (event) => {
  event.waitUntil(
    caches
      .keys()
      .then((names) => Promise.all(names.filter((name) => name.startsWith('kvsync-prefs-') && name !== CACHE).map((name) => caches.delete(name))))
      .then(() => self.clients.claim()),
  )
})

async function fromCacheMarked(request) {
  const cached = await caches.match(request, { cacheName: CACHE, ignoreSearch: true })
  if (!cached) return undefined
  const headers = new Headers(cached.headers)
  headers.set('X-Kvsync-Served-By', 'service-worker-cache')
  return new Response(cached.body, { status: cached.status, statusText: cached.statusText, headers })
}

async function navigate(request) {
  try {
    const response = await fetch(request)
    if (response.ok && new URL(request.url).pathname === new URL(indexUrl).pathname) {
      const cache = await caches.open(CACHE)
      await cache.put(indexUrl, response.clone())
    }
    return response
  } catch (error) {
    const fallback = await fromCacheMarked(indexUrl)
    if (fallback) return fallback
    throw error
  }
}

async function cacheFirst(request) {
  const cached = await caches.match(request, { cacheName: CACHE, ignoreSearch: true })
  if (cached) return cached
  const response = await fetch(request)
  if (response.ok) {
    const cache = await caches.open(CACHE)
    await cache.put(request, response.clone())
  }
  return response
}

self.addEventListener('fetch', (event) => {
  const { request } = event
  if (request.method !== 'GET') return
  const url = new URL(request.url)
  if (url.origin !== self.location.origin) return
  if (request.mode === 'navigate') {
    event.respondWith(navigate(request))
    return
  }
  const bare = `${url.origin}${url.pathname}`
  if (precached.has(bare) || url.pathname.includes('/assets/')) event.respondWith(cacheFirst(request))
})
