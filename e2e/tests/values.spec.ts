// Issue 3: every supported value type round-trips exactly in real Chromium — through memory,
// through IndexedDB (close and reopen) and through the server (another browser context).
// Types are compared in the page itself: Date, Uint8Array and -0 do not survive the trip back
// to the test process unchanged, so the page reports mismatches as strings.
import type { Page } from '@playwright/test'
import { expect, test } from '../fixtures.js'

/** Defines window.valueSamples() and window.valueMismatches(actual, expected) in the page. */
async function installValueTools(page: Page): Promise<void> {
  await page.evaluate(() => {
    const tools = window as unknown as Record<string, unknown>
    tools.valueSamples = () => ({
      null: null,
      true: true,
      false: false,
      zero: 0,
      negativeZero: -0,
      maxSafe: Number.MAX_SAFE_INTEGER,
      minSafe: Number.MIN_SAFE_INTEGER,
      float: 3.141592653589793,
      tiny: 5e-324,
      huge: 1.7976931348623157e308,
      empty: '',
      unicode: 'héllo wörld 你好 🎉 \u0000 end',
      bytes: new Uint8Array([0, 1, 2, 253, 254, 255]),
      noBytes: new Uint8Array(0),
      date: new Date('2026-11-25T12:34:56.789Z'),
      beforeEpoch: new Date(-86_400_000 * 365),
      array: [1, 'two', null, [3, [4]], { five: 5 }],
      nested: { a: { b: { c: [new Date(0), new Uint8Array([9]), { d: -0 }] } }, 'key with spaces': true },
      protoKey: JSON.parse('{"__proto__": {"polluted": true}, "ok": 1}'),
    })
    const describe = (value: unknown, path: string, expected: unknown, out: string[]): void => {
      if (expected instanceof Date) {
        if (!(value instanceof Date) || value.getTime() !== expected.getTime()) out.push(`${path}: expected Date ${expected.toISOString()}`)
        return
      }
      if (expected instanceof Uint8Array) {
        if (!(value instanceof Uint8Array) || value.length !== expected.length || value.some((byte, i) => byte !== expected[i])) out.push(`${path}: expected Uint8Array [${[...expected]}]`)
        return
      }
      if (Array.isArray(expected)) {
        if (!Array.isArray(value) || value.length !== expected.length) {
          out.push(`${path}: expected an array of ${expected.length}`)
          return
        }
        expected.forEach((item, i) => describe(value[i], `${path}[${i}]`, item, out))
        return
      }
      if (typeof expected === 'object' && expected !== null) {
        if (typeof value !== 'object' || value === null || Array.isArray(value)) {
          out.push(`${path}: expected an object`)
          return
        }
        if (Object.getPrototypeOf(value) !== Object.prototype) out.push(`${path}: prototype changed`)
        const keys = Object.keys(expected)
        if (Object.keys(value).join('\u0001') !== keys.join('\u0001')) out.push(`${path}: keys ${Object.keys(value)} vs ${keys}`)
        for (const key of keys) describe((value as Record<string, unknown>)[key], `${path}.${key}`, (expected as Record<string, unknown>)[key], out)
        return
      }
      if (!Object.is(value, expected)) out.push(`${path}: ${String(value)} is not ${String(expected)}`)
    }
    tools.valueMismatches = (actual: Record<string, unknown>, expected: Record<string, unknown>): string[] => {
      const out: string[] = []
      for (const key of Object.keys(expected)) describe(actual[key], key, expected[key], out)
      return out
    }
  })
}

type ToolWindow = Window & {
  valueSamples: () => Record<string, unknown>
  valueMismatches: (actual: Record<string, unknown>, expected: Record<string, unknown>) => string[]
}

test('every value type round-trips through memory, IndexedDB and the server', async ({ server, newClient }) => {
  const writer = await newClient('writer')
  const reader = await newClient('reader')
  for (const client of [writer, reader]) await installValueTools(client.harness.page)

  // Memory, then the durable write, then the server's acknowledgement.
  const inMemory = await writer.harness.page.evaluate(async (url) => {
    const w = window as unknown as ToolWindow
    const store = await window.kvsync.openStore('e2e/values', { url })
    const samples = w.valueSamples()
    await store.transact(() => {
      for (const [key, value] of Object.entries(samples)) void store.set(key, value as never)
    })
    const read = Object.fromEntries(Object.keys(samples).map((key) => [key, store.get(key)]))
    await store.whenSaved()
    await store.close()
    return w.valueMismatches(read, samples)
  }, server.wsUrl)
  expect(inMemory).toEqual([])

  // IndexedDB: a fresh store object in the same page reads what was committed.
  const fromIndexedDb = await writer.harness.page.evaluate(async () => {
    const w = window as unknown as ToolWindow
    const store = await window.kvsync.openStore('e2e/values')
    const samples = w.valueSamples()
    const read = Object.fromEntries(Object.keys(samples).map((key) => [key, store.get(key)]))
    await store.close()
    return w.valueMismatches(read, samples)
  })
  expect(fromIndexedDb).toEqual([])

  // The server: another context with empty IndexedDB receives the same values.
  const fromServer = await reader.harness.page.evaluate(async (url) => {
    const w = window as unknown as ToolWindow
    const store = await window.kvsync.openStore('e2e/values', { url })
    await store.whenSynced()
    const samples = w.valueSamples()
    const read = Object.fromEntries(Object.keys(samples).map((key) => [key, store.get(key)]))
    await store.close()
    return w.valueMismatches(read, samples)
  }, server.wsUrl)
  expect(fromServer).toEqual([])
})

test('unsupported values are refused in the page with a coded error and nothing is stored', async ({ newClient }) => {
  const client = await newClient('refuser')
  const outcome = await client.harness.page.evaluate(async () => {
    const store = await window.kvsync.openStore('e2e/refused')
    const cyclic: Record<string, unknown> = {}
    cyclic.self = cyclic
    const attempts: Array<[string, unknown]> = [
      ['undefined', undefined],
      ['nested-undefined', { a: undefined }],
      ['function', () => 1],
      ['symbol', Symbol('s')],
      ['nan', Number.NaN],
      ['infinity', Number.POSITIVE_INFINITY],
      ['cycle', cyclic],
      ['map', new Map()],
      ['bigint', 10n],
    ]
    const codes: Record<string, string> = {}
    for (const [key, value] of attempts) {
      try {
        await store.set(key, value as never)
        codes[key] = 'stored'
      } catch (error) {
        codes[key] = window.kvsync.isKvsyncError(error) ? error.code : 'other error'
      }
    }
    for (const key of ['', 'x'.repeat(1025)]) {
      try {
        await store.set(key, 1)
        codes[`key:${key.length}`] = 'stored'
      } catch (error) {
        codes[`key:${key.length}`] = window.kvsync.isKvsyncError(error) ? error.code : 'other error'
      }
    }
    const keys = store.keys()
    await store.close()
    return { codes, keys }
  })
  expect(outcome.keys).toEqual([])
  for (const [key, code] of Object.entries(outcome.codes)) {
    expect(code, key).toBe(key.startsWith('key:') ? 'INVALID_KEY' : 'INVALID_VALUE')
  }
})
