import { WebSocket } from 'ws'

/** What a {@link PeerSocket} reports to the connection that owns it. */
export interface SocketOwner {
  /** Set by any pong (and by frames); see `Connection.ping`. */
  alive: boolean
  /** A frame arrived. */
  receive(data: Buffer | ArrayBuffer | Buffer[], isBinary: boolean): void
  /** The socket is closed. */
  socketClosed(): void
  /** The socket reported an error (ws closes it itself). */
  socketError(error: Error): void
}

/**
 * The endpoint's WebSocket class (`ws` lets a server construct a subclass): a socket that knows
 * its owner, so one set of listener functions serves every socket, instead of four closures per
 * connection — most of a server's connections are idle and cost only what they hold.
 */
export class PeerSocket extends WebSocket {
  owner: SocketOwner | undefined

  /** Routes this socket's events to `owner`. Called once, by the owner. */
  attachOwner(owner: SocketOwner): void {
    this.owner = owner
    this.on('message', onMessage)
    this.on('pong', onPong)
    this.on('close', onClose)
    this.on('error', onError)
  }
}

// ws calls listeners with the socket as `this` (typed as its base class).
function onMessage(this: WebSocket, data: Buffer | ArrayBuffer | Buffer[], isBinary: boolean): void {
  ;(this as PeerSocket).owner?.receive(data, isBinary)
}

function onPong(this: WebSocket): void {
  const owner = (this as PeerSocket).owner
  if (owner !== undefined) owner.alive = true
}

function onClose(this: WebSocket): void {
  ;(this as PeerSocket).owner?.socketClosed()
}

function onError(this: WebSocket, error: Error): void {
  ;(this as PeerSocket).owner?.socketError(error)
}
