import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import { chmod, rm } from 'node:fs/promises'
import type { AddressInfo } from 'node:net'
import { logger } from '@libp2p/logger'
import { WebSocketServer, type WebSocket } from 'ws'
import { InvalidRequestError, UnauthorizedError } from '../errors.js'
import type { MessageEvent, OutpostNode } from '../outpost-node.js'
import { wallClockMs } from '../wall-clock.js'
import { statusOf } from './errors-to-status.js'
import { readJson, replyJson } from './json.js'
import { routes, StreamReply, type Route } from './routes.js'
import { serveUi } from './static-files.js'
import { UiGate } from './ui-gate.js'

const log = logger('outpost:api')

async function listen (server: Server, where: { port: number, host: string } | { path: string }): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(where, () => { server.off('error', reject); resolve() })
  })
}
const MAX_WS_BUFFERED_BYTES = 16 * 1024 * 1024

export interface ApiServerInit {
  host?: string
  port?: number
  token: string
  /** where browser sessions are kept (their hashes); without it they end with the process */
  sessionsFile?: string
  /** the built UI (tests may point elsewhere) */
  uiDir?: string
  /**
   * Also serve the API on this Unix socket (owner only). The mesh lab drives nodes in other
   * network namespaces through it: a socket file is reachable across namespaces, loopback is not.
   */
  socketPath?: string
}

/**
 * The local API: HTTP + WebSocket on loopback, every request authenticated with the token
 * from the data directory. The CLI, the browser UI and integrations are its clients.
 */
export class ApiServer {
  private server: Server | null = null
  private socketServer: Server | null = null
  private wss: WebSocketServer | null = null
  private readonly gate: UiGate
  // `at`: when this node had the message, in ms since the epoch (fractional), so that a
  // watcher can time delivery without counting its own delays in reading the stream.
  private readonly onMessage = (event: MessageEvent): void => { this.broadcast({ type: 'message', ...event, at: wallClockMs() }) }
  private readonly onTyping = (event: object): void => { this.broadcast({ type: 'typing', ...event }) }
  private readonly onPresence = (event: object): void => { this.broadcast({ type: 'presence', ...event }) }
  private readonly onFile = (event: object): void => { this.broadcast({ type: 'file', ...event }) }

  constructor (private readonly node: OutpostNode, private readonly init: ApiServerInit) {
    this.gate = new UiGate({ token: init.token, sessionsFile: init.sessionsFile })
  }

  /** A link that opens the UI signed in: good once, for a day (`outpost ui` makes another). */
  signInLink (): string {
    return this.gate.signInLink()
  }

  /** Listens and returns the base URL, e.g. http://127.0.0.1:4610 */
  async start (): Promise<string> {
    await this.gate.load()
    const wss = new WebSocketServer({ noServer: true, maxPayload: 64 * 1024 })
    this.wss = wss
    const server = this.httpServer(wss)
    await listen(server, { port: this.init.port ?? 0, host: this.init.host ?? '127.0.0.1' })
    this.server = server
    if (this.init.socketPath != null) {
      await rm(this.init.socketPath, { force: true })
      const socketServer = this.httpServer(wss)
      await listen(socketServer, { path: this.init.socketPath })
      await chmod(this.init.socketPath, 0o600)
      this.socketServer = socketServer
    }
    this.node.on('message', this.onMessage)
    this.node.on('typing', this.onTyping)
    this.node.on('presence', this.onPresence)
    this.node.on('file', this.onFile)
    const address = server.address() as AddressInfo
    const host = address.family === 'IPv6' ? `[${address.address}]` : address.address
    const url = `http://${host}:${address.port}`
    this.gate.open(url)
    return url
  }

  async stop (): Promise<void> {
    this.node.off('message', this.onMessage)
    this.node.off('typing', this.onTyping)
    this.node.off('presence', this.onPresence)
    this.node.off('file', this.onFile)
    for (const client of this.wss?.clients ?? []) client.terminate()
    this.wss?.close()
    const servers = [this.server, this.socketServer].filter(s => s != null)
    this.server = null
    this.socketServer = null
    await Promise.all(servers.map(async server => {
      server.closeAllConnections()
      await new Promise<void>(resolve => server.close(() => { resolve() }))
    }))
    if (this.init.socketPath != null) await rm(this.init.socketPath, { force: true })
  }

  /** An HTTP server for the API and its event WebSocket (one per address listened on). */
  private httpServer (wss: WebSocketServer): Server {
    const server = createServer((req, res) => { this.handle(req, res).catch(err => { this.fail(res, err) }) })
    server.on('upgrade', (req, socket, head) => {
      try {
        this.gate.authorize(req)
        if (new URL(req.url ?? '/', 'http://x').pathname !== '/v1/events') throw new InvalidRequestError('no such WebSocket endpoint')
      } catch (err) {
        socket.end(`HTTP/1.1 ${statusOf(err as Error)} Refused\r\nConnection: close\r\n\r\n`)
        return
      }
      wss.handleUpgrade(req, socket, head, ws => { this.welcome(ws) })
    })
    return server
  }

  private welcome (ws: WebSocket): void {
    ws.on('error', err => { log('websocket error: %s', err.message) })
    ws.send(JSON.stringify({ type: 'hello', peerId: this.node.peerId, name: this.node.name }))
  }

  private broadcast (event: object): void {
    if (this.wss == null || this.wss.clients.size === 0) return
    const data = JSON.stringify(event)
    for (const client of this.wss.clients) {
      if (client.readyState !== client.OPEN) continue
      // A client that stopped reading would make the node buffer without bound.
      if (client.bufferedAmount > MAX_WS_BUFFERED_BYTES) {
        log('closing a WebSocket client that is %d bytes behind', client.bufferedAmount)
        client.terminate()
        continue
      }
      client.send(data)
    }
  }

  private async handle (req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://x')
    if (await this.gate.handle(req, url, res)) return
    // The UI's files are the same for everyone; what they show comes from /v1, which is guarded.
    if (req.method === 'GET' && !url.pathname.startsWith('/v1/')) {
      await serveUi(url.pathname, res, this.init.uiDir)
      return
    }
    this.gate.authorize(req)
    const match = findRoute(req.method ?? 'GET', url.pathname)
    if (match == null) {
      replyJson(res, 404, { error: { name: 'NotFound', message: `no endpoint ${req.method} ${url.pathname}` } })
      return
    }
    // A raw route reads the request itself (a file's bytes); the others take a JSON object.
    const body = req.method === 'POST' && match.route.raw !== true ? await readJson(req) : {}
    const result = await match.route.run(this.node, { params: match.params, query: url.searchParams, body, req })
    if (result instanceof StreamReply) await this.stream(res, result)
    else replyJson(res, match.route.status ?? 200, result)
  }

  private async stream (res: ServerResponse, reply: StreamReply): Promise<void> {
    const body = reply.body[Symbol.asyncIterator]()
    // The first piece before the headers: an error there is still answered as an error.
    const first = await body.next()
    res.writeHead(200, { ...reply.headers, 'cache-control': 'no-store' })
    try {
      for (let piece = first; piece.done !== true; piece = await body.next()) {
        if (!res.write(piece.value)) await new Promise(resolve => res.once('drain', resolve))
        if (res.destroyed) return
      }
      res.end()
    } catch (err) {
      log.error('stopped a download mid-way: %s', (err as Error).message)
      res.destroy(err as Error)
    } finally {
      await body.return?.(undefined)
    }
  }

  private fail (res: ServerResponse, err: Error): void {
    const status = statusOf(err)
    if (status >= 500) log.error('API request failed: %s', err.stack ?? err.message)
    replyJson(res, status, { error: { name: err.name, message: err.message } })
  }


}

function findRoute (method: string, path: string): { route: Route, params: string[] } | null {
  for (const route of routes) {
    if (route.method !== method) continue
    const m = route.path.exec(path)
    if (m != null) return { route, params: m.slice(1).map(decodeURIComponent) }
  }
  return null
}
