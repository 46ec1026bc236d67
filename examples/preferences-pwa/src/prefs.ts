// The preferences the app stores, one key each. `notifications` is one nested value: it is
// written as a whole, so two people editing different fields of it at the same moment resolve
// like any two writes of one key (the later one wins, docs/semantics.md).

export type ThemeMode = 'system' | 'light' | 'dark'
export type Density = 'comfortable' | 'compact'
export type Digest = 'off' | 'daily' | 'weekly'

export interface Notifications {
  email: boolean
  push: boolean
  digest: Digest
  quietHours: { enabled: boolean; from: string; to: string }
}

export const keys = {
  displayName: 'displayName',
  theme: 'theme',
  accent: 'accent',
  fontScale: 'fontScale',
  density: 'density',
  language: 'language',
  notifications: 'notifications',
} as const

export const defaults = {
  displayName: '',
  theme: 'system' as ThemeMode,
  accent: '#4f46e5',
  fontScale: 100,
  density: 'comfortable' as Density,
  language: 'en',
  notifications: {
    email: true,
    push: false,
    digest: 'weekly',
    quietHours: { enabled: false, from: '22:00', to: '07:00' },
  } satisfies Notifications as Notifications,
}

export const accents = [
  { value: '#4f46e5', label: 'Indigo' },
  { value: '#0891b2', label: 'Teal' },
  { value: '#16a34a', label: 'Green' },
  { value: '#ea580c', label: 'Orange' },
  { value: '#db2777', label: 'Pink' },
]

export const languages = [
  { value: 'en', label: 'English' },
  { value: 'fr', label: 'Français' },
  { value: 'de', label: 'Deutsch' },
  { value: 'es', label: 'Español' },
  { value: 'ja', label: '日本語' },
]

/** Store names allow `[A-Za-z0-9._~/-]`; a profile is one path segment of them. */
export function cleanProfile(input: string): string {
  return input.trim().toLowerCase().replace(/[^a-z0-9._~-]+/g, '-').replace(/^[-.]+|[-.]+$/g, '').slice(0, 64)
}
