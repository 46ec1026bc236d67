import { useValue } from '@kvsync/react'
import { useState, type FormEvent } from 'react'
import { cleanProfile, defaults, keys } from '../prefs.js'
import { Card } from './Card.js'

export function ProfileSection({ profile, onSwitch }: { profile: string; onSwitch: (profile: string) => void }) {
  const [name, setName] = useValue<string>(keys.displayName, { defaultValue: defaults.displayName })
  const [draft, setDraft] = useState(profile)
  const submit = (event: FormEvent) => {
    event.preventDefault()
    const next = cleanProfile(draft)
    if (next && next !== profile) onSwitch(next)
    setDraft(next || profile)
  }
  return (
    <Card title="Profile" description="Everyone who opens the same profile shares these preferences.">
      <label className="field">
        <span>Display name</span>
        <input value={name} placeholder="Your name" maxLength={80} onChange={(e) => void setName(e.target.value)} />
      </label>
      <form className="field inline" onSubmit={submit}>
        <label htmlFor="profile-input">Shared profile</label>
        <div className="row">
          <input id="profile-input" value={draft} onChange={(e) => setDraft(e.target.value)} spellCheck={false} />
          <button type="submit">Switch</button>
        </div>
      </form>
    </Card>
  )
}
