import { useValue } from '@kvsync/react'
import { useEffect, useState } from 'react'
import { defaults, keys, type Density, type ThemeMode } from './prefs.js'

function useSystemDark(): boolean {
  const query = '(prefers-color-scheme: dark)'
  const [dark, setDark] = useState(() => typeof matchMedia === 'function' && matchMedia(query).matches)
  useEffect(() => {
    if (typeof matchMedia !== 'function') return undefined
    const list = matchMedia(query)
    const onChange = () => setDark(list.matches)
    list.addEventListener('change', onChange)
    return () => list.removeEventListener('change', onChange)
  }, [])
  return dark
}

/** Applies the synced appearance preferences to the whole page. */
export function ThemeApplier() {
  const [theme] = useValue<ThemeMode>(keys.theme, { defaultValue: defaults.theme })
  const [accent] = useValue<string>(keys.accent, { defaultValue: defaults.accent })
  const [fontScale] = useValue<number>(keys.fontScale, { defaultValue: defaults.fontScale })
  const [density] = useValue<Density>(keys.density, { defaultValue: defaults.density })
  const systemDark = useSystemDark()
  const effective = theme === 'system' ? (systemDark ? 'dark' : 'light') : theme

  useEffect(() => {
    const root = document.documentElement
    root.dataset.theme = effective
    root.dataset.density = density
    root.style.setProperty('--accent', accent)
    root.style.fontSize = `${fontScale}%`
    document.querySelector('meta[name="theme-color"]')?.setAttribute('content', accent)
  }, [effective, accent, fontScale, density])
  return null
}
