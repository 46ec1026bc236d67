// A WebSocket class for Node clients (y-websocket, Hocuspocus provider, kvsync) that wraps `ws`
// so the bench can (1) see each frame right after the client's own handler applied it, (2) see
// each frame the client sends, and (3) hold the connection until a gate opens (offline edits).
// It supports what those clients use: on* handlers, add/removeEventListener, binaryType,
// readyState, send, close.
import WebSocket from 'ws'

export function hookedSocketClass({ gate, afterMessage, beforeSend } = {}) {
  return class HookedSocket {
    static CONNECTING = 0
    static OPEN = 1
    static CLOSING = 2
    static CLOSED = 3
    CONNECTING = 0
    OPEN = 1
    CLOSING = 2
    CLOSED = 3

    constructor(url) {
      this.url = url
      this.onopen = this.onmessage = this.onclose = this.onerror = null
      this._binaryType = 'nodebuffer'
      this._listeners = { open: new Set(), message: new Set(), close: new Set(), error: new Set() }
      this._real = undefined
      this._closedEarly = false
      const start = () => {
        if (this._closedEarly) return
        const real = new WebSocket(url, { perMessageDeflate: false })
        real.binaryType = this._binaryType
        this._real = real
        real.onopen = (event) => this._emit('open', event)
        real.onmessage = (event) => {
          this._emit('message', event)
          afterMessage?.(event.data, this)
        }
        real.onclose = (event) => this._emit('close', event)
        real.onerror = (event) => this._emit('error', event)
      }
      if (gate) gate.then(start)
      else start()
    }

    get readyState() {
      return this._real ? this._real.readyState : this._closedEarly ? 3 : 0
    }

    get binaryType() {
      return this._binaryType
    }

    set binaryType(type) {
      this._binaryType = type
      if (this._real) this._real.binaryType = type
    }

    get bufferedAmount() {
      return this._real?.bufferedAmount ?? 0
    }

    send(data) {
      beforeSend?.(data, this)
      this._real.send(data)
    }

    close(code, reason) {
      if (this._real === undefined) {
        if (this._closedEarly) return
        this._closedEarly = true
        queueMicrotask(() => this._emit('close', { code: 1000, reason: '' }))
        return
      }
      try {
        this._real.close(code, reason)
      } catch {
        this._real.terminate()
      }
    }

    addEventListener(type, listener) {
      this._listeners[type]?.add(listener)
    }

    removeEventListener(type, listener) {
      this._listeners[type]?.delete(listener)
    }

    _emit(type, event) {
      const handler = this[`on${type}`]
      if (typeof handler === 'function') handler.call(this, event)
      for (const listener of [...this._listeners[type]]) listener.call(this, event)
    }
  }
}
