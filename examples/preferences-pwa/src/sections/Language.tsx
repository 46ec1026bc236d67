import { useValue } from '@kvsync/react'
import { defaults, keys, languages } from '../prefs.js'
import { Card } from './Card.js'

const greetings: Record<string, string> = { en: 'Hello!', fr: 'Bonjour !', de: 'Hallo!', es: '¡Hola!', ja: 'こんにちは！' }

export function Language() {
  const [language, setLanguage] = useValue<string>(keys.language, { defaultValue: defaults.language })
  return (
    <Card title="Language">
      <label className="field">
        <span>Language</span>
        <select value={language} onChange={(e) => void setLanguage(e.target.value)}>
          {languages.map((option) => (
            <option key={option.value} value={option.value}>
              {option.label}
            </option>
          ))}
        </select>
      </label>
      <p className="preview" lang={language} data-testid="greeting">
        {greetings[language] ?? greetings.en}
      </p>
    </Card>
  )
}
