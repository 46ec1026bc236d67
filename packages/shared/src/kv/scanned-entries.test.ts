/**
 * ScannedEntries against its oracle: the register Yjs builds from the same stored log. Random
 * replicas write, sync, sweep and compact while one of them stores every update it applies (as
 * a browser store does); foreign writers add map items, malformed elements and odd keys. The
 * scan must answer every read exactly as the register on the decoded log does, and must not
 * give up on any log kvsync itself writes.
 *
 * Replay: fast-check prints `{ seed, path }`; run with KVSYNC_FC_SEED=S KVSYNC_FC_PATH="P".
 * KVSYNC_FC_RUNS raises the number of cases.
 */
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import * as Y from 'yjs'
import { KV_ARRAY_NAME, encodeEntry } from './entry.js'
import { encodeValue } from '../value-codec.js'
import { KvRegister } from './register.js'
import { ScannedEntries } from './scanned-entries.js'
import { applyStoredUpdate, type StoredUpdate } from './stored-update.js'

const BASE_TIME = Date.UTC(2030, 0, 1)
const runs = Number(process.env.KVSYNC_FC_RUNS ?? 300)
const seed = process.env.KVSYNC_FC_SEED === undefined ? undefined : Number(process.env.KVSYNC_FC_SEED)
const path = process.env.KVSYNC_FC_PATH

const KEYS = ['a', 'ab', 'abc', 'b', 'é', '😀', '\uFEFFbom', 'key/with/slashes', 'z']
const inertTimers = {
  setTimeout: (() => 0) as unknown as typeof setTimeout,
  clearTimeout: (() => undefined) as unknown as typeof clearTimeout,
}

/** Raw elements foreign clients may put into the kv array (all ignored by the register). */
const MALFORMED: Uint8Array[] = [
  new Uint8Array([9, 0, 1, 97, 1, 1, 1]), // unknown entry version
  new Uint8Array([1, 0x10, 1, 97, 1, 1, 1]), // unknown flag
  new Uint8Array([1, 0, 2, 0xff, 0xfe, 1, 1, 1]), // key not UTF-8
  new Uint8Array([1, 0, 0, 1, 1, 1]), // empty key
  new Uint8Array([1, 1, 1, 97, 1, 1, 5]), // tombstone with a value
  new Uint8Array([1, 0, 1, 97, 1, 1]), // value missing
  new Uint8Array([1, 0, 9, 97, 1, 1, 1]), // key longer than the element
  new Uint8Array([1, 0, 1, 97, 0xff, 0xff]), // truncated varUint
]

type Op = { kind: 'set'; key: number; value: number; ttl: number | undefined } | { kind: 'delete'; key: number }
type Step =
  | { t: 'write'; replica: number; ops: Op[] }
  | { t: 'sync'; a: number; b: number }
  | { t: 'tick'; ms: number }
  | { t: 'sweep'; replica: number; purge: boolean }
  | { t: 'compact' }
  | { t: 'duplicate'; index: number }
  | { t: 'foreign'; kind: 'map' | 'malformed' | 'any' | 'entry' | 'insert'; pick: number }

const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ kind: fc.constant('set' as const), key: fc.nat({ max: KEYS.length - 1 }), value: fc.integer(), ttl: fc.option(fc.integer({ min: 1, max: 100_000 }), { nil: undefined }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('delete' as const), key: fc.nat({ max: KEYS.length - 1 }) }) },
)
const stepArb: fc.Arbitrary<Step> = fc.oneof(
  { weight: 10, arbitrary: fc.record({ t: fc.constant('write' as const), replica: fc.nat({ max: 3 }), ops: fc.array(opArb, { minLength: 1, maxLength: 5 }) }) },
  { weight: 6, arbitrary: fc.record({ t: fc.constant('sync' as const), a: fc.nat({ max: 3 }), b: fc.nat({ max: 3 }) }) },
  { weight: 3, arbitrary: fc.record({ t: fc.constant('tick' as const), ms: fc.integer({ min: 0, max: 60_000 }) }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant('sweep' as const), replica: fc.nat({ max: 3 }), purge: fc.boolean() }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant('compact' as const) }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant('duplicate' as const), index: fc.nat() }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant('foreign' as const), kind: fc.constantFrom('map' as const, 'malformed' as const, 'any' as const, 'entry' as const, 'insert' as const), pick: fc.nat() }) },
)
const scenarioArb = fc.record({
  replicas: fc.integer({ min: 1, max: 4 }),
  clientIds: fc.uniqueArray(fc.integer({ min: 1, max: 0xffffffff }), { minLength: 5, maxLength: 5 }),
  steps: fc.array(stepArb, { minLength: 1, maxLength: 40 }),
})

interface Replica {
  readonly doc: Y.Doc
  readonly kv: KvRegister
}

/** Runs a scenario; returns the stored log of replica 0 and the clock at the end. */
function play(scenario: { replicas: number; clientIds: number[]; steps: Step[] }): { log: StoredUpdate[]; now: number } {
  let now = BASE_TIME
  const clock = () => now
  const replicas: Replica[] = []
  for (let index = 0; index < scenario.replicas; index++) {
    const doc = new Y.Doc()
    doc.clientID = scenario.clientIds[index]!
    replicas.push({ doc, kv: new KvRegister(doc, { now: clock, timers: inertTimers }) })
  }
  let log: StoredUpdate[] = []
  const observed = replicas[0]!.doc
  observed.on('update', (update: Uint8Array) => log.push(update))
  let foreignClient = scenario.clientIds[4]!
  const foreign = (write: (doc: Y.Doc) => void) => {
    // A foreign client that saw everything replica 0 has, writing its own structs.
    const doc = new Y.Doc()
    doc.clientID = foreignClient++
    Y.applyUpdate(doc, Y.encodeStateAsUpdate(observed))
    const before = Y.encodeStateVector(doc)
    write(doc)
    Y.applyUpdate(observed, Y.encodeStateAsUpdate(doc, before))
  }
  for (const step of scenario.steps) {
    switch (step.t) {
      case 'write': {
        const { kv } = replicas[step.replica % replicas.length]!
        kv.transact(() => {
          for (const op of step.ops) {
            if (op.kind === 'set') kv.set(KEYS[op.key]!, op.value, op.ttl === undefined ? undefined : { ttl: op.ttl })
            else kv.delete(KEYS[op.key]!)
          }
        })
        break
      }
      case 'sync': {
        const a = replicas[step.a % replicas.length]!.doc
        const b = replicas[step.b % replicas.length]!.doc
        if (a === b) break
        Y.applyUpdate(b, Y.encodeStateAsUpdate(a, Y.encodeStateVector(b)))
        Y.applyUpdate(a, Y.encodeStateAsUpdate(b, Y.encodeStateVector(a)))
        break
      }
      case 'tick':
        now += step.ms
        break
      case 'sweep': {
        const { kv } = replicas[step.replica % replicas.length]!
        kv.sweepExpired()
        if (step.purge) kv.purgeTombstones(30_000)
        break
      }
      case 'compact':
        // As a store compacts: one V2 snapshot, then the V1 updates appended after it.
        log = [{ v2: Y.encodeStateAsUpdateV2(observed) }]
        break
      case 'duplicate':
        if (log.length > 0) log.push(log[step.index % log.length]!)
        break
      case 'foreign':
        foreign((doc) => {
          // Well-formed entry bytes, written by hand rather than through a register.
          const bytes = encodeEntry({ key: KEYS[step.pick % KEYS.length]!, hlc: { wallMs: now + (step.pick % 5) - 2, counter: step.pick % 3, node: 7 }, tombstone: step.pick % 4 === 0, expiresAt: undefined, value: step.pick % 4 === 0 ? undefined : encodeValue(`foreign ${step.pick}`) }, doc.clientID)
          if (step.kind === 'map') doc.getMap('kv').set(`map-${step.pick % 3}`, step.pick % 2 === 0 ? step.pick : bytes)
          else if (step.kind === 'insert') {
            // Not an append: an item with a right origin (at the front) or both origins.
            const array = doc.getArray<Uint8Array>('kv')
            array.insert(step.pick % (array.length + 1), [bytes])
          }
          else if (step.kind === 'any') doc.getArray('kv').push([`text ${step.pick}`, step.pick])
          else if (step.kind === 'malformed') doc.getArray('kv').push([MALFORMED[step.pick % MALFORMED.length]!])
          // A well-formed entry written by hand, with its node stored explicitly.
          else new KvRegister(doc, { now: clock, timers: inertTimers }).set(KEYS[step.pick % KEYS.length]!, `foreign ${step.pick}`)
        })
        break
    }
  }
  return { log, now }
}

/** The register Yjs builds from `log`, as a store decodes it (one transaction). */
function oracle(log: readonly StoredUpdate[], now: number): KvRegister {
  const doc = new Y.Doc()
  Y.transact(doc, () => log.forEach((update) => applyStoredUpdate(doc, update)))
  return new KvRegister(doc, { now: () => now, timers: inertTimers })
}

function expectSameReads(scanned: ScannedEntries, register: KvRegister): void {
  expect(scanned.keys()).toEqual(register.keys())
  expect(scanned.size).toBe(register.size)
  expect(scanned.entries()).toEqual(register.entries())
  for (const key of [...KEYS, 'absent', '', 'map-0']) {
    expect(scanned.get(key)).toEqual(register.get(key))
    expect(scanned.has(key)).toBe(register.has(key))
  }
  for (const prefix of ['a', 'ab', 'é', 'key/', 'q']) expect(scanned.keys(prefix)).toEqual(register.keys(prefix))
  expect(scanned.entryCount).toBe([...register.winners()].length)
}

describe('ScannedEntries', () => {
  it('reads a stored log exactly as the register on the decoded document (property)', () => {
    fc.assert(
      fc.property(scenarioArb, (scenario) => {
        const { log, now } = play(scenario)
        const register = oracle(log, now)
        const scanned = ScannedEntries.scan(log, () => now)
        // kvsync's own logs (and foreign map items, malformed elements) never need Yjs.
        expect(scanned).toBeDefined()
        expectSameReads(scanned!, register)
        // Every prefix of the log is a log a crash could leave.
        const half = log.slice(0, Math.ceil(log.length / 2))
        const scannedHalf = ScannedEntries.scan(half, () => now)
        expect(scannedHalf).toBeDefined()
        expectSameReads(scannedHalf!, oracle(half, now))
      }),
      { numRuns: runs, ...(seed !== undefined ? { seed } : {}), ...(path !== undefined ? { path, endOnFailure: true } : {}) },
    )
  })

  it('reads 10,000 keys written in one transaction and rewritten in batches', () => {
    const doc = new Y.Doc()
    const kv = new KvRegister(doc)
    const log: Uint8Array[] = []
    doc.on('update', (update: Uint8Array) => log.push(update))
    kv.transact(() => {
      for (let i = 0; i < 10_000; i++) kv.set(`key-${String(i).padStart(6, '0')}`, { n: i })
    })
    for (let round = 0; round < 3; round++) {
      kv.transact(() => {
        for (let i = round; i < 10_000; i += 7) kv.set(`key-${String(i).padStart(6, '0')}`, { n: i, round })
      })
    }
    kv.delete('key-000003')
    const scanned = ScannedEntries.scan(log)!
    expect(scanned).toBeDefined()
    expect(scanned.size).toBe(9_999)
    expect(scanned.get('key-000014')).toEqual({ n: 14, round: 0 })
    expect(scanned.get('key-000001')).toEqual({ n: 1, round: 1 })
    expect(scanned.has('key-000003')).toBe(false)
    expect(scanned.keys().slice(0, 3)).toEqual(['key-000000', 'key-000001', 'key-000002'])
    expect(scanned.entries()).toEqual(kv.entries())
  })

  it('gives up where Yjs would keep structs pending: a log missing an update', () => {
    const doc = new Y.Doc()
    const kv = new KvRegister(doc)
    const log: Uint8Array[] = []
    doc.on('update', (update: Uint8Array) => log.push(update))
    kv.set('a', 1)
    kv.set('b', 2)
    expect(ScannedEntries.scan(log)).toBeDefined()
    expect(ScannedEntries.scan([log[1]!])).toBeUndefined()
    // Another client's item whose origin is an item the log does not hold.
    const other = new Y.Doc()
    Y.applyUpdate(other, log[0]!)
    const before = Y.encodeStateVector(other)
    new KvRegister(other).set('c', 3)
    expect(ScannedEntries.scan([Y.encodeStateAsUpdate(other, before)])).toBeUndefined()
  })

  it('gives up on nested types, skip structs and bytes that are no update', () => {
    const doc = new Y.Doc()
    new KvRegister(doc).set('a', 1)
    const nested = new Y.Map<number>()
    doc.getMap('other').set('nested', nested)
    nested.set('x', 1)
    expect(ScannedEntries.scan([Y.encodeStateAsUpdate(doc)])).toBeUndefined()
    // mergeUpdates writes a skip struct over a gap.
    const first = new Y.Doc()
    const kv = new KvRegister(first)
    const updates: Uint8Array[] = []
    first.on('update', (update: Uint8Array) => updates.push(update))
    kv.set('a', 1)
    kv.set('b', 2)
    kv.set('c', 3)
    expect(ScannedEntries.scan([Y.mergeUpdates([updates[0]!, updates[2]!])])).toBeUndefined()
    expect(ScannedEntries.scan([new Uint8Array([255, 255, 255, 1, 2, 3])])).toBeUndefined()
  })

  it('ignores what the register ignores: map items, other content, malformed entries', () => {
    const doc = new Y.Doc()
    const kv = new KvRegister(doc, { onInvalidEntry: () => {} })
    kv.set('kept', 'yes')
    // A stock client using the name for a map, another pushing other content into the array.
    const stock = new Y.Doc()
    stock.getMap(KV_ARRAY_NAME).set('kept', 'map item')
    Y.applyUpdate(doc, Y.encodeStateAsUpdate(stock))
    const other = new Y.Doc()
    Y.applyUpdate(other, Y.encodeStateAsUpdate(doc))
    other.getArray(KV_ARRAY_NAME).push(['text', 5, ...MALFORMED])
    Y.applyUpdate(doc, Y.encodeStateAsUpdate(other))
    const scanned = ScannedEntries.scan([Y.encodeStateAsUpdate(doc)])!
    expect(scanned).toBeDefined()
    expect(scanned.entries()).toEqual([['kept', 'yes']])
    expect(scanned.entryCount).toBe(1)
  })

  it('never finds a key by a string that is not well-formed', () => {
    const doc = new Y.Doc()
    new KvRegister(doc).set('\uFFFD', 'replacement character')
    const scanned = ScannedEntries.scan([Y.encodeStateAsUpdate(doc)])!
    expect(scanned.get('\uFFFD')).toBe('replacement character')
    // TextEncoder turns a lone surrogate into U+FFFD; the register's Map does not.
    expect(scanned.get('\uD800')).toBeUndefined()
    expect(scanned.has('\uD800')).toBe(false)
  })

  it('breaks ties like the register: a tombstone over a value at an equal HLC, then the Yjs item id', () => {
    // Entries pushed by hand, so no register deletes the losers before the log is stored.
    const hlc = { wallMs: BASE_TIME, counter: 0, node: 7 }
    const push = (clientId: number, entries: Array<{ key: string; value: string | undefined }>): Uint8Array => {
      const doc = new Y.Doc()
      doc.clientID = clientId
      const array = doc.getArray<Uint8Array>(KV_ARRAY_NAME)
      for (const { key, value } of entries) {
        array.push([encodeEntry({ key, hlc, tombstone: value === undefined, expiresAt: undefined, value: value === undefined ? undefined : encodeValue(value) }, clientId)])
      }
      return Y.encodeStateAsUpdate(doc)
    }
    const log = [
      push(9, [{ key: 'tie', value: 'from 9' }, { key: 'same-client', value: 'first' }, { key: 'same-client', value: 'second' }, { key: 'swept', value: 'live' }]),
      push(5, [{ key: 'tie', value: 'from 5' }, { key: 'swept', value: undefined }]),
    ]
    const register = oracle(log, BASE_TIME)
    expect(register.get('tie')).toBe('from 9')
    expect(register.get('same-client')).toBe('second')
    expect(register.has('swept')).toBe(false)
    expectSameReads(ScannedEntries.scan(log, () => BASE_TIME)!, register)
  })
})
