import { logger } from '@libp2p/logger'
import { parsePeerAddress } from '../../discovery/index.js'
import { ApiServer } from '../api/server.js'
import { DEFAULT_API_HOST, DEFAULT_API_PORT } from '../constants.js'
import { DataDir } from '../data-dir.js'
import { InvalidRequestError } from '../errors.js'
import { DEFAULT_LISTEN } from '../host.js'
import { OutpostNode } from '../outpost-node.js'
import { readVaultFile } from '../vault.js'
import { unlockInBrowser } from './unlock.js'

const log = logger('outpost:cli')

export interface StartOptions {
  dataDir: DataDir
  /** the data directory's passphrase (see vault.ts) */
  passphrase?: string
  /** an encrypted data directory without `passphrase`: the UI asks for it (see unlock.ts) */
  unlockInBrowser?: boolean
  listen?: string[]
  peers?: string[]
  api?: string
  /** also serve the API on this Unix socket */
  apiSocket?: string
  /** take faults from the mesh lab (POST /v1/lab/faults) */
  lab?: boolean
  mdns: boolean
  syncIntervalMs?: number
  maxFileBytes?: number
}

export class ListenError extends Error {
  static readonly NAME = 'ListenError'
  override name = ListenError.NAME
}

/** Parses --api HOST:PORT (IPv6 in brackets); only loopback is allowed for now. */
export function parseApiAddress (text: string | undefined): { host: string, port: number } {
  if (text == null) return { host: DEFAULT_API_HOST, port: DEFAULT_API_PORT }
  const m = /^(\[[^\]]+\]|[^:]+):(\d+)$/.exec(text)
  const port = Number(m?.[2])
  if (m == null || port > 65535) throw new InvalidRequestError(`--api takes HOST:PORT, e.g. 127.0.0.1:${DEFAULT_API_PORT}; got '${text}'`)
  const host = m[1].replace(/^\[|\]$/g, '')
  if (!['127.0.0.1', 'localhost', '::1'].includes(host) && !host.startsWith('127.')) {
    throw new InvalidRequestError('the local API only listens on loopback (127.0.0.1 or ::1): it controls the node')
  }
  return { host, port }
}

/**
 * `outpost start`: runs the node in the foreground until SIGINT/SIGTERM, then stops cleanly
 * (everything flushed to disk). Prints one JSON ready line on stdout when ready.
 */
export async function runStart (options: StartOptions): Promise<void> {
  let api = parseApiAddress(options.api)
  let passphrase = options.passphrase
  if (options.unlockInBrowser === true && passphrase == null && await readVaultFile(options.dataDir.vaultFile) != null) {
    const unlocked = await unlockInBrowser(options.dataDir, api, ui => {
      process.stdout.write(JSON.stringify({ ready: false, locked: true, ui }) + '\n')
      process.stderr.write(`\nOutpost's data directory is encrypted. Open the UI to give its passphrase:\n  ${ui}\n\n`)
    })
    passphrase = unlocked.passphrase
    api = { ...api, port: unlocked.port }
  }
  const peers = (options.peers ?? []).map(p => parsePeerAddress(p, '--peer'))
  // Benchmarks only: the same node with signatures and encryption off, to measure their cost.
  const insecure = process.env.OUTPOST_BENCH_INSECURE === '1'
  if (insecure) process.stderr.write('outpost: OUTPOST_BENCH_INSECURE=1: signatures and encryption are OFF (benchmark use only)\n')
  reportUnhandledRejections()
  const node = await OutpostNode.create({
    insecure,
    labFaults: options.lab === true,
    dataDir: options.dataDir.path,
    passphrase,
    listen: options.listen,
    peers,
    mdns: options.mdns,
    syncIntervalMs: options.syncIntervalMs,
    maxFileBytes: options.maxFileBytes
  })
  let server: ApiServer | null = null
  let stopping: Promise<void> | null = null
  const stop = async (): Promise<void> => {
    stopping ??= (async () => {
      await server?.stop()
      await node.stop()
      await options.dataDir.removeApiInfo()
    })()
    await stopping
  }
  try {
    await node.start()
    if (node.addrs.length === 0) {
      throw new ListenError(`could not listen on ${(options.listen ?? DEFAULT_LISTEN).join(', ')} (in use by another node?); pass --listen /ip4/0.0.0.0/tcp/0 for any free port`)
    }
    server = new ApiServer(node, { ...api, socketPath: options.apiSocket, token: await options.dataDir.token(), sessionsFile: options.dataDir.uiSessionsFile })
    let url: string
    try {
      url = await server.start()
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EADDRINUSE') {
        throw new ListenError(`API address ${api.host}:${api.port} is in use (another node?); pass --api 127.0.0.1:0 for any free port`)
      }
      throw err
    }
    await options.dataDir.writeApiInfo({ url, pid: process.pid, peerId: node.peerId })
    const ui = server.signInLink()
    process.stdout.write(JSON.stringify({ ready: true, peerId: node.peerId, name: node.name, addrs: node.addrs, api: url, ui }) + '\n')
    // For a person at a terminal (stdout is for programs): where the UI is.
    if (process.stderr.isTTY === true || process.env.npm_lifecycle_event === 'start') process.stderr.write(`\nOutpost is running. Open the UI (signed in, link good once):\n  ${ui}\n\n`)
  } catch (err) {
    await stop()
    throw err
  }
  await new Promise<void>(resolve => {
    const onSignal = (signal: string): void => {
      log('received %s, stopping', signal)
      stop().then(resolve, err => {
        process.stderr.write(`outpost: error while stopping: ${(err as Error).message}\n`)
        process.exitCode = 1
        resolve()
      })
    }
    process.once('SIGINT', onSignal)
    process.once('SIGTERM', onSignal)
  })
}

/**
 * Last line of defence at the process boundary: a promise rejected with nobody listening
 * (a bug, most likely on a peer-facing path) is reported on stderr with its stack, and the
 * node keeps serving everyone else instead of exiting.
 */
export function reportUnhandledRejections (): void {
  process.on('unhandledRejection', (reason: unknown) => {
    process.stderr.write(`outpost: unhandled rejection (a bug; the node carries on): ${reason instanceof Error ? reason.stack ?? reason.message : String(reason)}\n`)
  })
}
