import { request as httpRequest, type IncomingMessage } from 'node:http'
import type { Readable } from 'node:stream'
import type { DataDir } from '../data-dir.js'
import { NodeNotRunningError } from '../errors.js'
import { parseApiReply } from '../api/json.js'

export { ApiError } from '../api/json.js'

/** Talks to the node running on a data directory through its local API. */
export class ApiClient {
  private constructor (readonly url: string, private readonly token: string) {}

  static async forDataDir (dataDir: DataDir): Promise<ApiClient> {
    const info = await dataDir.readApiInfo()
    const notRunning = new NodeNotRunningError(`no node is running on ${dataDir.path}; start one with 'outpost start --data ${dataDir.path}'`)
    if (info == null) throw notRunning
    const token = await dataDir.readToken().catch(() => null)
    if (token == null) throw notRunning
    const client = new ApiClient(info.url, token)
    client.notRunning = notRunning
    return client
  }

  private notRunning: Error = new NodeNotRunningError('no node is running')

  async get<T> (path: string): Promise<T> {
    return await this.request<T>('GET', path)
  }

  async post<T> (path: string, body: object): Promise<T> {
    return await this.request<T>('POST', path, body)
  }

  /**
   * POSTs a stream of bytes (a file) of known length; answers the JSON reply. Plain node:http,
   * so that a large body streams with backpressure.
   */
  async upload<T> (path: string, body: Readable, headers: Record<string, string | number>): Promise<T> {
    const res = await new Promise<IncomingMessage>((resolve, reject) => {
      const req = httpRequest(this.url + path, { method: 'POST', headers: { authorization: `Bearer ${this.token}`, ...headers } }, resolve)
      req.on('error', err => { reject((err as NodeJS.ErrnoException).code === 'ECONNREFUSED' ? this.notRunning : err) })
      body.on('error', err => { req.destroy(err) })
      body.pipe(req)
    })
    const chunks: Buffer[] = []
    for await (const chunk of res) chunks.push(chunk as Buffer)
    return this.parse<T>(res.statusCode ?? 0, Buffer.concat(chunks).toString('utf8'))
  }

  /** GETs bytes (a file): the response to read from, or the API's error. */
  async download (path: string): Promise<IncomingMessage> {
    const res = await new Promise<IncomingMessage>((resolve, reject) => {
      const req = httpRequest(this.url + path, { headers: { authorization: `Bearer ${this.token}` } }, resolve)
      req.on('error', err => { reject((err as NodeJS.ErrnoException).code === 'ECONNREFUSED' ? this.notRunning : err) })
      req.end()
    })
    if (res.statusCode === 200) return res
    const chunks: Buffer[] = []
    for await (const chunk of res) chunks.push(chunk as Buffer)
    return this.parse<never>(res.statusCode ?? 0, Buffer.concat(chunks).toString('utf8'))
  }

  private async request<T> (method: string, path: string, body?: object): Promise<T> {
    let res: Response
    try {
      res = await fetch(this.url + path, {
        method,
        headers: { authorization: `Bearer ${this.token}`, ...(body != null ? { 'content-type': 'application/json' } : {}) },
        body: body != null ? JSON.stringify(body) : undefined,
        signal: AbortSignal.timeout(60_000)
      })
    } catch {
      // api.json left behind by a node that was killed: nothing listens there any more.
      throw this.notRunning
    }
    return this.parse<T>(res.status, await res.text())
  }

  private parse<T> (status: number, text: string): T {
    return parseApiReply<T>(status, text)
  }
}
