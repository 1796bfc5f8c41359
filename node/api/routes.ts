import type { IncomingMessage } from 'node:http'
import { InvalidRequestError } from '../errors.js'
import { isExportFormat } from '../export.js'
import type { InviteOptions, OutpostNode } from '../outpost-node.js'

export interface RouteContext {
  params: string[]
  query: URLSearchParams
  body: Record<string, unknown>
  /** the request itself, for raw routes (their body is not read as JSON) */
  req: IncomingMessage
}

export interface Route {
  method: 'GET' | 'POST'
  path: RegExp
  status?: number
  /** the route reads the request body itself */
  raw?: boolean
  run: (node: OutpostNode, ctx: RouteContext) => unknown
}

/** An answer that is not JSON: bytes streamed with their own headers (a file). */
export class StreamReply {
  constructor (readonly headers: Record<string, string | number>, readonly body: AsyncIterable<Uint8Array>) {}
}

const FILE = '([0-9a-f]{64})'

/** Content-Disposition for a name that may hold any character (RFC 6266, RFC 5987). */
function attachment (name: string): string {
  const ascii = name.replace(/[^\x20-\x7e]|["\\%]/g, '_')
  return `attachment; filename="${ascii}"; filename*=UTF-8''${encodeURIComponent(name)}`
}

const GROUP = '([^/]+)'

function stringField (body: Record<string, unknown>, field: string): string {
  const value = body[field]
  if (typeof value !== 'string') throw new InvalidRequestError(`field '${field}' (a string) is required`)
  return value
}

function optionalInt (query: URLSearchParams, name: string): number | undefined {
  const raw = query.get(name)
  if (raw == null) return undefined
  const n = Number(raw)
  if (!Number.isSafeInteger(n) || n < 0) throw new InvalidRequestError(`${name} must be a non-negative integer`)
  return n
}

/** The lab's faults for this node (POST /v1/lab/faults), checked field by field. */
function labFaults (node: OutpostNode, body: Record<string, unknown>): object {
  const faults = node.gossip.faults
  if (faults == null) throw new InvalidRequestError('this node takes no faults: start it with --lab (the mesh lab does)')
  const number = (field: string, fallback: number | null): number | null => {
    const value = body[field] ?? fallback
    if (value !== null && (typeof value !== 'number' || !Number.isFinite(value))) throw new InvalidRequestError(`field '${field}' must be a number`)
    return value
  }
  if (body.syncHalted !== undefined) {
    if (typeof body.syncHalted !== 'boolean') throw new InvalidRequestError("field 'syncHalted' must be true or false")
    node.sync.halted = body.syncHalted
  }
  try {
    return faults.set({ delayMs: number('delayMs', 0) ?? 0, loss: number('loss', 0) ?? 0, bitsPerSecond: number('bitsPerSecond', null), seed: number('seed', 1) ?? 1 })
  } catch (err) {
    throw new InvalidRequestError((err as Error).message)
  }
}

function optionalBool (query: URLSearchParams, name: string): boolean | undefined {
  const raw = query.get(name)
  if (raw == null) return undefined
  if (raw !== 'true' && raw !== 'false') throw new InvalidRequestError(`${name} must be true or false`)
  return raw === 'true'
}

function messageIdParam (query: URLSearchParams, name: string): string | undefined {
  const raw = query.get(name)
  if (raw == null) return undefined
  if (!/^[0-9a-f]{24}$/.test(raw)) throw new InvalidRequestError(`${name} must be a message id (24 hex digits)`)
  return raw
}

/** The local API's endpoints; documented in README.md. */
export const routes: Route[] = [
  {
    method: 'GET',
    path: /^\/v1\/status$/,
    run: node => ({
      peerId: node.peerId,
      name: node.name,
      named: node.named,
      addrs: node.addrs,
      groups: node.listGroups().length,
      connectedPeers: node.peers().filter(p => p.connected).length,
      maxFileBytes: node.files.maxFileBytes,
      // Counters since start, for people and the mesh lab watching what the node moves.
      stats: { gossip: node.gossip.stats, sync: node.sync.stats }
    })
  },
  { method: 'POST', path: /^\/v1\/lab\/faults$/, run: (node, { body }) => labFaults(node, body) },
  {
    method: 'POST',
    path: new RegExp(`^/v1/groups/${GROUP}/files$`),
    status: 201,
    raw: true,
    run: async (node, { params, query, req }) => {
      const name = query.get('name')
      if (name == null) throw new InvalidRequestError("query parameter 'name' (the file's name) is required")
      const length = req.headers['content-length']
      const { message, fileId } = await node.sendFile(params[0], req, {
        name,
        mime: req.headers['content-type'],
        size: length != null ? Number(length) : undefined,
        text: query.get('text') ?? undefined,
        replyTo: query.get('replyTo') ?? undefined
      })
      return { messageId: message.id, fileId, message }
    }
  },
  { method: 'GET', path: /^\/v1\/files$/, run: (node, { query }) => node.files.list(query.get('group') ?? undefined) },
  { method: 'GET', path: new RegExp(`^/v1/files/${FILE}$`), run: (node, { params }) => node.files.status(params[0]) },
  { method: 'POST', path: new RegExp(`^/v1/files/${FILE}/fetch$`), run: (node, { params }) => node.files.fetch(params[0]) },
  {
    method: 'GET',
    path: new RegExp(`^/v1/files/${FILE}/content$`),
    run: (node, { params }) => {
      const { file, chunks } = node.files.content(params[0])
      return new StreamReply({ 'content-type': file.mime, 'content-length': file.size, 'content-disposition': attachment(file.name) }, chunks)
    }
  },
  {
    method: 'GET',
    path: new RegExp(`^/v1/files/${FILE}/thumbnail$`),
    run: (node, { params }) => {
      const { mime, data } = node.files.thumbnail(params[0])
      return new StreamReply({ 'content-type': mime, 'content-length': data.length }, (async function * () { yield data })())
    }
  },
  { method: 'GET', path: /^\/v1\/groups$/, run: node => node.listGroups() },
  {
    method: 'POST',
    path: /^\/v1\/groups$/,
    status: 201,
    run: async (node, { body }) => {
      if (body.auditDeletes != null && typeof body.auditDeletes !== 'boolean') throw new InvalidRequestError("field 'auditDeletes' must be true or false")
      return await node.createGroup(stringField(body, 'name'), { auditDeletes: body.auditDeletes === true })
    }
  },
  { method: 'POST', path: new RegExp(`^/v1/groups/${GROUP}/rotate$`), run: async (node, { params }) => await node.rotateKey(params[0]) },
  {
    method: 'POST',
    path: new RegExp(`^/v1/groups/${GROUP}/retention$`),
    run: async (node, { params, body }) => {
      if (typeof body.seconds !== 'number') throw new InvalidRequestError("field 'seconds' (a number, 0 for forever) is required")
      return await node.setRetention(params[0], body.seconds)
    }
  },
  { method: 'POST', path: /^\/v1\/groups\/join$/, run: async (node, { body }) => await node.joinGroup(stringField(body, 'invite')) },
  {
    method: 'GET',
    path: new RegExp(`^/v1/groups/${GROUP}/invite$`),
    run: (node, { params, query }) => ({
      invite: node.invite(params[0], {
        role: (query.get('role') ?? undefined) as InviteOptions['role'],
        ttlMs: optionalInt(query, 'ttlMs'),
        for: query.get('for') ?? undefined
      })
    })
  },
  { method: 'GET', path: new RegExp(`^/v1/groups/${GROUP}/members$`), run: (node, { params }) => node.members(params[0]) },
  {
    method: 'POST',
    path: new RegExp(`^/v1/groups/${GROUP}/members/([^/]+)/remove$`),
    run: async (node, { params }) => await node.removeMember(params[0], params[1])
  },
  {
    method: 'POST',
    path: new RegExp(`^/v1/groups/${GROUP}/members/([^/]+)/role$`),
    run: async (node, { params, body }) => await node.setRole(params[0], params[1], stringField(body, 'role'))
  },
  { method: 'GET', path: new RegExp(`^/v1/groups/${GROUP}/audit$`), run: (node, { params }) => ({ lines: node.auditExport(params[0]) }) },
  {
    method: 'GET',
    path: new RegExp(`^/v1/groups/${GROUP}/messages$`),
    run: (node, { params, query }) => node.history(params[0], {
      limit: optionalInt(query, 'limit'),
      before: messageIdParam(query, 'before'),
      after: messageIdParam(query, 'after'),
      around: messageIdParam(query, 'around')
    })
  },
  {
    method: 'POST',
    path: new RegExp(`^/v1/groups/${GROUP}/messages$`),
    status: 201,
    run: async (node, { params, body }) => {
      const replyTo = body.replyTo
      if (replyTo != null && typeof replyTo !== 'string') throw new InvalidRequestError("field 'replyTo' must be a message id")
      const message = await node.send(params[0], stringField(body, 'text'), { replyTo: replyTo ?? undefined })
      return { messageId: message.id, message }
    }
  },
  {
    method: 'POST',
    path: new RegExp(`^/v1/groups/${GROUP}/messages/([0-9a-f]{24})/edit$`),
    run: async (node, { params, body }) => await node.edit(params[0], params[1], stringField(body, 'text'))
  },
  {
    method: 'POST',
    path: new RegExp(`^/v1/groups/${GROUP}/messages/([0-9a-f]{24})/react$`),
    run: async (node, { params, body }) => await node.react(params[0], params[1], stringField(body, 'emoji'))
  },
  {
    method: 'POST',
    path: new RegExp(`^/v1/groups/${GROUP}/messages/([0-9a-f]{24})/pin$`),
    run: async (node, { params, body }) => {
      if (body.on != null && typeof body.on !== 'boolean') throw new InvalidRequestError("field 'on' must be true or false")
      return await node.pin(params[0], params[1], body.on as boolean | undefined)
    }
  },
  { method: 'GET', path: new RegExp(`^/v1/groups/${GROUP}/messages/([0-9a-f]{24})/thread$`), run: (node, { params }) => node.thread(params[0], params[1]) },
  { method: 'GET', path: new RegExp(`^/v1/groups/${GROUP}/pins$`), run: (node, { params }) => node.pins(params[0]) },
  {
    method: 'GET',
    path: new RegExp(`^/v1/groups/${GROUP}/export$`),
    run: (node, { params, query }) => {
      const format = query.get('format') ?? 'json'
      if (!isExportFormat(format)) throw new InvalidRequestError("format must be 'json' or 'html'")
      const files = query.get('files') ?? undefined
      if (files != null && !/^[\p{L}\p{N}._ -]{1,128}$/u.test(files)) throw new InvalidRequestError("files must be a plain folder name (the export's files go there, beside it)")
      return { format, content: node.exportGroup(params[0], format, files) }
    }
  },
  { method: 'GET', path: new RegExp(`^/v1/groups/${GROUP}/presence$`), run: (node, { params }) => node.presence(params[0]) },
  { method: 'POST', path: new RegExp(`^/v1/groups/${GROUP}/typing$`), run: (node, { params }) => { node.typing(params[0]); return { ok: true } } },
  {
    method: 'POST',
    path: /^\/v1\/presence$/,
    run: (node, { body }) => {
      if (body.state !== 'online' && body.state !== 'away') throw new InvalidRequestError("field 'state' must be 'online' or 'away'")
      node.setAway(body.state === 'away')
      return { state: body.state }
    }
  },
  {
    method: 'POST',
    path: new RegExp(`^/v1/groups/${GROUP}/read$`),
    run: async (node, { params, body }) => {
      if (body.upTo != null && typeof body.upTo !== 'string') throw new InvalidRequestError("field 'upTo' must be a message id")
      return await node.markRead(params[0], body.upTo as string | undefined)
    }
  },
  { method: 'GET', path: new RegExp(`^/v1/groups/${GROUP}/receipts$`), run: (node, { params }) => node.receipts(params[0]) },
  {
    method: 'POST',
    path: new RegExp(`^/v1/groups/${GROUP}/messages/([0-9a-f]{24})/delete$`),
    run: async (node, { params }) => await node.deleteMessage(params[0], params[1])
  },
  {
    method: 'GET',
    path: /^\/v1\/search$/,
    run: async (node, { query }) => await node.search(query.get('q') ?? '', {
      group: query.get('group') ?? undefined,
      from: query.get('from') ?? undefined,
      since: optionalInt(query, 'since'),
      until: optionalInt(query, 'until'),
      hasFile: optionalBool(query, 'hasFile'),
      limit: optionalInt(query, 'limit')
    })
  },
  {
    method: 'POST',
    path: /^\/v1\/dm$/,
    status: 201,
    run: async (node, { body }) => {
      const { groupId, message } = await node.dm(stringField(body, 'peer'), stringField(body, 'text'))
      return { groupId, messageId: message.id, message }
    }
  },
  { method: 'GET', path: /^\/v1\/peers$/, run: node => node.peers() },
  { method: 'POST', path: /^\/v1\/profile$/, run: async (node, { body }) => await node.setName(stringField(body, 'name')) },
  { method: 'GET', path: /^\/v1\/network$/, run: node => node.network() },
  { method: 'GET', path: /^\/v1\/peers\/([^/]+)$/, run: (node, { params }) => node.whois(params[0]) }
]
