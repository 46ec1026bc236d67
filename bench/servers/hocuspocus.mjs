// @hocuspocus/server 4.7.0 with its default configuration (in-memory, no extensions).
import { Server } from '@hocuspocus/server'
import { serve } from './common.mjs'

const server = new Server({ port: 0, address: '127.0.0.1', quiet: true })
await server.listen()
serve({ url: `ws://127.0.0.1:${server.address.port}`, close: () => server.destroy() })
