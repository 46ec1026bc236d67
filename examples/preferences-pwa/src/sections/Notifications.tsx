import { useValue } from '@kvsync/react'
import { defaults, keys, type Digest, type Notifications } from '../prefs.js'
import { Card } from './Card.js'

export function NotificationsSection() {
  const [notifications, setNotifications] = useValue<Notifications>(keys.notifications, { defaultValue: defaults.notifications })
  // One nested value: every edit writes the whole object, derived from the stored one.
  const update = (change: (current: Notifications) => Notifications) => void setNotifications(change)
  const quiet = notifications.quietHours
  return (
    <Card title="Notifications" description="Stored as one nested value.">
      <label className="field checkbox">
        <input type="checkbox" checked={notifications.email} onChange={(e) => update((n) => ({ ...n, email: e.target.checked }))} />
        <span>Email notifications</span>
      </label>
      <label className="field checkbox">
        <input type="checkbox" checked={notifications.push} onChange={(e) => update((n) => ({ ...n, push: e.target.checked }))} />
        <span>Push notifications</span>
      </label>
      <label className="field">
        <span>Digest</span>
        <select value={notifications.digest} onChange={(e) => update((n) => ({ ...n, digest: e.target.value as Digest }))}>
          <option value="off">Off</option>
          <option value="daily">Daily</option>
          <option value="weekly">Weekly</option>
        </select>
      </label>
      <label className="field checkbox">
        <input type="checkbox" checked={quiet.enabled} onChange={(e) => update((n) => ({ ...n, quietHours: { ...n.quietHours, enabled: e.target.checked } }))} />
        <span>Quiet hours</span>
      </label>
      <div className="row quiet" aria-disabled={!quiet.enabled}>
        <label className="field">
          <span>From</span>
          <input type="time" value={quiet.from} disabled={!quiet.enabled} onChange={(e) => update((n) => ({ ...n, quietHours: { ...n.quietHours, from: e.target.value } }))} />
        </label>
        <label className="field">
          <span>To</span>
          <input type="time" value={quiet.to} disabled={!quiet.enabled} onChange={(e) => update((n) => ({ ...n, quietHours: { ...n.quietHours, to: e.target.value } }))} />
        </label>
      </div>
    </Card>
  )
}
