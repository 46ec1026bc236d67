import * as decoding from 'lib0/decoding'
import * as encoding from 'lib0/encoding'

/** y-protocols' `outdatedTimeout`: a state not renewed for this long is dropped. */
export const AWARENESS_TIMEOUT_MS = 30_000

/** Client ids an awareness update added, updated or removed, as y-protocols' `update` event has them. */
export interface AwarenessChanges {
  readonly added: number[]
  readonly updated: number[]
  readonly removed: number[]
}

/**
 * Whoever announces awareness states (a connection): the relay records which client ids it
 * announced, so they are removed when it leaves. The relay creates the set on the first
 * announcement (most connections of a big store never make one).
 */
export interface AwarenessOwner {
  awarenessClients: Set<number> | undefined
}

interface ClientState {
  clock: number
  /** The state's JSON text as the client sent it; `null` once removed. */
  json: string | null
  /** Wall-clock ms of the last change; drives the timeout of present states and forgetting removed ones. */
  at: number
}

/**
 * The awareness (presence) states of one store, relayed between its clients with the rules of
 * y-protocols' `Awareness` (`applyAwarenessUpdate`, `removeAwarenessStates`,
 * `encodeAwarenessUpdate`), which the server used before. Why our own: that class needs a
 * Y.Doc, which a hibernated store no longer has, and runs a 3 s interval timer per store; it
 * also keeps every state parsed. Here a store holds a map only while someone announced a
 * state, each state is the JSON text the client sent (parsed once, to refuse garbage), and the
 * registry times out the states of all stores with one timer ({@link AwarenessRelay.expire}).
 *
 * One difference: a removed client's clock is forgotten {@link AWARENESS_TIMEOUT_MS} after the
 * removal (y-protocols keeps it as long as the store lives, so a store that stays loaded for
 * weeks would hold one entry per client that ever connected). Within that time a late update
 * with an old clock is still ignored; after it, the client is simply seen again.
 */
export class AwarenessRelay {
  #clients: Map<number, ClientState> | undefined
  #present = 0

  /** Number of clients with a state. */
  get size(): number {
    return this.#present
  }

  /** Whether `client` has a state. */
  has(client: number): boolean {
    return this.#clients?.get(client)?.json != null
  }

  /** Ids of the clients with a state. */
  clients(): number[] {
    const ids: number[] = []
    if (this.#clients !== undefined) for (const [client, state] of this.#clients) if (state.json !== null) ids.push(client)
    return ids
  }

  /**
   * Applies an encoded awareness update (varUint count, then per client varUint id, varUint
   * clock, varString JSON). Throws on bytes that do not decode or JSON that does not parse,
   * before changing anything.
   */
  apply(update: Uint8Array, now: number): AwarenessChanges {
    const decoder = decoding.createDecoder(update)
    const count = decoding.readVarUint(decoder)
    const incoming: Array<{ client: number; clock: number; json: string; isNull: boolean }> = []
    for (let index = 0; index < count; index++) {
      const client = decoding.readVarUint(decoder)
      const clock = decoding.readVarUint(decoder)
      const json = decoding.readVarString(decoder)
      incoming.push({ client, clock, json, isNull: JSON.parse(json) === null })
    }
    const changes: AwarenessChanges = { added: [], updated: [], removed: [] }
    for (const { client, clock, json, isNull } of incoming) {
      const known = this.#clients?.get(client)
      const knownClock = known?.clock ?? 0
      const wasPresent = known?.json != null
      // y-protocols: a newer clock wins; a removal at the same clock removes a present state.
      if (!(knownClock < clock || (knownClock === clock && isNull && wasPresent))) continue
      if (known === undefined) (this.#clients ??= new Map()).set(client, { clock, json: isNull ? null : json, at: now })
      else {
        known.clock = clock
        known.json = isNull ? null : json
        known.at = now
      }
      if (isNull) {
        if (wasPresent) this.#present--
        // As y-protocols reports it: `null` from a client never seen changes nothing visible.
        if (known !== undefined) changes.removed.push(client)
        continue
      }
      if (!wasPresent) this.#present++
      if (known === undefined) changes.added.push(client)
      else changes.updated.push(client)
    }
    return changes
  }

  /**
   * {@link AwarenessRelay.apply} for an update sent by `owner`, recording the ids it announced
   * (added or updated) or removed; returns every changed id, for the broadcast.
   */
  applyFrom(owner: AwarenessOwner, update: Uint8Array, now: number): number[] {
    const { added, updated, removed } = this.apply(update, now)
    if (added.length + updated.length > 0) {
      const own = (owner.awarenessClients ??= new Set())
      for (const client of added) own.add(client)
      for (const client of updated) own.add(client)
    }
    for (const client of removed) owner.awarenessClients?.delete(client)
    return [...added, ...updated, ...removed]
  }

  /** Removes the states `owner` announced (it left); returns the ids that had a state. */
  removePeer(owner: AwarenessOwner, now: number): number[] {
    const own = owner.awarenessClients
    owner.awarenessClients = undefined
    return own === undefined ? [] : this.remove(own, now)
  }

  /**
   * Removes the states of `clients` (a peer left), keeping their clocks as y-protocols'
   * `removeAwarenessStates` does; returns the ids that had a state.
   */
  remove(clients: Iterable<number>, now: number): number[] {
    const removed: number[] = []
    if (this.#clients === undefined) return removed
    for (const client of clients) {
      const state = this.#clients.get(client)
      if (state === undefined || state.json === null) continue
      state.json = null
      state.at = now
      this.#present--
      removed.push(client)
    }
    return removed
  }

  /**
   * Removes states not renewed for `timeoutMs` (stock clients renew every 15 s) and forgets the
   * clocks of clients removed longer ago than that; returns the ids whose state was removed.
   */
  expire(now: number, timeoutMs = AWARENESS_TIMEOUT_MS): number[] {
    const removed: number[] = []
    if (this.#clients === undefined) return removed
    for (const [client, state] of this.#clients) {
      if (now - state.at < timeoutMs) continue
      if (state.json === null) {
        this.#clients.delete(client)
        continue
      }
      state.json = null
      state.at = now
      this.#present--
      removed.push(client)
    }
    if (this.#clients.size === 0) this.#clients = undefined
    return removed
  }

  /**
   * Encodes the states of `clients` as an awareness update; a removed client is sent as `null`
   * with its clock, which is how receivers learn of the removal. Clients never seen are left out.
   */
  encode(clients: ReadonlyArray<number>): Uint8Array {
    const encoder = encoding.createEncoder()
    const known = clients.filter((client) => this.#clients?.has(client) === true)
    encoding.writeVarUint(encoder, known.length)
    for (const client of known) {
      const state = this.#clients?.get(client) as ClientState
      encoding.writeVarUint(encoder, client)
      encoding.writeVarUint(encoder, state.clock)
      encoding.writeVarString(encoder, state.json ?? 'null')
    }
    return encoding.toUint8Array(encoder)
  }
}
