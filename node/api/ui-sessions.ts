import { createHash, randomBytes, timingSafeEqual } from 'node:crypto'
import { readFile, rename, writeFile } from 'node:fs/promises'
import { logger } from '@libp2p/logger'

const log = logger('outpost:api:sessions')

/** A sign-in link stays good this long, or until it is used once. */
export const SIGN_IN_LINK_MS = 24 * 60 * 60 * 1000
/** A browser session lasts this long without being used. */
export const SESSION_IDLE_MS = 30 * 24 * 60 * 60 * 1000
const MAX_SESSIONS = 64

interface Stored { hash: string, lastUsed: number }

/**
 * Browser sign-in for the UI. `outpost start` prints a link with a one-time code; opening it
 * exchanges the code for a session (an HttpOnly cookie) and the page never sees a token
 * again. Sessions outlive a restart of the node: only their SHA-256 is kept, in a file of
 * the data directory, so reading that file gives nobody a session.
 */
export class UiSessions {
  private readonly codes = new Map<string, number>()
  private sessions: Stored[] = []

  constructor (private readonly file?: string) {}

  async load (): Promise<void> {
    if (this.file == null) return
    try {
      const value = JSON.parse(await readFile(this.file, 'utf8')) as unknown
      if (Array.isArray(value)) {
        this.sessions = value.filter((s): s is Stored => typeof s?.hash === 'string' && typeof s?.lastUsed === 'number')
      }
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') log.error('ignoring unreadable %s: %s', this.file, (err as Error).message)
    }
    this.expire()
  }

  /** A new one-time sign-in code. */
  newCode (): string {
    const code = randomBytes(24).toString('base64url')
    this.codes.set(code, Date.now() + SIGN_IN_LINK_MS)
    return code
  }

  /** Uses up `code`; a new session id, or null when the code is unknown, used or expired. */
  async redeem (code: string): Promise<string | null> {
    const until = this.codes.get(code)
    this.codes.delete(code)
    if (until == null || until < Date.now()) return null
    const id = randomBytes(32).toString('base64url')
    this.sessions.push({ hash: hashOf(id), lastUsed: Date.now() })
    this.expire()
    await this.save()
    return id
  }

  /** Whether `id` is a live session (and marks it used). */
  check (id: string): boolean {
    const hash = Buffer.from(hashOf(id), 'hex')
    const found = this.sessions.find(s => timingSafeEqual(Buffer.from(s.hash, 'hex'), hash))
    if (found == null || found.lastUsed + SESSION_IDLE_MS < Date.now()) return false
    found.lastUsed = Date.now()
    return true
  }

  async end (id: string): Promise<void> {
    const hash = hashOf(id)
    this.sessions = this.sessions.filter(s => s.hash !== hash)
    await this.save()
  }

  private expire (): void {
    const now = Date.now()
    for (const [code, until] of this.codes) if (until < now) this.codes.delete(code)
    this.sessions = this.sessions.filter(s => s.lastUsed + SESSION_IDLE_MS >= now).slice(-MAX_SESSIONS)
  }

  private async save (): Promise<void> {
    if (this.file == null) return
    await writeFile(this.file + '.tmp', JSON.stringify(this.sessions), { mode: 0o600 })
    await rename(this.file + '.tmp', this.file)
  }
}

function hashOf (id: string): string {
  return createHash('sha256').update(id).digest('hex')
}
