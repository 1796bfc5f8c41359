import { timingSafeEqual } from 'node:crypto'
import type { IncomingMessage, ServerResponse } from 'node:http'
import { UnauthorizedError } from '../errors.js'
import { replyJson } from './json.js'
import { UiSessions } from './ui-sessions.js'

/**
 * The door of the node's HTTP server at `baseUrl`: who may act for the node (the API
 * token, or the UI's session cookie, from no other origin), sign-in links, and the
 * requests about the session itself. Used by the API server, and by the unlock server that
 * stands in for it while an encrypted data directory waits for its passphrase (the session
 * made there carries over: same port, same sessions file).
 */
export class UiGate {
  private readonly sessions: UiSessions
  private readonly token: Buffer
  private baseUrl = ''

  constructor (init: { token: string, sessionsFile?: string }) {
    this.token = Buffer.from(init.token)
    this.sessions = new UiSessions(init.sessionsFile)
  }

  /**
   * Reads the kept sessions. Call it before listening: a browser whose node has just taken
   * over the address (after an unlock, a restart) must not meet a door that forgot it.
   */
  async load (): Promise<void> {
    await this.sessions.load()
  }

  /** The address sign-in links point to, once listening. */
  open (baseUrl: string): void {
    this.baseUrl = baseUrl
  }

  /** A link that opens the UI signed in: good once, for a day. */
  signInLink (): string {
    return `${this.baseUrl}/signin?code=${this.sessions.newCode()}`
  }

  /** Throws UnauthorizedError unless the request may act for the node. */
  authorize (req: IncomingMessage): void {
    // Browsers attach Origin; a page from anywhere else must not drive this node.
    const origin = req.headers.origin
    if (origin != null && origin !== `http://${req.headers.host ?? ''}`) {
      throw new UnauthorizedError(`requests from origin ${origin} are refused`)
    }
    // The UI's session cookie (SameSite=Strict, so other sites' pages cannot send it).
    const session = this.sessionOf(req)
    if (session != null && this.sessions.check(session)) return
    const header = req.headers.authorization ?? ''
    const url = new URL(req.url ?? '/', 'http://x')
    const given = Buffer.from(header.startsWith('Bearer ') ? header.slice(7) : (url.searchParams.get('token') ?? ''))
    if (given.length !== this.token.length || !timingSafeEqual(given, this.token)) {
      throw new UnauthorizedError('not signed in: open the link `outpost start` printed (or run `outpost ui`), or send the API token (file api-token in the data directory)')
    }
  }

  /** Answers GET /signin, POST /v1/ui/link and POST /v1/ui/signout; true when `req` was one of them. */
  async handle (req: IncomingMessage, url: URL, res: ServerResponse): Promise<boolean> {
    if (req.method === 'GET' && url.pathname === '/signin') {
      await this.signIn(url, res)
      return true
    }
    if (req.method === 'POST' && url.pathname === '/v1/ui/link') {
      this.authorize(req)
      replyJson(res, 201, { ui: this.signInLink() })
      return true
    }
    if (req.method === 'POST' && url.pathname === '/v1/ui/signout') {
      this.authorize(req)
      const id = this.sessionOf(req)
      if (id != null) await this.sessions.end(id)
      res.setHeader('set-cookie', `${this.cookieName}=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0`)
      replyJson(res, 200, { signedOut: true })
      return true
    }
    return false
  }

  /** Cookies are per host, not per port: each node's cookie has its own name. */
  private get cookieName (): string {
    return `outpost_session_${new URL(this.baseUrl).port}`
  }

  private sessionOf (req: IncomingMessage): string | undefined {
    const prefix = `${this.cookieName}=`
    for (const part of (req.headers.cookie ?? '').split(';')) {
      const item = part.trim()
      if (item.startsWith(prefix)) return item.slice(prefix.length)
    }
    return undefined
  }

  /** The one-time code becomes a session cookie, and the page opens without it. */
  private async signIn (url: URL, res: ServerResponse): Promise<void> {
    const id = await this.sessions.redeem(url.searchParams.get('code') ?? '')
    if (id == null) {
      res.writeHead(401, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' })
      res.end('<!doctype html><meta charset="utf-8"><title>Outpost</title><p>This sign-in link was used already or has expired. Run <code>outpost ui</code> for a new one.</p>\n')
      return
    }
    res.writeHead(303, {
      location: '/',
      'set-cookie': `${this.cookieName}=${id}; HttpOnly; SameSite=Strict; Path=/; Max-Age=${30 * 24 * 3600}`,
      'cache-control': 'no-store',
      'referrer-policy': 'no-referrer'
    })
    res.end()
  }
}
