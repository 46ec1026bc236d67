import { randomBytes } from 'node:crypto'
import { readdir } from 'node:fs/promises'
import { request } from 'node:http'
import { dirname } from 'node:path'
import { describe, expect, it, vi } from 'vitest'
import * as encoding from 'lib0/encoding'
import * as Y from 'yjs'
import { CloseCodes, MessageType } from '@kvsync/shared'
import { serverFixtures, tempDir, updateFrame } from './helpers.js'
import { rawAwarenessUpdate } from './unit-helpers.js'

const { cleanups, client, server } = serverFixtures()

function awarenessFrame(entries: Array<[client: number, clock: number, state: string]>): Uint8Array {
  const outer = encoding.createEncoder()
  encoding.writeVarUint(outer, MessageType.awareness)
  encoding.writeVarUint8Array(outer, rawAwarenessUpdate(entries))
  return encoding.toUint8Array(outer)
}

describe('limits', () => {
  it('closes with 4413 and a coded error for a message above maxPayloadBytes', async () => {
    const { url } = await server({ maxPayloadBytes: 4096 })
    const a = client(`${url}/big`, { hello: true })
    await vi.waitFor(() => expect(a.synced).toBe(true))
    const writer = new Y.Doc()
    writer.getMap('kv').set('blob', 'x'.repeat(5000))
    a.send(updateFrame(Y.encodeStateAsUpdate(writer)))
    expect((await a.closed).code).toBe(CloseCodes.messageTooLarge.code)
    expect(a.errors.map((error) => error.code)).toEqual(['MESSAGE_TOO_LARGE'])
  })

  it('closes with 4002 when a connection sends faster than its rate', async () => {
    const { url } = await server({ messageRate: 10, messageBurst: 20 })
    const a = client(`${url}/fast`)
    await vi.waitFor(() => expect(a.synced).toBe(true))
    for (let index = 0; index < 100; index++) a.send(Uint8Array.of(MessageType.queryAwareness))
    expect((await a.closed).code).toBe(CloseCodes.rateLimited.code)
    const other = client(`${url}/fast`)
    await vi.waitFor(() => expect(other.synced).toBe(true))
  })

  it('closes with 4004 past maxConnections, counting every store', async () => {
    const { url } = await server({ maxConnections: 2 })
    const a = client(`${url}/one`)
    const b = client(`${url}/two`)
    await vi.waitFor(() => expect(a.synced && b.synced).toBe(true))
    const c = client(`${url}/three`)
    expect((await c.closed).code).toBe(CloseCodes.tooManyConnections.code)
    await a.close()
    const d = client(`${url}/three`)
    await vi.waitFor(() => expect(d.synced).toBe(true))
  })

  it('closes a slow reader with 4003 instead of buffering for it', async () => {
    const { url } = await server({ maxBufferedBytes: 64 * 1024 })
    const slow = client(`${url}/slow`)
    const writer = client(`${url}/slow`)
    await vi.waitFor(() => expect(slow.synced && writer.synced).toBe(true))
    // Stop reading: the server's writes back up in the kernel, then in ws' buffer.
    const tcp = (slow.socket as unknown as { _socket: { pause(): void; resume(): void } })._socket
    tcp.pause()
    cleanups.push(() => tcp.resume())
    const closedCode = (async () => (await slow.closed).code)()
    let done = false
    void closedCode.then(() => (done = true))
    // The writer reads like a healthy client: it takes its own echo (the server broadcasts to
    // every peer, the sender included) before it writes again, so only `slow` falls behind.
    const source = new Y.Doc()
    let sent = 0
    while (!done && sent < 400) {
      const before = Y.encodeStateVector(source)
      source.getMap('kv').set(`k${sent % 10}`, 'y'.repeat(64 * 1024))
      writer.send(updateFrame(Y.encodeStateAsUpdate(source, before)))
      await Promise.race([echoOf(writer, source), writer.closed.then((close) => expect.fail(`the writer was closed: ${close.code}`))])
      sent++
    }
    tcp.resume()
    expect(await closedCode).toBe(CloseCodes.slowConsumer.code)
    expect(writer.socket.readyState).toBe(writer.socket.OPEN)
  })

  it('bounds awareness: size and client ids per connection', async () => {
    const { url } = await server({ maxAwarenessBytes: 1024, maxAwarenessClients: 2 })
    const big = client(`${url}/aw`)
    await vi.waitFor(() => expect(big.synced).toBe(true))
    big.send(awarenessFrame([[1, 1, JSON.stringify({ name: 'x'.repeat(2000) })]]))
    expect((await big.closed).code).toBe(CloseCodes.messageTooLarge.code)
    const many = client(`${url}/aw`)
    await vi.waitFor(() => expect(many.synced).toBe(true))
    many.send(awarenessFrame([[1, 1, '{}'], [2, 1, '{}']]))
    many.send(awarenessFrame([[1, 2, '{"a":1}']]))
    many.send(awarenessFrame([[3, 1, '{}']]))
    expect((await many.closed).code).toBe(CloseCodes.protocolError.code)
    const fine = client(`${url}/aw`)
    fine.setAwareness({ user: 'ok' })
    await vi.waitFor(() => expect(fine.synced).toBe(true))
  })

  it('drops updates that wait for missing dependencies past the bound and closes their sender', async () => {
    const { url, server: running } = await server({ maxPayloadBytes: 4096 })
    const a = client(`${url}/pending`)
    await vi.waitFor(() => expect(a.synced).toBe(true))
    const source = new Y.Doc()
    source.getMap('kv').set('first', 1)
    for (let index = 0; index < 10; index++) {
      const before = Y.encodeStateVector(source)
      source.getMap('kv').set(`k${index}`, 'z'.repeat(1000))
      a.send(updateFrame(Y.encodeStateAsUpdate(source, before)))
    }
    expect((await a.closed).code).toBe(CloseCodes.protocolError.code)
    const other = client(`${url}/pending`)
    await vi.waitFor(() => expect(other.synced).toBe(true))
    expect(running.stats().connections).toBe(1)
  })
})

describe('store names and the data directory', () => {
  it('refuses tricky names with 4404 and writes nothing outside --data', async () => {
    const parent = await tempDir('kvsync-parent-')
    cleanups.push(parent.teardown)
    const data = `${parent.value}/data`
    // A long grace: the kvsync clients below send hello at once, and under load a short one could
    // close before it arrived (no coded error). The raw upgrades send a frame at once instead.
    const { url } = await server({ dataDir: data, rejectGraceMs: 10_000 })
    // A WebSocket client resolves `../`, `%2e%2e/` and `\` itself; those go out raw below.
    const tricky = ['..%2Fx', '%2E%2E%2Fx', '%2Fetc%2Fpasswd', '/etc/passwd', 'a%00b', '..%5Cx', 'a%5C..%5Cx', `${'y'.repeat(300)}`, 'C:%5Cx', '.']
    for (const name of tricky) {
      const raw = client(`${url}/${name}`, { hello: true })
      expect((await raw.closed).code, name).toBe(CloseCodes.invalidStoreName.code)
      expect(raw.errors[0]?.code, name).toBe('INVALID_STORE_NAME')
    }
    const port = Number(new URL(url).port)
    for (const path of ['/../x', '/%2e%2e/x', '/a/../../x', '/a\\..\\x', '/./x', '//etc/passwd', `/${'z'.repeat(257)}`]) {
      expect(await rawUpgradeCloseCode(port, path), path).toBe(CloseCodes.invalidStoreName.code)
    }
    // Valid but path-looking names live inside the database, never as files.
    const dotted = client(`${url}/..a/.b/c~`)
    await vi.waitFor(() => expect(dotted.synced).toBe(true))
    dotted.map.set('k', 1)
    await vi.waitFor(async () => expect((await readdir(data)).sort()).toEqual(['kvsync.db', 'kvsync.db-shm', 'kvsync.db-wal']))
    expect(await readdir(parent.value)).toEqual(['data'])
    expect(dirname(data)).toBe(parent.value)
  })
})

/** Resolves once `reader` holds everything `source` wrote. */
function echoOf(reader: { doc: Y.Doc }, source: Y.Doc): Promise<void> {
  const target = Y.getState(source.store, source.clientID)
  return new Promise((resolve) => {
    const check = (): void => {
      if (Y.getState(reader.doc.store, source.clientID) < target) return
      reader.doc.off('update', check)
      resolve()
    }
    reader.doc.on('update', check)
    check()
  })
}

/** Upgrades with the request target sent verbatim and returns the close code the server sends. */
function rawUpgradeCloseCode(port: number, path: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request({
      host: '127.0.0.1',
      port,
      path,
      headers: { Connection: 'Upgrade', Upgrade: 'websocket', 'Sec-WebSocket-Version': '13', 'Sec-WebSocket-Key': randomBytes(16).toString('base64') },
    })
    req.on('upgrade', (_response, socket) => {
      // One masked binary frame (zero mask, one byte): the server closes at its first frame.
      socket.write(Buffer.from([0x82, 0x81, 0, 0, 0, 0, 0]))
      let buffered = Buffer.alloc(0)
      socket.on('data', (chunk: Buffer) => {
        buffered = Buffer.concat([buffered, chunk])
        // A close frame: 0x88, payload length, then the 2-byte code.
        if (buffered.length >= 4 && buffered[0] === 0x88) {
          resolve(buffered.readUInt16BE(2))
          socket.destroy()
        }
      })
      socket.on('error', reject)
    })
    req.on('response', (response) => reject(new Error(`no upgrade: HTTP ${response.statusCode}`)))
    req.on('error', reject)
    req.end()
  })
}
