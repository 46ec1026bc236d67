import type { WebSocket } from 'ws'
import { MessageType, encodeErrorMessage } from '@kvsync/shared'
import type { KvsyncError } from '@kvsync/shared'
import { closeCodeFor, explainsClose } from './close-reasons.js'

/**
 * Refuses an upgraded WebSocket (bad token, forbidden or invalid store, too many connections).
 *
 * Permanent refusals wait up to `graceMs` for the client's first frame: a kvsync client sends
 * `hello` first and then gets the coded error (type 101) before the close, so it can tell the
 * user why; a stock client's first frame (sync step 1) or the timer closes at once without it.
 * Transient refusals (4004) close immediately. Calls `onClosed` once the socket is closed.
 */
export function rejectSocket(socket: WebSocket, error: KvsyncError, graceMs: number, onClosed: () => void): void {
  const closeCode = closeCodeFor(error.code)
  let done = false
  const finish = (explain: boolean): void => {
    if (done) return
    done = true
    clearTimeout(timer)
    if (explain && socket.readyState === socket.OPEN) socket.send(encodeErrorMessage(error.code, error.message))
    socket.close(closeCode.code, closeCode.reason)
  }
  socket.once('close', () => {
    done = true
    clearTimeout(timer)
    onClosed()
  })
  // Errors (a peer that vanished) end in 'close' too; without a listener ws would throw.
  socket.on('error', () => {})
  const timer = setTimeout(() => finish(false), explainsClose(closeCode) ? graceMs : 0)
  timer.unref()
  socket.once('message', (data: Buffer, isBinary: boolean) => finish(isBinary && data.length > 0 && data[0] === MessageType.hello))
}
