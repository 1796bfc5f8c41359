import type { IncomingMessage, ServerResponse } from 'node:http'
import { UiSessions } from './ui-sessions.js'

/**
 * The UI's door on an HTTP server at `baseUrl`: sign-in links, the session cookie, and the
 * requests about the session itself. Used by the API server, and by the unlock server that
 * stands in for it while an encrypted data directory waits for its passphrase (the session
 * made there carries over: same port, same sessions file).
 */
export class UiGate {
  private readonly sessions: UiSessions
  private baseUrl = ''

  constructor (sessionsFile?: string) {
    this.sessions = new UiSessions(sessionsFile)
  }

  async open (baseUrl: string): Promise<void> {
    this.baseUrl = baseUrl
    await this.sessions.load()
  }

  /** A link that opens the UI signed in: good once, for a day. */
  signInLink (): string {
    return `${this.baseUrl}/signin?code=${this.sessions.newCode()}`
  }

  /** Whether the request carries a live session. */
  signedIn (req: IncomingMessage): boolean {
    const id = this.sessionOf(req)
    return id != null && this.sessions.check(id)
  }

  /**
   * Answers GET /signin, POST /v1/ui/link and POST /v1/ui/signout; true when `req` was one
   * of them. `authorize` throws when the request may not act for the node.
   */
  async handle (req: IncomingMessage, url: URL, res: ServerResponse, authorize: (req: IncomingMessage) => void, reply: (res: ServerResponse, status: number, body: unknown) => void): Promise<boolean> {
    if (req.method === 'GET' && url.pathname === '/signin') {
      await this.signIn(url, res)
      return true
    }
    if (req.method === 'POST' && url.pathname === '/v1/ui/link') {
      authorize(req)
      reply(res, 201, { ui: this.signInLink() })
      return true
    }
    if (req.method === 'POST' && url.pathname === '/v1/ui/signout') {
      authorize(req)
      const id = this.sessionOf(req)
      if (id != null) await this.sessions.end(id)
      res.setHeader('set-cookie', `${this.cookieName}=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0`)
      reply(res, 200, { signedOut: true })
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
