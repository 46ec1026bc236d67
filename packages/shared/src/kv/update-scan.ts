import * as decoding from 'lib0/decoding'
import * as Y from 'yjs'
import { KV_ARRAY_NAME } from './entry.js'
import { storedUpdateBytes, type StoredUpdate } from './stored-update.js'

/**
 * Where a struct ends up once Yjs has integrated it, as far as the register cares: an item of
 * the `kv` array's list, anything else (another root type, a map-style item under the same
 * name), or garbage-collected (a GC struct, or an item whose left or right neighbour at
 * insertion was collected: Yjs turns it into a GC struct when integrating it).
 */
const UNRESOLVED = 0
const KV_LIST = 1
const ELSEWHERE = 2
const COLLECTED = 3

/** Content refs of Yjs item info (the low five bits), as in Yjs' `contentRefs`. */
const GC_REF = 0
const DELETED_REF = 1
const JSON_REF = 2
const BINARY_REF = 3
const STRING_REF = 4
const EMBED_REF = 5
const FORMAT_REF = 6
const TYPE_REF = 7
const ANY_REF = 8
const DOC_REF = 9
const SKIP_REF = 10
/** Type refs of nested types that carry a key (YXmlElement, YXmlHook). */
const TYPES_WITH_KEY = new Set([3, 5])

const BIT_ORIGIN = 0x80
const BIT_RIGHT_ORIGIN = 0x40
const BIT_PARENT_SUB = 0x20

/** Thrown inside the scan for anything it does not model exactly; the caller falls back to Yjs. */
class Unsupported extends Error {}

/** The structs of one client, in clock order, as runs of one place each. */
class ClientStructs {
  readonly starts: number[] = []
  readonly ends: number[] = []
  readonly places: number[] = []
  /** Clock of the next struct Yjs would integrate (the client's state). */
  end = 0
  /** Delete ranges [start, end) of this client, from every update's delete set. */
  readonly deletes: number[] = []

  constructor(readonly id: number) {}

  /**
   * Records structs [start, end) with `place`; returns the index of the run holding them.
   * Settled structs that continue the last run with the same place extend it: a store written
   * by one client is then one run, whatever its size.
   */
  add(start: number, end: number, place: number): number {
    const last = this.starts.length - 1
    if (last >= 0 && place !== UNRESOLVED && this.places[last] === place && this.ends[last] === start) {
      this.ends[last] = end
    } else {
      this.starts.push(start)
      this.ends.push(end)
      this.places.push(place)
    }
    this.end = end
    return this.starts.length - 1
  }

  /** Index of the run holding `clock`, or -1. `hint`: an index likely to hold it. */
  find(clock: number, hint = this.starts.length - 1): number {
    const { starts, ends } = this
    if (hint >= 0 && hint < starts.length && starts[hint]! <= clock && clock < ends[hint]!) return hint
    let low = 0
    let high = starts.length - 1
    while (low <= high) {
      const middle = (low + high) >>> 1
      if (ends[middle]! <= clock) low = middle + 1
      else if (starts[middle]! > clock) high = middle - 1
      else return middle
    }
    return -1
  }

  /** Sorts and merges the delete ranges, for {@link isDeleted}. */
  settleDeletes(): void {
    const pairs: Array<[number, number]> = []
    for (let index = 0; index < this.deletes.length; index += 2) pairs.push([this.deletes[index]!, this.deletes[index + 1]!])
    pairs.sort((a, b) => a[0] - b[0])
    this.deletes.length = 0
    for (const [start, end] of pairs) {
      const previousEnd = this.deletes.length - 1
      if (previousEnd >= 0 && start <= this.deletes[previousEnd]!) this.deletes[previousEnd] = Math.max(this.deletes[previousEnd]!, end)
      else this.deletes.push(start, end)
    }
  }

  isDeleted(clock: number): boolean {
    const ranges = this.deletes
    let low = 0
    let high = ranges.length / 2 - 1
    while (low <= high) {
      const middle = (low + high) >>> 1
      if (ranges[middle * 2 + 1]! <= clock) low = middle + 1
      else if (ranges[middle * 2]! > clock) high = middle - 1
      else return true
    }
    return false
  }
}

/** Ids of an item's neighbours at insertion: origin (left) and right origin; client -1 for none. */
interface Neighbours {
  readonly leftClient: number
  readonly leftClock: number
  readonly rightClient: number
  readonly rightClock: number
}

/** An item whose place follows from its neighbours at insertion (Yjs `Item.getMissing`). */
interface Dependent extends Neighbours {
  readonly client: number
  readonly structs: ClientStructs
  readonly index: number
}

/**
 * The binary elements of the `kv` array found in some stored Yjs updates, and which of them a
 * document built from the updates would hold alive (integrated and not deleted), found without
 * building the document: each element's bytes as a range of one of the updates, and the Yjs id
 * of the item holding it.
 */
export interface LiveElements {
  /** Elements found (live or not). */
  readonly count: number
  /** 1 for the elements that are live. */
  readonly live: Uint8Array
  /** The updates the ranges point into. */
  readonly sources: readonly Uint8Array[]
  readonly source: Int32Array
  readonly start: Int32Array
  readonly end: Int32Array
  readonly client: Float64Array
  readonly clock: Float64Array
}

/** The binary elements found so far, in growable typed columns (no object per element). */
class Elements {
  count = 0
  source = new Int32Array(1024)
  start = new Int32Array(1024)
  end = new Int32Array(1024)
  client = new Float64Array(1024)
  clock = new Float64Array(1024)
  /** `ClientStructs.id` of the element's client, and the run holding it. */
  owner = new Int32Array(1024)
  run = new Int32Array(1024)

  push(source: number, start: number, end: number, client: number, clock: number, owner: number, run: number): void {
    if (this.count === this.source.length) this.grow()
    const index = this.count++
    this.source[index] = source
    this.start[index] = start
    this.end[index] = end
    this.client[index] = client
    this.clock[index] = clock
    this.owner[index] = owner
    this.run[index] = run
  }

  private grow(): void {
    const size = this.source.length * 2
    const copy = <T extends Int32Array | Float64Array>(from: T, to: T): T => {
      to.set(from)
      return to
    }
    this.source = copy(this.source, new Int32Array(size))
    this.start = copy(this.start, new Int32Array(size))
    this.end = copy(this.end, new Int32Array(size))
    this.client = copy(this.client, new Float64Array(size))
    this.clock = copy(this.clock, new Float64Array(size))
    this.owner = copy(this.owner, new Int32Array(size))
    this.run = copy(this.run, new Int32Array(size))
  }
}

/**
 * Reads stored Yjs updates (a document's log: a V2 snapshot and the V1 updates appended after it,
 * oldest first) and lists the live binary elements of the root `kv` array, exactly as a
 * `Y.Doc` that applied them would have them. Costs one pass over the bytes and no Yjs objects:
 * at 100,000 keys this is a few tens of milliseconds where building the document takes about
 * half a second.
 *
 * Returns `undefined` whenever the result might differ from Yjs' (a struct Yjs would keep
 * pending for a missing dependency, skip structs, items under nested types, malformed bytes):
 * the caller then decodes the document with Yjs, which is always right.
 */
export function scanLiveElements(updates: readonly StoredUpdate[]): LiveElements | undefined {
  try {
    return new Scan(updates).run()
  } catch {
    // Unsupported, or bytes Yjs would reject as well: the caller decodes with Yjs.
    return undefined
  }
}

type UpdateDecoder = Y.UpdateDecoderV1 | Y.UpdateDecoderV2

/**
 * The struct fields V1 and V2 encode differently: V1 writes each in turn into one stream
 * (Yjs `UpdateEncoderV1`), V2 into run-length encoded columns. Everything else (content,
 * parent names, delete sets) is read through the decoder's own methods or its rest stream.
 */
interface StructColumns {
  info(): number
  client(): number
  leftClock(): number
  rightClock(): number
}

function v1Columns(rest: decoding.Decoder): StructColumns {
  const varUint = () => decoding.readVarUint(rest)
  return { info: () => decoding.readUint8(rest), client: varUint, leftClock: varUint, rightClock: varUint }
}

function v2Columns(decoder: Y.UpdateDecoderV2): StructColumns {
  return {
    info: () => decoder.infoDecoder.read(),
    client: () => decoder.clientDecoder.read(),
    leftClock: () => decoder.leftClockDecoder.read(),
    rightClock: () => decoder.rightClockDecoder.read(),
  }
}

class Scan {
  private readonly clients = new Map<number, ClientStructs>()
  private readonly byId: ClientStructs[] = []
  private readonly dependents: Dependent[] = []
  private readonly elements = new Elements()

  private readonly sources: Uint8Array[]

  constructor(private readonly updates: readonly StoredUpdate[]) {
    this.sources = updates.map(storedUpdateBytes)
  }

  run(): LiveElements {
    this.updates.forEach((update, source) => this.readUpdate(update, source))
    this.resolvePlaces()
    for (const structs of this.byId) if (structs.deletes.length > 0) structs.settleDeletes()
    const { elements } = this
    const live = new Uint8Array(elements.count)
    for (let index = 0; index < elements.count; index++) {
      const structs = this.byId[elements.owner[index]!]!
      if (structs.places[elements.run[index]!] !== KV_LIST) continue
      if (structs.deletes.length > 0 && structs.isDeleted(elements.clock[index]!)) continue
      live[index] = 1
    }
    const { count, source, start, end, client, clock } = elements
    return { count, live, sources: this.sources, source, start, end, client, clock }
  }

  private structsOf(client: number): ClientStructs {
    let structs = this.clients.get(client)
    if (structs === undefined) {
      structs = new ClientStructs(this.byId.length)
      this.byId.push(structs)
      this.clients.set(client, structs)
    }
    return structs
  }

  /** One update: its structs (Yjs `readClientsStructRefs`), then its delete set. */
  private readUpdate(stored: StoredUpdate, source: number): void {
    const update = this.sources[source]!
    const v1 = stored instanceof Uint8Array
    const decoder = v1 ? new Y.UpdateDecoderV1(decoding.createDecoder(update)) : new Y.UpdateDecoderV2(decoding.createDecoder(update))
    const columns = v1 ? v1Columns(decoder.restDecoder) : v2Columns(decoder as Y.UpdateDecoderV2)
    const rest = decoder.restDecoder
    const { elements } = this
    const seen = new Set<number>()
    const blocks = decoding.readVarUint(rest)
    for (let block = 0; block < blocks; block++) {
      const count = decoding.readVarUint(rest)
      const client = columns.client()
      if (seen.has(client)) throw new Unsupported('a client twice in one update')
      seen.add(client)
      let clock = decoding.readVarUint(rest)
      const structs = this.structsOf(client)
      // A gap: Yjs would keep these structs pending until the missing ones arrive.
      if (clock > structs.end) throw new Unsupported('missing structs')
      for (let struct = 0; struct < count; struct++) {
        const info = columns.info()
        const ref = info & 0x1f
        if (ref === GC_REF || ref === SKIP_REF) {
          clock = this.readCollected(decoder, ref, clock, structs)
          continue
        }
        const hasOrigin = (info & BIT_ORIGIN) !== 0
        const hasRightOrigin = (info & BIT_RIGHT_ORIGIN) !== 0
        const leftClient = hasOrigin ? columns.client() : -1
        const leftClock = hasOrigin ? columns.leftClock() : 0
        const rightClient = hasRightOrigin ? columns.client() : -1
        const rightClock = hasRightOrigin ? columns.rightClock() : 0
        const last = structs.places.length - 1
        if (ref === BINARY_REF && !hasRightOrigin && last >= 0 && leftClient === client && leftClock === clock - 1 && structs.end === clock && structs.places[last] !== UNRESOLVED) {
          // An entry appended right after this client's previous struct: nearly every kvsync
          // entry. It takes that struct's place (or is collected with it) and extends its run.
          const length = decoding.readVarUint(rest)
          const start = rest.pos
          rest.pos += length
          if (rest.pos > update.length) throw new Unsupported('truncated binary content')
          structs.ends[last] = clock + 1
          structs.end = clock + 1
          elements.push(source, start, start + length, client, clock, structs.id, last)
          clock += 1
          continue
        }
        clock = this.readItem(decoder, update, source, client, clock, structs, info, { leftClient, leftClock, rightClient, rightClock })
      }
    }
    this.readDeleteSet(decoder)
  }

  /** A GC struct (collected) or a skip struct (a gap: unsupported). Returns the next clock. */
  private readCollected(decoder: UpdateDecoder, ref: number, clock: number, structs: ClientStructs): number {
    if (ref === SKIP_REF) throw new Unsupported('skip struct')
    const length = decoder.readLen()
    this.record(structs, clock, clock + length, COLLECTED)
    return clock + length
  }

  /**
   * Reads the rest of an item at `clock` whose info and neighbour ids are read; records it
   * unless Yjs already has it. Returns the next clock.
   */
  private readItem(
    decoder: UpdateDecoder,
    update: Uint8Array,
    source: number,
    client: number,
    clock: number,
    structs: ClientStructs,
    info: number,
    neighbours: Neighbours,
  ): number {
    const rest = decoder.restDecoder
    const ref = info & 0x1f
    const { leftClient, leftClock, rightClient, rightClock } = neighbours
    const hasOrigin = leftClient >= 0
    const hasRightOrigin = rightClient >= 0
    let place = UNRESOLVED
    if (!hasOrigin && !hasRightOrigin) {
      // Parent given: a root type by name, or (nested types, never written by kvsync) an item id.
      if (!decoder.readParentInfo()) throw new Unsupported('item under a nested type')
      const parent = decoder.readString()
      const parentSub = (info & BIT_PARENT_SUB) !== 0 ? decoder.readString() : null
      place = parent === KV_ARRAY_NAME && parentSub === null ? KV_LIST : ELSEWHERE
    }
    let length = 1
    let binaryStart = -1
    let binaryEnd = -1
    switch (ref) {
      case BINARY_REF: {
        // Inline readBuf: a range of the update, no Uint8Array per element.
        const bytes = decoding.readVarUint(rest)
        binaryStart = rest.pos
        binaryEnd = rest.pos + bytes
        if (binaryEnd > update.length) throw new Unsupported('truncated binary content')
        rest.pos = binaryEnd
        break
      }
      case DELETED_REF:
        length = decoder.readLen()
        break
      case JSON_REF:
        length = decoder.readLen()
        for (let index = 0; index < length; index++) {
          const text = decoder.readString()
          if (text !== 'undefined') JSON.parse(text)
        }
        break
      case STRING_REF:
        length = decoder.readString().length
        break
      case EMBED_REF:
        decoder.readJSON()
        break
      case FORMAT_REF:
        decoder.readKey()
        decoder.readJSON()
        break
      case TYPE_REF: {
        const typeRef = decoder.readTypeRef()
        if (typeRef > 6) throw new Unsupported('unknown type ref')
        if (TYPES_WITH_KEY.has(typeRef)) decoder.readKey()
        break
      }
      case ANY_REF:
        length = decoder.readLen()
        for (let index = 0; index < length; index++) decoder.readAny()
        break
      case DOC_REF:
        decoder.readString()
        decoder.readAny()
        break
      default:
        throw new Unsupported('unknown content')
    }
    if (length < 1) throw new Unsupported('empty item')
    const index = this.record(structs, clock, clock + length, place)
    if (index >= 0) {
      if (place === UNRESOLVED) {
        const dependent = { client, structs, index, leftClient, leftClock, rightClient, rightClock }
        // Most items are appended right after the previous item of the same client, which is
        // settled already; the rest wait until every struct of the log is known.
        if (!this.settle(dependent, false)) this.dependents.push(dependent)
      }
      if (binaryStart >= 0) this.elements.push(source, binaryStart, binaryEnd, client, clock, structs.id, index)
    }
    return clock + length
  }

  /**
   * Records a struct Yjs would integrate; returns the index of its run, or -1 when Yjs already
   * holds it (a duplicate, e.g. an update stored twice by two tabs).
   */
  private record(structs: ClientStructs, start: number, end: number, place: number): number {
    if (end <= structs.end) return -1
    if (start < structs.end) throw new Unsupported('struct overlapping known ones')
    return structs.add(start, end, place)
  }

  /** Yjs `readDeleteSet`: ranges per client (applied at the end: Yjs retries pending ones). */
  private readDeleteSet(decoder: UpdateDecoder): void {
    const rest = decoder.restDecoder
    const clients = decoding.readVarUint(rest)
    for (let index = 0; index < clients; index++) {
      decoder.resetDsCurVal()
      const client = decoding.readVarUint(rest)
      const ranges = decoding.readVarUint(rest)
      if (ranges === 0) continue
      const structs = this.structsOf(client)
      for (let range = 0; range < ranges; range++) {
        const clock = decoder.readDsClock()
        const length = decoder.readDsLen()
        structs.deletes.push(clock, clock + length)
      }
    }
  }

  /**
   * Settles the place of every item that took it from its neighbours and could not be settled
   * when read (a neighbour later in the log, or not settled itself yet). Iterative, post-order
   * over the neighbour graph: chains of appends are as long as the store.
   */
  private resolvePlaces(): void {
    if (this.dependents.length === 0) return
    const pending = new Map<ClientStructs, Map<number, Dependent>>()
    for (const dependent of this.dependents) {
      let byIndex = pending.get(dependent.structs)
      if (byIndex === undefined) pending.set(dependent.structs, (byIndex = new Map()))
      byIndex.set(dependent.index, dependent)
    }
    const stack: Dependent[] = []
    const onStack = new Set<Dependent>()
    for (const dependent of this.dependents) {
      if (dependent.structs.places[dependent.index] !== UNRESOLVED) continue
      stack.push(dependent)
      onStack.add(dependent)
      while (stack.length > 0) {
        const top = stack[stack.length - 1]!
        const waiting = this.unsettledNeighbour(top)
        if (waiting !== undefined) {
          const next = pending.get(waiting.structs)?.get(waiting.index)
          // Unsettled but not waiting for neighbours, or a cycle: not a valid update.
          if (next === undefined || onStack.has(next)) throw new Unsupported('unresolvable neighbours')
          stack.push(next)
          onStack.add(next)
          continue
        }
        stack.pop()
        onStack.delete(top)
        if (!this.settle(top, true)) throw new Unsupported('unsettled neighbours')
      }
    }
  }

  /** A neighbour of `dependent` whose place is not settled yet, if any. */
  private unsettledNeighbour(dependent: Dependent): StructRef | undefined {
    for (const neighbour of [this.left(dependent, true), this.right(dependent, true)]) {
      if (neighbour !== undefined && neighbour.structs.places[neighbour.index] === UNRESOLVED) return neighbour
    }
    return undefined
  }

  /**
   * Sets the place of an item that has neighbours, as Yjs' `Item.getMissing` does: collected
   * when the struct holding its origin or its right origin is collected, else the place of its
   * left neighbour, or of its right one when it has no origin. Returns false (and changes
   * nothing) when a neighbour is unknown or unsettled; with `strict`, an unknown neighbour
   * throws, since Yjs would keep the item pending.
   */
  private settle(dependent: Dependent, strict: boolean): boolean {
    const left = this.left(dependent, strict)
    const right = this.right(dependent, strict)
    if ((left === undefined && dependent.leftClient >= 0) || (right === undefined && dependent.rightClient >= 0)) return false
    const leftPlace = left === undefined ? UNRESOLVED : left.structs.places[left.index]!
    const rightPlace = right === undefined ? UNRESOLVED : right.structs.places[right.index]!
    let place: number
    if (leftPlace === COLLECTED || rightPlace === COLLECTED) place = COLLECTED
    else place = left !== undefined ? leftPlace : rightPlace
    if (place === UNRESOLVED) return false
    dependent.structs.places[dependent.index] = place
    return true
  }

  private left(dependent: Dependent, strict: boolean): StructRef | undefined {
    // An append's origin is usually the previous struct of the same client.
    const hint = dependent.leftClient === dependent.client ? dependent.index - 1 : -1
    return this.lookup(dependent.leftClient, dependent.leftClock, hint, strict)
  }

  private right(dependent: Dependent, strict: boolean): StructRef | undefined {
    return this.lookup(dependent.rightClient, dependent.rightClock, -1, strict)
  }

  /** The struct holding id (client, clock); `undefined` for no id (client -1) or, unless `strict`, an unknown one. */
  private lookup(client: number, clock: number, hint: number, strict: boolean): StructRef | undefined {
    if (client < 0) return undefined
    const structs = this.clients.get(client)
    const index = structs === undefined ? -1 : structs.find(clock, hint)
    if (index >= 0) return { structs: structs!, index }
    if (strict) throw new Unsupported('missing neighbour')
    return undefined
  }
}

interface StructRef {
  readonly structs: ClientStructs
  readonly index: number
}
