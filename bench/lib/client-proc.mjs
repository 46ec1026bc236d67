// A client worker process: loads the scenario's client module (argv[2]) and runs its exported
// functions on request from the bench runner over IPC ({ id, cmd, args } → { id, result | error }).
import { pathToFileURL } from 'node:url'

// Stock y-websocket providers add a process 'exit' listener each; hundreds are expected here.
process.setMaxListeners(0)

const mod = await import(pathToFileURL(process.argv[2]).href)
process.on('message', async ({ id, cmd, args }) => {
  try {
    const result = cmd === '__ready' ? true : await mod[cmd](args)
    process.send({ id, result })
  } catch (error) {
    process.send({ id, error: String(error?.stack ?? error) })
  }
})
// The runner going away ends this process too.
process.on('disconnect', () => process.exit(0))
// Exit normally on SIGTERM so --cpu-prof can write its profile.
process.on('SIGTERM', () => process.exit(0))
