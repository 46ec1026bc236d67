import { useSyncStatus } from '@kvsync/react'
import { useEffect, useState, useSyncExternalStore } from 'react'

interface InstallPrompt extends Event {
  prompt(): Promise<void>
}

function InstallButton() {
  const [prompt, setPrompt] = useState<InstallPrompt | undefined>(undefined)
  useEffect(() => {
    const onPrompt = (event: Event) => {
      event.preventDefault()
      setPrompt(event as InstallPrompt)
    }
    const onInstalled = () => setPrompt(undefined)
    window.addEventListener('beforeinstallprompt', onPrompt)
    window.addEventListener('appinstalled', onInstalled)
    return () => {
      window.removeEventListener('beforeinstallprompt', onPrompt)
      window.removeEventListener('appinstalled', onInstalled)
    }
  }, [])
  if (!prompt) return null
  return (
    <button className="install" onClick={() => void prompt.prompt().finally(() => setPrompt(undefined))}>
      Install app
    </button>
  )
}

function subscribeOnline(notify: () => void): () => void {
  window.addEventListener('online', notify)
  window.addEventListener('offline', notify)
  return () => {
    window.removeEventListener('online', notify)
    window.removeEventListener('offline', notify)
  }
}

/** Whether the browser believes it has a network (true on the server). */
function useBrowserOnline(): boolean {
  return useSyncExternalStore(subscribeOnline, () => navigator.onLine, () => true)
}

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`

/** The sync status, in words: what is on this device, what reached the server. */
export function SyncStatusBadge() {
  const sync = useSyncStatus()
  const { unsavedWrites, ready } = sync
  // When the browser says it has no network, say offline whatever the store reports: a store
  // opened while offline reads `connecting` (the multi-tab hub does not pass on its connection's
  // initial `offline`; reported to the browser package's owners).
  const status = useBrowserOnline() ? sync.status : 'offline'
  let title: string
  let detail: string
  if (!ready) {
    title = 'Opening…'
    detail = 'Loading preferences from this device'
  } else if (status === 'offline' || status === 'connecting') {
    title = status === 'offline' ? 'Offline' : 'Connecting…'
    detail = unsavedWrites > 0 ? `${plural(unsavedWrites, 'change')} saved on this device, not yet on the server` : 'Changes are saved on this device'
  } else if (status === 'syncing') {
    title = 'Syncing…'
    detail = 'Exchanging changes with the server'
  } else {
    title = 'Synced'
    detail = unsavedWrites > 0 ? `Saving ${plural(unsavedWrites, 'change')} on the server…` : 'All changes saved on the server'
  }
  const saved = ready && status === 'synced' && unsavedWrites === 0
  return (
    <div className="status" data-testid="sync-status" data-status={ready ? status : 'loading'} data-saved={saved ? 'yes' : 'no'} role="status" aria-live="polite">
      <span className="status-dot" aria-hidden="true" />
      <span className="status-text">
        <strong>{title}</strong>
        <span className="status-detail">{detail}</span>
      </span>
    </div>
  )
}

export function Header({ profile }: { profile: string }) {
  return (
    <header className="header">
      <img className="logo" src="./icons/icon.svg" alt="" width={40} height={40} />
      <div className="title">
        <h1>Preferences</h1>
        <p>
          Profile <code data-testid="profile-name">{profile}</code>
        </p>
      </div>
      <InstallButton />
      <SyncStatusBadge />
    </header>
  )
}
