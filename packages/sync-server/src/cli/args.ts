import { readFileSync } from 'node:fs'
import { parseArgs } from 'node:util'
import { DEFAULTS, SETTINGS } from './settings.js'
import type { CliConfig, Setting } from './settings.js'

export { DEFAULT_DATA_DIR } from './settings.js'
export type { CliConfig } from './settings.js'

/** Merged configuration, or a one-line problem to print before exiting with code 2. */
export type CliArgsResult = { readonly ok: true; readonly config: CliConfig } | { readonly ok: false; readonly problem: string }

/** Where {@link parseCliArgs} reads the environment and the config file from (injected in tests). */
export interface CliSources {
  /** Default: none (tests); the CLI passes `process.env`. */
  readonly env?: Readonly<Record<string, string | undefined>>
  /** Reads the config file as UTF-8. Default `fs.readFileSync`. */
  readonly readFile?: (path: string) => string
}

function usage(): string {
  const rows = SETTINGS.map((setting) => {
    const left = `--${setting.flag}${setting.valueName === '' ? '' : ` ${setting.valueName}`}`
    const fallback = DEFAULTS[setting.key]
    const suffix = fallback === undefined || fallback === false ? '' : ` (default ${String(fallback)})`
    return `  ${left.padEnd(34)}${setting.help}${suffix}\n  ${''.padEnd(34)}env ${setting.env}`
  })
  return `Usage: kvsync-server [options]

Runs the kvsync sync server: WebSocket sync (y-websocket protocol) and HTTP on one port.

Options:
  --config FILE                     JSON file with settings (keys as in docs/server.md)
  ${''.padEnd(34)}env KVSYNC_CONFIG
${rows.join('\n')}
  --verbose                         same as --log-level debug
  --help                            show this help

Precedence: flags > environment (KVSYNC_*) > config file > defaults.
Without --auth-secret / --auth-public-key the server runs in open mode (no auth), which
is only allowed on a loopback host unless --insecure is given.

Prints "listening on ws://HOST:PORT" on stdout once ready. SIGTERM or SIGINT stop it
gracefully: clients are disconnected with 1001, pending writes stored, and it exits with 0.
Exit code 2 means bad arguments or configuration, 1 a failure while running.
HTTP: /healthz, /readyz, /metrics (Prometheus). See docs/server.md.`
}

/** The `--help` text. */
export const USAGE = usage()

/**
 * Parses `argv` (without `node` and the script), the `KVSYNC_*` environment and the optional
 * JSON config file (`--config` or `KVSYNC_CONFIG`), with precedence flags > environment > file
 * > defaults. Later repetitions of a flag win. Unknown flags and unknown config-file keys are
 * errors (a typo must not silently fall back to a default).
 */
export function parseCliArgs(argv: ReadonlyArray<string>, sources: CliSources = {}): CliArgsResult {
  const env = sources.env ?? {}
  let values: Record<string, string | boolean | undefined>
  try {
    const options: Record<string, { type: 'string' | 'boolean'; short?: string }> = {
      help: { type: 'boolean', short: 'h' },
      verbose: { type: 'boolean' },
      config: { type: 'string' },
    }
    for (const setting of SETTINGS) options[setting.flag] = { type: setting.type === 'boolean' ? 'boolean' : 'string' }
    ;({ values } = parseArgs({ args: [...argv], strict: true, allowPositionals: false, options }))
  } catch (error) {
    // parseArgs explains unknown flags, missing values and stray arguments well; pass it on.
    return { ok: false, problem: error instanceof Error ? error.message : String(error) }
  }
  if (values['help'] === true) return { ok: true, config: { ...DEFAULTS, help: true, config: undefined } }

  const configPath = typeof values['config'] === 'string' ? values['config'] : nonEmpty(env['KVSYNC_CONFIG'])
  let file: Record<string, unknown> = {}
  if (configPath !== undefined) {
    const loaded = readConfigFile(configPath, sources.readFile ?? ((path) => readFileSync(path, 'utf8')))
    if (typeof loaded === 'string') return { ok: false, problem: loaded }
    file = loaded
  }

  const merged: Record<string, unknown> = { ...DEFAULTS }
  for (const setting of SETTINGS) {
    const fromFlag = values[setting.flag]
    const fromEnv = env[setting.env]
    let source: string
    let raw: unknown
    if (fromFlag !== undefined) {
      source = `--${setting.flag}`
      raw = fromFlag
    } else if (fromEnv !== undefined && fromEnv !== '') {
      source = setting.env
      raw = fromEnv
    } else if (setting.key in file) {
      source = `"${setting.key}" in ${configPath ?? ''}`
      raw = file[setting.key]
    } else {
      continue
    }
    const value = convert(setting, raw)
    if (typeof value === 'object' && value !== null && 'problem' in value) return { ok: false, problem: `${source}: ${value.problem}` }
    merged[setting.key] = value
  }
  if (values['verbose'] === true && values['log-level'] === undefined) merged['logLevel'] = 'debug'
  return { ok: true, config: { ...(merged as Omit<CliConfig, 'help' | 'config'>), help: false, config: configPath } }
}

function readConfigFile(path: string, readFile: (path: string) => string): Record<string, unknown> | string {
  let text: string
  try {
    text = readFile(path)
  } catch (error) {
    const code = typeof error === 'object' && error !== null && 'code' in error ? String(error.code) : String(error)
    return `cannot read config file ${path}: ${code}`
  }
  let parsed: unknown
  try {
    parsed = JSON.parse(text)
  } catch (error) {
    return `config file ${path} is not valid JSON: ${error instanceof Error ? error.message : String(error)}`
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return `config file ${path} must hold a JSON object`
  const known = new Set<string>(SETTINGS.map((setting) => setting.key))
  const unknown = Object.keys(parsed).filter((key) => !known.has(key))
  if (unknown.length > 0) return `config file ${path} has unknown keys: ${unknown.join(', ')}`
  return parsed as Record<string, unknown>
}

/** Converts a flag / environment string or a JSON value to the setting's type. */
function convert(setting: Setting, raw: unknown): unknown {
  switch (setting.type) {
    case 'string':
      if (typeof raw !== 'string' || raw === '') return { problem: 'must be a non-empty string' }
      return raw
    case 'boolean':
      if (typeof raw === 'boolean') return raw
      if (typeof raw === 'string' && /^(1|true|yes|on)$/i.test(raw)) return true
      if (typeof raw === 'string' && /^(0|false|no|off)$/i.test(raw)) return false
      return { problem: 'must be true or false' }
    case 'level':
      return raw === 'debug' || raw === 'info' || raw === 'warn' || raw === 'error' ? raw : { problem: 'must be debug, info, warn or error' }
    case 'format':
      return raw === 'text' || raw === 'json' ? raw : { problem: 'must be text or json' }
    case 'integer':
    case 'number': {
      const pattern = setting.type === 'integer' ? /^\d{1,15}$/ : /^\d{1,15}(\.\d+)?$/
      const number = typeof raw === 'number' ? raw : typeof raw === 'string' && pattern.test(raw) ? Number(raw) : Number.NaN
      const integerOk = setting.type !== 'integer' || Number.isSafeInteger(number)
      if (!Number.isFinite(number) || !integerOk || number < (setting.min ?? 0) || number > (setting.max ?? Number.MAX_SAFE_INTEGER)) {
        const range = setting.max === undefined ? `at least ${setting.min ?? 0}` : `from ${setting.min ?? 0} to ${setting.max}`
        return { problem: `must be ${setting.type === 'integer' ? 'an integer' : 'a number'} ${range}, got ${JSON.stringify(raw)}` }
      }
      return number
    }
  }
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value === '' ? undefined : value
}
