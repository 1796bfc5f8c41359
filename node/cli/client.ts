import type { DataDir } from '../data-dir.js'
import { NodeNotRunningError } from '../errors.js'

/** An error the API answered with; keeps the server's error name. */
export class ApiError extends Error {
  constructor (override readonly name: string, message: string, readonly status: number) {
    super(message)
  }
}

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
    const text = await res.text()
    let value: unknown
    try {
      value = JSON.parse(text)
    } catch {
      throw new ApiError('BadResponse', `the node answered ${res.status} with something that is not JSON`, res.status)
    }
    if (!res.ok) {
      const error = (value as { error?: { name?: string, message?: string } }).error
      throw new ApiError(error?.name ?? 'ApiError', error?.message ?? `the node answered ${res.status}`, res.status)
    }
    return value as T
  }
}
