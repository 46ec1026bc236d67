import { KvsyncProvider } from '@kvsync/react'
import { useEffect, useMemo, useState } from 'react'
import { Appearance } from './sections/Appearance.js'
import { Language } from './sections/Language.js'
import { NotificationsSection } from './sections/Notifications.js'
import { ProfileSection } from './sections/Profile.js'
import { Header } from './Header.js'
import { ThemeApplier } from './ThemeApplier.js'
import { profileFromUrl, serverUrl, setProfileInUrl } from './location.js'

export function App() {
  const [profile, setProfile] = useState(profileFromUrl)
  useEffect(() => {
    const onPop = () => setProfile(profileFromUrl())
    window.addEventListener('popstate', onPop)
    return () => window.removeEventListener('popstate', onPop)
  }, [])
  const options = useMemo(() => ({ url: serverUrl() }), [])
  const switchProfile = (next: string) => {
    setProfileInUrl(next)
    setProfile(next)
  }

  return (
    <KvsyncProvider
      name={`prefs/${profile}`}
      options={options}
      errorFallback={(error, retry) => (
        <main className="error-screen" role="alert">
          <h1>Could not open your preferences</h1>
          <p>
            {error.code}: {error.message}
          </p>
          <button onClick={retry}>Try again</button>
        </main>
      )}
    >
      <ThemeApplier />
      <Header profile={profile} />
      <main className="cards">
        <ProfileSection profile={profile} onSwitch={switchProfile} />
        <Appearance />
        <Language />
        <NotificationsSection />
      </main>
      <footer className="footer">
        Preferences live on this device (IndexedDB) and sync through the kvsync server with everyone who opens profile <strong>{profile}</strong>. They
        keep working offline.
      </footer>
    </KvsyncProvider>
  )
}
