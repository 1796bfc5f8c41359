/**
 * The lab's line to one node's local API: over its Unix socket (a node in another network
 * namespace) or loopback TCP (in-process nodes). Keep-alive, so a load of hundreds of
 * messages a second does not open a connection each.
 */
import { Agent, request } from 'node:http'
import WebSocket from 'ws'
import { parseApiReply } from '../api/json.js'

export type Endpoint = { socketPath: string } | { url: string }

export class NodeClient {
  private readonly agent = new Agent({ keepAlive: true, maxSockets: 16 })

  constructor (readonly endpoint: Endpoint, private readonly token: string) {}

  async get<T> (path: string, timeoutMs = 10_000): Promise<T> {
    return await this.request<T>('GET', path, undefined, timeoutMs)
  }

  async post<T> (path: string, body: object, timeoutMs = 10_000): Promise<T> {
    return await this.request<T>('POST', path, body, timeoutMs)
  }

  private async request<T> (method: string, path: string, body: object | undefined, timeoutMs: number): Promise<T> {
    try {
      return await this.once<T>(method, path, body, timeoutMs)
    } catch (err) {
      // The node closed an idle kept-alive connection just as this request went out on it:
      // the request never reached the node, so it is safe to send again (Node's own advice).
      if ((err as { reusedSocket?: boolean }).reusedSocket !== true) throw err
      return await this.once<T>(method, path, body, timeoutMs)
    }
  }

  private async once<T> (method: string, path: string, body: object | undefined, timeoutMs: number): Promise<T> {
    const data = body == null ? undefined : JSON.stringify(body)
    const where = 'socketPath' in this.endpoint ? { socketPath: this.endpoint.socketPath } : new URL(this.endpoint.url)
    const options = {
      ...('socketPath' in where ? where : { host: where.hostname, port: where.port }),
      path,
      method,
      agent: this.agent,
      timeout: timeoutMs,
      headers: { authorization: `Bearer ${this.token}`, ...(data != null ? { 'content-type': 'application/json', 'content-length': Buffer.byteLength(data) } : {}) }
    }
    return await new Promise<T>((resolve, reject) => {
      const req = request(options, res => {
        const chunks: Buffer[] = []
        res.on('data', (c: Buffer) => chunks.push(c))
        res.on('error', reject)
        res.on('end', () => {
          try {
            resolve(parseApiReply<T>(res.statusCode ?? 0, Buffer.concat(chunks).toString('utf8')))
          } catch (err) {
            // Which call failed matters in a lab report; the error keeps the node's name for it.
            reject(Object.assign(err as Error, { message: `${method} ${path}: ${(err as Error).message}` }))
          }
        })
      })
      req.on('timeout', () => { req.destroy(new Error(`${method} ${path}: no answer in ${timeoutMs} ms`)) })
      req.on('error', err => {
        reject(Object.assign(err, { reusedSocket: req.reusedSocket && (err as NodeJS.ErrnoException).code === 'ECONNRESET' }))
      })
      req.end(data)
    })
  }

  /** The node's event stream; `onEvent` gets each parsed event. */
  events (onEvent: (event: { type: string, [k: string]: unknown }) => void): WebSocket {
    const url = 'socketPath' in this.endpoint ? `ws+unix://${this.endpoint.socketPath}:/v1/events` : `${this.endpoint.url.replace(/^http/, 'ws')}/v1/events`
    const ws = new WebSocket(url, { headers: { authorization: `Bearer ${this.token}` } })
    ws.on('message', data => {
      try { onEvent(JSON.parse(String(data))) } catch {}
    })
    return ws
  }

  close (): void {
    this.agent.destroy()
  }
}
