import { readFile } from 'node:fs/promises'
import { resolve } from 'node:path'
import { isKvsyncError } from '@kvsync/shared'
import { parseCliArgs, USAGE } from './cli/args.js'
import { checkStaticDir, prepareDataDir } from './cli/directories.js'
import { createLogger, errorCode } from './logger.js'
import { createSyncServer } from './server.js'
import type { SyncServer } from './server.js'
import { SQLITE_FILE_NAME } from './storage/sqlite.js'

// The `kvsync-server` command. Exit codes: 0 after a graceful stop, 1 when the server fails
// while starting or running, 2 for bad arguments or an unusable directory.

function exitWithUsageError(problem: string): never {
  process.stderr.write(`kvsync-server: ${problem} (see kvsync-server --help)\n`)
  process.exit(2)
}

async function main(): Promise<void> {
  const parsed = parseCliArgs(process.argv.slice(2), { env: process.env })
  if (!parsed.ok) exitWithUsageError(parsed.problem)
  const { config } = parsed
  if (config.help) {
    process.stdout.write(`${USAGE}\n`)
    return
  }
  const dataProblem = await prepareDataDir(config.data)
  if (dataProblem !== undefined) exitWithUsageError(dataProblem)
  if (config.static !== undefined) {
    const staticProblem = await checkStaticDir(config.static)
    if (staticProblem !== undefined) exitWithUsageError(staticProblem)
  }
  let publicKey: string | undefined
  if (config.authPublicKey !== undefined) {
    try {
      publicKey = await readFile(config.authPublicKey, 'utf8')
    } catch (error) {
      exitWithUsageError(`cannot read --auth-public-key ${config.authPublicKey}: ${errorCode(error) ?? String(error)}`)
    }
  }

  const logger = createLogger({ level: config.logLevel, format: config.logFormat })
  let server: SyncServer
  try {
    server = createSyncServer({
      host: config.host,
      port: config.port,
      dataDir: config.data,
      staticDir: config.static,
      logger,
      auth: {
        ...(config.authSecret !== undefined ? { secret: config.authSecret } : {}),
        ...(publicKey !== undefined ? { publicKey } : {}),
        leewaySeconds: config.authLeewaySeconds,
        ...(config.authAudience !== undefined ? { audience: config.authAudience } : {}),
        ...(config.authIssuer !== undefined ? { issuer: config.authIssuer } : {}),
      },
      insecure: config.insecure,
      idleUnloadMs: config.idleUnloadMs,
      hibernateAfterMs: config.hibernateAfterMs,
      releaseFreedMemory: !config.keepFreedMemory,
      compactAfterUpdates: config.compactAfter,
      maxPayloadBytes: config.maxMessageBytes,
      maxConnections: config.maxConnections,
      messageRate: config.messageRate,
      messageBurst: config.messageBurst,
      maxBufferedBytes: config.maxBufferedBytes,
      maxAwarenessBytes: config.maxAwarenessBytes,
      pingIntervalMs: config.pingIntervalMs,
      closeTimeoutMs: config.shutdownTimeoutMs,
      tombstoneRetentionMs: Math.round(config.tombstoneRetentionDays * 24 * 3600 * 1000),
    })
  } catch (error) {
    if (isKvsyncError(error)) exitWithUsageError(`${error.message}${describeCause(error.cause)}`)
    throw error
  }

  let stopping = false
  const stop = (signal: NodeJS.Signals): void => {
    if (stopping) {
      process.stderr.write(`kvsync-server: ${signal} again, exiting without waiting\n`)
      process.exit(1)
    }
    stopping = true
    logger.info('stopping', { signal })
    server.close().then(
      () => process.exit(0),
      (error: unknown) => {
        logger.error('stopped with errors', { error })
        process.exit(1)
      },
    )
  }
  process.on('SIGTERM', stop)
  process.on('SIGINT', stop)

  try {
    const address = await server.listen()
    const dataFile = resolve(config.data, SQLITE_FILE_NAME)
    // One line on stdout, the contract scripts rely on: "listening on ws://HOST:PORT".
    process.stdout.write(`kvsync-server listening on ${address.url} (data: ${dataFile})\n`)
  } catch (error) {
    process.stderr.write(`kvsync-server: ${error instanceof Error ? error.message : String(error)}\n`)
    await server.close().catch(() => {})
    process.exit(1)
  }
}

function describeCause(cause: unknown): string {
  if (cause instanceof Error) return ` (${'code' in cause && typeof cause.code === 'string' ? cause.code : cause.message})`
  return ''
}

main().catch((error: unknown) => {
  process.stderr.write(`kvsync-server: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`)
  process.exit(1)
})
