/**
 * The UI's only way to the node: the local API (HTTP + WebSocket) on the same origin. The
 * session is a cookie the node set when the sign-in link was opened; nothing here holds a
 * token. Types mirror the node's answers (README, "Local API").
 */

export class ApiError extends Error {
  constructor (readonly status: number, readonly errorName: string, message: string) {
    super(message)
    this.name = 'ApiError'
  }
}

export async function api<T = unknown> (method: 'GET' | 'POST', path: string, body?: unknown): Promise<T> {
  const res = await fetch(path, {
    method,
    credentials: 'same-origin',
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body)
  })
  const text = await res.text()
  const value = text === '' ? undefined : JSON.parse(text)
  if (!res.ok) {
    const error = value?.error ?? {}
    throw new ApiError(res.status, String(error.name ?? 'Error'), String(error.message ?? res.statusText))
  }
  return value as T
}

export interface Status {
  peerId: string
  name: string
  addrs: string[]
  groups: number
  connectedPeers: number
  maxFileBytes: number
}

export interface GroupSummary {
  groupId: string
  name: string
  joinedAt: number
  messages: number
  [key: string]: unknown
}

export interface FileSummary {
  id: string
  name: string
  size: number
  mime: string
  sha256: string
  thumbnail?: { mime: string, width: number, height: number }
}

export interface Message {
  id: string
  author: string
  authorName: string
  ts: number
  hlc: { ms: number, c: number }
  text: string
  replyTo?: string
  mentions?: string[]
  mentionsMe: boolean
  edits: number
  deleted: boolean
  reactions: Record<string, string[]>
  pinned: boolean
  replies: number
  file?: FileSummary
}

/** What the node pushes on /v1/events. */
export type NodeEvent =
  | { type: 'hello', peerId: string, name: string }
  | { type: 'message', groupId: string, message: Message, origin: string, at: number }
  | { type: 'typing', groupId: string, peerId: string, name?: string, [key: string]: unknown }
  | { type: 'presence', peerId: string, state: string, [key: string]: unknown }
  | { type: 'file', fileId: string, state: string, [key: string]: unknown }

type Listener = (event: NodeEvent) => void

/**
 * The node's event stream, reconnecting with backoff: a node restarting, or a laptop
 * waking up, must not leave the page deaf. `onOpen` runs on every (re)connection, so
 * callers reload what they may have missed.
 */
export class Events {
  private ws: WebSocket | null = null
  private readonly listeners = new Set<Listener>()
  private retryMs = 500
  private closed = false

  constructor (private readonly onState: (connected: boolean) => void, private readonly onOpen: () => void) {}

  start (): void {
    this.closed = false
    const url = new URL('/v1/events', location.href)
    url.protocol = location.protocol === 'https:' ? 'wss:' : 'ws:'
    const ws = new WebSocket(url)
    this.ws = ws
    ws.onopen = () => {
      this.retryMs = 500
      this.onState(true)
      this.onOpen()
    }
    ws.onmessage = e => {
      let event: NodeEvent
      try {
        event = JSON.parse(String(e.data)) as NodeEvent
      } catch {
        return
      }
      for (const listener of this.listeners) listener(event)
    }
    ws.onclose = () => {
      this.ws = null
      this.onState(false)
      if (this.closed) return
      setTimeout(() => { if (!this.closed) this.start() }, this.retryMs)
      this.retryMs = Math.min(this.retryMs * 2, 10_000)
    }
  }

  stop (): void {
    this.closed = true
    this.ws?.close()
  }

  on (listener: Listener): () => void {
    this.listeners.add(listener)
    return () => { this.listeners.delete(listener) }
  }
}
