/**
 * Message types on the wire. 0–3 are the y-websocket protocol, understood by stock clients;
 * kvsync extensions use numbers ≥ 100 and are only sent to clients that announced support
 * with a {@link MessageType.hello} message.
 */
export const MessageType = {
  sync: 0,
  awareness: 1,
  auth: 2,
  queryAwareness: 3,
  /** Client → server: "I speak kvsync protocol version N". Enables extension messages. */
  hello: 100,
  /** Server → client: a coded error (see KvsyncErrorCode). */
  error: 101,
  /** Server → client: updates up to this point are durable on the server. */
  durableAck: 102,
} as const

/** Version of the kvsync extensions spoken by this package. */
export const PROTOCOL_VERSION = 1
