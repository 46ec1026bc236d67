import { cleanProfile } from './prefs.js'

/** The profile named in the URL (`?profile=`), or `demo`. */
export function profileFromUrl(): string {
  const fromUrl = new URLSearchParams(location.search).get('profile')
  return cleanProfile(fromUrl ?? '') || 'demo'
}

/** Puts `profile` in the URL, so the address can be shared with the people using it. */
export function setProfileInUrl(profile: string): void {
  const url = new URL(location.href)
  url.searchParams.set('profile', profile)
  history.pushState(null, '', url)
}

/**
 * The sync server: the page's own origin (kvsync-server serves the app with `--static`), or
 * `?server=ws://host:port` (e.g. when the page comes from Vite's dev server).
 */
export function serverUrl(): string {
  const fromUrl = new URLSearchParams(location.search).get('server')
  if (fromUrl) return fromUrl
  return `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}`
}
