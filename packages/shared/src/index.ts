/**
 * @packageDocumentation
 * Shared core of kvsync: errors and their codes, the wire protocol's message types and close
 * codes, store-name and key rules, the value codec, the hybrid logical clock, and the
 * last-writer-wins key-value register on Yjs that every replica (browser and server) runs.
 */
export { KvsyncError, isKvsyncError } from './errors.js'
export type { KvsyncErrorCode } from './errors.js'
export { CloseCodes, isPermanentCloseCode } from './protocol/close-codes.js'
export type { CloseCodeName } from './protocol/close-codes.js'
export { MessageType, PROTOCOL_VERSION } from './protocol/message-types.js'
export { MAX_STORE_NAME_LENGTH, assertStoreName, storeNameProblem } from './store-name.js'
export { DEFAULT_MAX_VALUE_BYTES, MAX_VALUE_DEPTH, decodeValue, encodeValue, isWellFormedString } from './value-codec.js'
export type { KvValue } from './value-codec.js'
export { HLC_MAX_COUNTER, HybridLogicalClock, compareHlc } from './hlc.js'
export type { HlcTimestamp, HybridLogicalClockOptions } from './hlc.js'
export { MAX_KEY_BYTES, assertKey } from './kv/key.js'
export { ENTRY_FORMAT_VERSION, KV_ARRAY_NAME, compareEntries, decodeEntry, encodeEntry, entryLength, writeEntry } from './kv/entry.js'
export type { KvEntry } from './kv/entry.js'
export { KvOrigins, KvRegister, resolveExpiresAt } from './kv/register.js'
export { forEachAddedItem } from './kv/added-items.js'
export { ScannedEntries } from './kv/scanned-entries.js'
export { applyStoredUpdate, isStoredUpdate, isV2Update, storedUpdateBytes } from './kv/stored-update.js'
export type { StoredUpdate, V2Update } from './kv/stored-update.js'
export type { InvalidEntryReport, KvChange, KvChangeOrigin, KvRegisterOptions, KvSetOptions } from './kv/register.js'
export type { DocStorage, DocStorageEntry } from './storage.js'
export { encodeDurableAck, encodeErrorMessage, encodeHello, readDurableAck, readErrorMessage } from './protocol/extensions.js'
