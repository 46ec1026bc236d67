import { describe, expect, it } from 'vitest'
import { DEFAULT_DATA_DIR, parseCliArgs } from './args.js'

describe('parseCliArgs', () => {
  it('applies defaults', () => {
    expect(parseCliArgs([])).toEqual({
      ok: true,
      config: { help: false, host: '127.0.0.1', port: 1234, dataDir: DEFAULT_DATA_DIR, staticDir: undefined, verbose: false },
    })
  })

  it('lets a later repetition of a flag win', () => {
    const parsed = parseCliArgs(['--host', '127.0.0.1', '--port', '8787', '--host', '0.0.0.0'])
    expect(parsed.ok && parsed.config.host).toBe('0.0.0.0')
    expect(parsed.ok && parsed.config.port).toBe(8787)
  })

  it('accepts port 0', () => {
    const parsed = parseCliArgs(['--port', '0'])
    expect(parsed.ok && parsed.config.port).toBe(0)
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
  ])('rejects %j', (argv) => {
    const parsed = parseCliArgs(argv)
    expect(parsed.ok).toBe(false)
    expect(!parsed.ok && parsed.problem.length).toBeGreaterThan(0)
  })
})
