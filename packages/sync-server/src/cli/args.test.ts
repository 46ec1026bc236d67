import { describe, expect, it } from 'vitest'
import { DEFAULT_DATA_DIR, USAGE, parseCliArgs } from './args.js'
import { DEFAULTS, SETTINGS } from './settings.js'

function parse(argv: string[], env: Record<string, string> = {}, files: Record<string, string> = {}) {
  return parseCliArgs(argv, {
    env,
    readFile: (path) => {
      const text = files[path]
      if (text === undefined) throw Object.assign(new Error('missing'), { code: 'ENOENT' })
      return text
    },
  })
}

function config(argv: string[], env: Record<string, string> = {}, files: Record<string, string> = {}) {
  const parsed = parse(argv, env, files)
  if (!parsed.ok) throw new Error(parsed.problem)
  return parsed.config
}

describe('parseCliArgs', () => {
  it('applies defaults', () => {
    expect(config([])).toEqual({ ...DEFAULTS, help: false, config: undefined })
    expect(config([]).data).toBe(DEFAULT_DATA_DIR)
    expect(config([]).host).toBe('127.0.0.1')
  })

  it('lets a later repetition of a flag win', () => {
    const parsed = config(['--host', '127.0.0.1', '--port', '8787', '--host', '0.0.0.0'])
    expect(parsed.host).toBe('0.0.0.0')
    expect(parsed.port).toBe(8787)
  })

  it('accepts port 0', () => {
    expect(config(['--port', '0']).port).toBe(0)
  })

  it('takes flags over the environment over the config file over defaults', () => {
    const files = { '/etc/kvsync.json': JSON.stringify({ port: 1111, host: '127.0.0.2', logFormat: 'json', maxConnections: 7 }) }
    const env = { KVSYNC_CONFIG: '/etc/kvsync.json', KVSYNC_PORT: '2222', KVSYNC_HOST: '127.0.0.3' }
    const merged = config(['--port', '3333'], env, files)
    expect(merged).toMatchObject({ port: 3333, host: '127.0.0.3', logFormat: 'json', maxConnections: 7, messageRate: DEFAULTS.messageRate, config: '/etc/kvsync.json' })
  })

  it('reads --config over KVSYNC_CONFIG', () => {
    const files = { 'a.json': '{"port": 1}', 'b.json': '{"port": 2}' }
    expect(config(['--config', 'b.json'], { KVSYNC_CONFIG: 'a.json' }, files).port).toBe(2)
  })

  it('reads booleans, levels and the auth settings from the environment', () => {
    const merged = config([], { KVSYNC_INSECURE: 'true', KVSYNC_LOG_LEVEL: 'warn', KVSYNC_AUTH_SECRET: 's'.repeat(32), KVSYNC_AUTH_LEEWAY: '0' })
    expect(merged).toMatchObject({ insecure: true, logLevel: 'warn', authSecret: 's'.repeat(32), authLeewaySeconds: 0 })
  })

  it('reads the hibernation delay from a flag, the environment or the config file; 0 turns it off', () => {
    expect(config([]).hibernateAfterMs).toBe(10_000)
    expect(config(['--hibernate-after-ms', '0']).hibernateAfterMs).toBe(0)
    expect(config([], { KVSYNC_HIBERNATE_AFTER_MS: '500' }).hibernateAfterMs).toBe(500)
    expect(config([], { KVSYNC_CONFIG: 'c.json' }, { 'c.json': '{"hibernateAfterMs": 60000}' }).hibernateAfterMs).toBe(60_000)
    expect(parse(['--hibernate-after-ms', '-1']).ok).toBe(false)
  })

  it('maps --verbose to the debug level unless --log-level is given', () => {
    expect(config(['--verbose']).logLevel).toBe('debug')
    expect(config(['--verbose', '--log-level', 'error']).logLevel).toBe('error')
  })

  it.each([
    [['--port', '65536']],
    [['--port', '-1']],
    [['--port', '12ab']],
    [['--port', '']],
    [['--data']],
    [['--data', '']],
    [['--nope']],
    [['positional']],
    [['--log-level', 'loud']],
    [['--log-format', 'xml']],
    [['--max-connections', '0']],
    [['--auth-leeway', '99999']],
    [['--config', 'missing.json']],
  ])('rejects %j', (argv) => {
    const parsed = parse(argv)
    expect(parsed.ok).toBe(false)
    expect(!parsed.ok && parsed.problem.length).toBeGreaterThan(0)
  })

  it('rejects bad environment values naming the variable', () => {
    const parsed = parse([], { KVSYNC_INSECURE: 'maybe' })
    expect(!parsed.ok && parsed.problem).toContain('KVSYNC_INSECURE')
  })

  it.each([
    ['not JSON', '{port:'],
    ['an array', '[]'],
    ['an unknown key (a typo)', '{"prot": 1}'],
    ['a wrong type', '{"port": "x"}'],
  ])('rejects a config file with %s', (_name, text) => {
    const parsed = parse(['--config', 'c.json'], {}, { 'c.json': text })
    expect(parsed.ok).toBe(false)
    expect(!parsed.ok && parsed.problem).toContain('c.json')
  })

  it('lists every flag and its environment variable in --help', () => {
    expect(config(['--help']).help).toBe(true)
    for (const setting of SETTINGS) {
      expect(USAGE).toContain(`--${setting.flag}`)
      expect(USAGE).toContain(setting.env)
    }
    expect(USAGE).toContain('--config FILE')
  })
})
