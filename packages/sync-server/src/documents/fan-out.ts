import * as Y from 'yjs'
import { updateMessage } from '../protocol/messages.js'

/** Someone a document's broadcasts go to; see `DocumentPeer`. */
export interface BroadcastPeer {
  /** Sends one complete protocol message; must not throw. */
  send(message: Uint8Array): void
  /**
   * Whether this peer is sent broadcasts made only of its own updates. Stock y-websocket
   * clients expect their updates back (their provider counts on it); a kvsync client, once it
   * said hello, has its updates already and learns of them from the durable ack, so sending
   * them back is CPU on both sides for nothing.
   */
  readonly wantsOwnUpdates: boolean
}

/** Origin of a turn whose updates came from more than one origin. */
const MIXED: unique symbol = Symbol('kvsync.mixed-origins')

/**
 * The updates applied to one document in one turn of the event loop, with where they came
 * from: the transaction origin shared by all of them (the peer that sent them, or the
 * register's repair or sweep), or several.
 *
 * Fan-out rule: all of them go out as one merged update, encoded once, the same bytes for
 * every peer, except that a peer that sent every one of them and does not want its own updates
 * back ({@link BroadcastPeer.wantsOwnUpdates}) is skipped. A turn mixing several origins goes to
 * everyone, senders included: a second frame without a receiver's own updates costs the server
 * one more `Y.mergeUpdates` per sender — measured about as much CPU as the receiver saves by not
 * decoding its own structs (10–40 µs against 0–20 µs per sender for 3–10 small updates), moved
 * onto the one thread that serves every store.
 */
export class TurnUpdates {
  readonly #updates: Uint8Array[]
  #origin: unknown

  constructor(update: Uint8Array, origin: unknown) {
    this.#updates = [update]
    this.#origin = origin
  }

  add(update: Uint8Array, origin: unknown): void {
    this.#updates.push(update)
    if (origin !== this.#origin) this.#origin = MIXED
  }

  /**
   * Sends the merged update to each of `peers` the rule above lets through; returns whether a
   * message was built (no peer may be left, e.g. a kvsync client alone on its store).
   */
  sendTo(peers: Iterable<BroadcastPeer>): boolean {
    const sender = this.#origin
    let message: Uint8Array | undefined
    // A peer that cannot keep up is detached while we iterate: a Set skips entries deleted
    // meanwhile, so no copy is needed.
    for (const peer of peers) {
      if (peer === sender && !peer.wantsOwnUpdates) continue
      message ??= updateMessage(this.#updates.length === 1 ? (this.#updates[0] as Uint8Array) : Y.mergeUpdates(this.#updates))
      peer.send(message)
    }
    return message !== undefined
  }
}
