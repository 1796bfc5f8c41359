import { randomBytes } from 'node:crypto'
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises'
import { homedir } from 'node:os'
import { join, resolve } from 'node:path'
import type { KvStore, LevelKv } from '../crdt/index.js'
import { DataDirLockedError, PassphraseRequiredError } from './errors.js'

/** Where a node keeps everything. One directory belongs to one node at a time. */
export class DataDir {
  readonly path: string

  constructor (path?: string) {
    this.path = resolve(path ?? process.env.OUTPOST_HOME ?? join(homedir(), '.outpost'))
  }

  get dbPath (): string { return join(this.path, 'db') }
  /** static peers, one multiaddr per line */
  get peersFile (): string { return join(this.path, 'peers') }
  /** the running node's API address, written at start and removed at stop */
  get apiFile (): string { return join(this.path, 'api.json') }
  get tokenFile (): string { return join(this.path, 'api-token') }
  /** the UI's browser sessions (hashes only; see api/ui-sessions.ts) */
  get uiSessionsFile (): string { return join(this.path, 'ui-sessions.json') }
  /** the vault header (wrapped data key) of an encrypted directory; a copy of the database's */
  get vaultFile (): string { return join(this.path, 'vault.json') }

  async ensure (): Promise<void> {
    await mkdir(this.path, { recursive: true, mode: 0o700 })
  }

  /**
   * Opens the node's LevelDB; DataDirLockedError if a running node holds it. An encrypted
   * directory needs its passphrase (PassphraseRequiredError, WrongPassphraseError); a
   * passphrase given for a plaintext directory encrypts it (see vault.ts).
   */
  async openDb (options: { passphrase?: string } = {}): Promise<KvStore> {
    const { passphrase } = options
    // Loaded here, not at the top: CLI commands that only talk to the API skip LevelDB.
    const { checkPassphrase, openVault, passphraseRequired, readVaultFile, sameHeader, unlockVault, writeVaultFile } = await import('./vault.js')
    if (passphrase != null) checkPassphrase(passphrase)
    // The passphrase is checked before LevelDB is opened, because opening it rewrites its
    // files: a wrong passphrase must leave the directory exactly as it was.
    const fileHeader = await readVaultFile(this.vaultFile)
    if (fileHeader != null && passphrase == null) throw new PassphraseRequiredError(passphraseRequired(`data directory ${this.path}`))
    const unlocked = fileHeader != null && passphrase != null ? { header: fileHeader, dataKey: await unlockVault(fileHeader, passphrase) } : undefined
    const raw = await this.openLevel()
    try {
      const vault = await openVault(raw, { passphrase, unlocked, where: `data directory ${this.path}` })
      // The database's record is the truth; the file is its copy, restored if missing.
      if (vault.header != null && !sameHeader(vault.header, fileHeader)) await writeVaultFile(this.vaultFile, vault.header)
      if (vault.migrated > 0) await raw.compact()
      return vault.kv
    } catch (err) {
      await raw.close()
      throw err
    }
  }

  private async openLevel (): Promise<LevelKv> {
    await this.ensure()
    const { LevelKv, StorageLockedError } = await import('../crdt/index.js')
    try {
      return await LevelKv.open(this.dbPath)
    } catch (err) {
      if ((err as Error).name === StorageLockedError.NAME) {
        const running = await this.readApiInfo()
        const who = running != null ? ` (pid ${running.pid}, API ${running.url})` : ''
        throw new DataDirLockedError(`data directory ${this.path} is in use by a running node${who}; stop it first or use another --data`)
      }
      throw err
    }
  }

  /** The API token, created on first use; readable only by this user. */
  async token (): Promise<string> {
    const existing = await this.readToken()
    if (existing != null) return existing
    const token = randomBytes(32).toString('hex')
    await writeFile(this.tokenFile, token + '\n', { mode: 0o600 })
    return token
  }

  /** The API token if there is a usable one (clients never create it). */
  async readToken (): Promise<string | null> {
    try {
      const token = (await readFile(this.tokenFile, 'utf8')).trim()
      return token.length >= 32 ? token : null
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err
      return null
    }
  }

  async writeApiInfo (info: ApiInfo): Promise<void> {
    await writeFile(this.apiFile, JSON.stringify(info) + '\n', { mode: 0o600 })
  }

  async readApiInfo (): Promise<ApiInfo | null> {
    try {
      const info = JSON.parse(await readFile(this.apiFile, 'utf8')) as ApiInfo
      return typeof info.url === 'string' ? info : null
    } catch {
      return null
    }
  }

  async removeApiInfo (): Promise<void> {
    await rm(this.apiFile, { force: true })
  }
}

export interface ApiInfo {
  url: string
  pid: number
  peerId: string
}
