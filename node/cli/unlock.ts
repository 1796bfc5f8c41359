import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { statusOf } from '../api/errors-to-status.js'
import { readJson, replyJson as reply } from '../api/json.js'
import { serveUi } from '../api/static-files.js'
import { UiGate } from '../api/ui-gate.js'
import type { DataDir } from '../data-dir.js'
import { InvalidRequestError, WrongPassphraseError } from '../errors.js'
import { readVaultFile, unlockVault } from '../vault.js'

/** Wrong passphrases are answered no faster than this: the scrypt cost is the main brake, this is another. */
const WRONG_PASSPHRASE_DELAY_MS = 1_000

/**
 * `outpost start --unlock-in-browser` on an encrypted data directory: until the passphrase
 * is given, a small server on the API's address serves the UI, whose first screen asks for
 * it (GET /v1/status answers 423 with {locked: true}; POST /v1/unlock {passphrase}). The
 * sign-in link and session work as on the running node and carry over to it. Resolves with
 * the passphrase once it unlocks the vault, and the port it listened on, so the node's API
 * takes the same address (the page stays on one origin, its cookie stays good).
 */
export async function unlockInBrowser (dataDir: DataDir, api: { host: string, port: number }, onWaiting: (ui: string) => void): Promise<{ passphrase: string, port: number }> {
  const header = await readVaultFile(dataDir.vaultFile)
  if (header == null) throw new Error('unlockInBrowser needs an encrypted data directory')
  const gate = new UiGate({ token: await dataDir.token(), sessionsFile: dataDir.uiSessionsFile })
  let done: (value: string) => void = () => {}
  const unlocked = new Promise<string>(resolve => { done = resolve })

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? '/', 'http://x')
    if (await gate.handle(req, url, res)) return
    if (req.method === 'GET' && !url.pathname.startsWith('/v1/')) {
      await serveUi(url.pathname, res)
      return
    }
    gate.authorize(req)
    if (req.method === 'GET' && url.pathname === '/v1/status') {
      reply(res, 423, { locked: true, error: { name: 'LockedError', message: 'the data directory is encrypted: give its passphrase to start the node' } })
    } else if (req.method === 'POST' && url.pathname === '/v1/unlock') {
      const passphrase = (await readJson(req)).passphrase
      if (typeof passphrase !== 'string' || passphrase.length === 0) throw new InvalidRequestError("field 'passphrase' is required")
      try {
        await unlockVault(header, passphrase)
      } catch (err) {
        // Answered (403) no sooner than the delay.
        if (err instanceof WrongPassphraseError) await new Promise(resolve => setTimeout(resolve, WRONG_PASSPHRASE_DELAY_MS))
        throw err
      }
      reply(res, 200, { unlocked: true })
      done(passphrase)
    } else {
      reply(res, 503, { error: { name: 'LockedError', message: 'the node is not running yet: its data directory waits for the passphrase' } })
    }
  }

  await gate.load()
  const server = createServer((req, res) => {
    handle(req, res).catch((err: Error) => {
      reply(res, statusOf(err), { error: { name: err.name, message: err.message } })
    })
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(api.port, api.host, () => { server.off('error', reject); resolve() })
  })
  const port = (server.address() as AddressInfo).port
  const host = api.host.includes(':') ? `[${api.host}]` : api.host
  gate.open(`http://${host}:${port}`)
  onWaiting(gate.signInLink())
  const passphrase = await unlocked
  server.closeAllConnections()
  await new Promise<void>(resolve => server.close(() => { resolve() }))
  return { passphrase, port }
}
