import { useValue } from '@kvsync/react'
import { accents, defaults, keys, type Density, type ThemeMode } from '../prefs.js'
import { Card } from './Card.js'

const themes: Array<{ value: ThemeMode; label: string }> = [
  { value: 'system', label: 'System' },
  { value: 'light', label: 'Light' },
  { value: 'dark', label: 'Dark' },
]

export function Appearance() {
  const [theme, setTheme] = useValue<ThemeMode>(keys.theme, { defaultValue: defaults.theme })
  const [accent, setAccent] = useValue<string>(keys.accent, { defaultValue: defaults.accent })
  const [fontScale, setFontScale] = useValue<number>(keys.fontScale, { defaultValue: defaults.fontScale })
  const [density, setDensity] = useValue<Density>(keys.density, { defaultValue: defaults.density })
  return (
    <Card title="Appearance">
      <div className="field" role="radiogroup" aria-label="Theme">
        <span>Theme</span>
        <div className="segmented">
          {themes.map((option) => (
            <label key={option.value} className={theme === option.value ? 'selected' : ''}>
              <input type="radio" name="theme" value={option.value} checked={theme === option.value} onChange={() => void setTheme(option.value)} />
              {option.label}
            </label>
          ))}
        </div>
      </div>
      <div className="field" role="radiogroup" aria-label="Accent color">
        <span>Accent color</span>
        <div className="swatches">
          {accents.map((option) => (
            <label key={option.value} className="swatch" style={{ background: option.value }} title={option.label}>
              <input type="radio" name="accent" aria-label={option.label} checked={accent === option.value} onChange={() => void setAccent(option.value)} />
            </label>
          ))}
        </div>
      </div>
      <label className="field">
        <span>
          Text size <output>{fontScale}%</output>
        </span>
        <input type="range" min={80} max={130} step={5} value={fontScale} onChange={(e) => void setFontScale(Number(e.target.value))} />
      </label>
      <label className="field checkbox">
        <input type="checkbox" checked={density === 'compact'} onChange={(e) => void setDensity(e.target.checked ? 'compact' : 'comfortable')} />
        <span>Compact layout</span>
      </label>
    </Card>
  )
}
