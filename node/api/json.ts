import type { IncomingMessage, ServerResponse } from 'node:http'
import { MAX_API_BODY_BYTES } from '../constants.js'
import { InvalidRequestError, PayloadTooLargeError } from '../errors.js'

/** Answers with `body` as JSON (never cached); nothing when an answer has begun already. */
export function replyJson (res: ServerResponse, status: number, body: unknown): void {
  if (res.headersSent) return
  const data = JSON.stringify(body)
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(data), 'cache-control': 'no-store' })
  res.end(data)
}

/** A request's body as a JSON object ({} when empty); InvalidRequestError or PayloadTooLargeError otherwise. */
export async function readJson (req: IncomingMessage): Promise<Record<string, unknown>> {
  const chunks: Buffer[] = []
  let size = 0
  for await (const chunk of req) {
    size += (chunk as Buffer).length
    // Past the limit, read on (discarding) so the client gets the answer rather than a
    // reset connection, up to a bound beyond which the connection is cut.
    if (size <= MAX_API_BODY_BYTES) chunks.push(chunk as Buffer)
    else if (size > 16 * MAX_API_BODY_BYTES) break
  }
  if (size > MAX_API_BODY_BYTES) throw new PayloadTooLargeError(`request body over ${MAX_API_BODY_BYTES} bytes`)
  if (size === 0) return {}
  try {
    const value = JSON.parse(Buffer.concat(chunks).toString('utf8'))
    if (value == null || typeof value !== 'object' || Array.isArray(value)) throw new Error('not an object')
    return value as Record<string, unknown>
  } catch {
    throw new InvalidRequestError('the request body must be a JSON object')
  }
}

/** An error the API answered with; keeps the server's error name. */
export class ApiError extends Error {
  constructor (override readonly name: string, message: string, readonly status: number) {
    super(message)
  }
}

/** What a client makes of the API's answer: the JSON value, or the ApiError it describes. */
export function parseApiReply<T> (status: number, text: string): T {
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch {
    throw new ApiError('BadResponse', `the node answered ${status} with something that is not JSON`, status)
  }
  if (status < 200 || status > 299) {
    const error = (value as { error?: { name?: string, message?: string } }).error
    throw new ApiError(error?.name ?? 'ApiError', error?.message ?? `the node answered ${status}`, status)
  }
  return value as T
}
