import * as decoding from 'lib0/decoding'
import * as encoding from 'lib0/encoding'
import { KvsyncError, type KvsyncErrorCode } from '../errors.js'
import { MessageType } from './message-types.js'

/*
 * kvsync protocol extensions. Sent by a server only to connections that announced support with
 * a hello; stock y-websocket clients never see them.
 *
 * | type | name       | direction       | payload                                              |
 * | ---- | ---------- | --------------- | ---------------------------------------------------- |
 * | 100  | hello      | client → server | varUint protocol version                             |
 * | 101  | error      | server → client | varString code (KvsyncErrorCode), varString message  |
 * | 102  | durableAck | server → client | a Yjs state vector (Y.encodeStateVector format):     |
 * |      |            |                 | every update of client C below clock K is durable    |
 *
 * Why a state vector for acks: it needs no sequence numbers, survives reconnects and server
 * changes, and lets a client (or a tab relaying for other tabs) decide for any write — known by
 * its Yjs (client, clock) — whether the server has it durably. A server acks the clients touched
 * by an update once the update is durable, and on hello acks its whole durable state vector.
 */

/** Encodes a hello announcing `version`. */
export function encodeHello(version: number): Uint8Array {
  const encoder = encoding.createEncoder()
  encoding.writeVarUint(encoder, MessageType.hello)
  encoding.writeVarUint(encoder, version)
  return encoding.toUint8Array(encoder)
}

/** Encodes a coded error message. */
export function encodeErrorMessage(code: KvsyncErrorCode, message: string): Uint8Array {
  const encoder = encoding.createEncoder()
  encoding.writeVarUint(encoder, MessageType.error)
  encoding.writeVarString(encoder, code)
  encoding.writeVarString(encoder, message)
  return encoding.toUint8Array(encoder)
}

/** Encodes a durable acknowledgement of everything below `clocks` (client id → clock). */
export function encodeDurableAck(clocks: ReadonlyMap<number, number>): Uint8Array {
  const encoder = encoding.createEncoder()
  encoding.writeVarUint(encoder, MessageType.durableAck)
  encoding.writeVarUint(encoder, clocks.size)
  for (const [client, clock] of clocks) {
    encoding.writeVarUint(encoder, client)
    encoding.writeVarUint(encoder, clock)
  }
  return encoding.toUint8Array(encoder)
}

/**
 * Reads the payload of a durable ack (after its type). Throws `PROTOCOL_ERROR` on garbage.
 * At most `maxClients` entries are accepted, so a hostile peer cannot make us allocate freely.
 */
export function readDurableAck(decoder: decoding.Decoder, maxClients = 1_000_000): Map<number, number> {
  try {
    const count = decoding.readVarUint(decoder)
    if (count > maxClients) throw new KvsyncError('PROTOCOL_ERROR', `durable ack lists ${count} clients`)
    const clocks = new Map<number, number>()
    for (let index = 0; index < count; index++) clocks.set(decoding.readVarUint(decoder), decoding.readVarUint(decoder))
    return clocks
  } catch (error) {
    if (error instanceof KvsyncError) throw error
    throw new KvsyncError('PROTOCOL_ERROR', 'malformed durable ack', { cause: error })
  }
}

/** Reads the payload of an error message (after its type). Throws `PROTOCOL_ERROR` on garbage. */
export function readErrorMessage(decoder: decoding.Decoder): { code: string; message: string } {
  try {
    return { code: decoding.readVarString(decoder), message: decoding.readVarString(decoder) }
  } catch (error) {
    throw new KvsyncError('PROTOCOL_ERROR', 'malformed error message', { cause: error })
  }
}
