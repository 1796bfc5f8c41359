import { createHash } from 'node:crypto'
import { createReadStream, createWriteStream } from 'node:fs'
import { rename, rm, stat } from 'node:fs/promises'
import { basename, resolve } from 'node:path'
import { Transform } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { InvalidRequestError } from '../errors.js'
import { formatBytes } from '../format.js'
import type { HistoryEntry } from '../node-types.js'
import type { FileStatus } from '../files/index.js'
import { api, enc, intOption, str, type Command } from './shared.js'

/** Files in conversations (issue 4, item 4): send, fetch and list. Progress goes to stderr. */

/** How long `file get` waits while no member holding the file is reachable (default). */
const DEFAULT_WAIT_SECONDS = 120

/** Sizes in progress lines and listings, with one decimal. */
const bytes = (n: number): string => formatBytes(n, 1)

/** Progress on stderr: one line rewritten in a terminal, a line every few seconds otherwise. */
class Progress {
  private last = 0
  private lastLine = ''
  constructor (private readonly label: string) {}

  show (done: number, total: number, extra = '', force = false): void {
    const now = Date.now()
    const tty = process.stderr.isTTY
    if (!force && now - this.last < (tty ? 200 : 2_000)) return
    this.last = now
    const pct = total === 0 ? 100 : Math.floor(done / total * 100)
    const line = `${this.label}: ${pct}% (${bytes(done)} of ${bytes(total)})${extra}`
    if (line === this.lastLine) return
    this.lastLine = line
    process.stderr.write(tty ? `\r\x1b[K${line}` : `${line}\n`)
  }

  end (): void {
    if (process.stderr.isTTY && this.lastLine !== '') process.stderr.write('\n')
  }
}

function sourcesText (s: FileStatus): string {
  const active = (s.sources ?? []).filter(x => x.chunks > 0 || x.state === 'active')
  return s.state === 'waiting' ? ', waiting for a member who holds it' : active.length > 0 ? ` from ${active.length} ${active.length === 1 ? 'source' : 'sources'}` : ''
}

export const fileCommands: Record<string, Command> = {
  'file send': {
    usage: 'file send GROUP PATH [--text CAPTION] [--reply-to ID]',
    summary: 'send a file into a group or direct message (prints progress, then the message and file ids)',
    options: ['text', 'reply-to'],
    args: 2,
    run: async ({ args, values, dataDir }) => {
      const [groupId, path] = args
      const info = await stat(path).catch(() => null)
      if (info == null || !info.isFile()) throw new InvalidRequestError(`${path} is not a file this command can read`)
      const client = await api(dataDir)
      const { maxFileBytes } = await client.get<{ maxFileBytes: number }>('/v1/status')
      const name = basename(path)
      if (info.size > maxFileBytes) throw new InvalidRequestError(`${name} is ${bytes(info.size)}; the node sends files up to ${bytes(maxFileBytes)} (outpost start --max-file-size)`)
      const progress = new Progress(`sending ${name}`)
      let sent = 0
      const counter = new Transform({
        transform (chunk: Buffer, _enc, done) {
          sent += chunk.length
          progress.show(sent, info.size)
          done(null, chunk)
        }
      })
      const query = new URLSearchParams({ name })
      if (str(values.text) != null) query.set('text', str(values.text) as string)
      if (str(values['reply-to']) != null) query.set('replyTo', str(values['reply-to']) as string)
      const r = await client.upload<{ messageId: string, fileId: string, message: HistoryEntry }>(
        `/v1/groups/${enc(groupId)}/files?${query.toString()}`,
        createReadStream(path).pipe(counter),
        { 'content-type': 'application/octet-stream', 'content-length': info.size })
      progress.show(info.size, info.size, '', true)
      progress.end()
      return { json: { messageId: r.messageId, fileId: r.fileId }, text: `${r.messageId} (file ${r.fileId})` }
    }
  },
  'file get': {
    usage: 'file get FILE_ID --out PATH [--wait SECONDS]',
    summary: 'fetch a file named in a message from the members who hold it, check it, and write it to PATH',
    options: ['out', 'wait'],
    args: 1,
    run: async ({ args, values, dataDir }) => {
      const fileId = args[0]
      const out = str(values.out)
      if (out == null) throw new InvalidRequestError('--out PATH is required: where to write the file')
      const waitMs = (intOption(values.wait, 'wait') ?? DEFAULT_WAIT_SECONDS) * 1000
      const client = await api(dataDir)
      let status = await client.post<FileStatus>(`/v1/files/${enc(fileId)}/fetch`, {})
      const progress = new Progress(`fetching ${status.name}`)
      let waitingSince: number | null = null
      while (status.state !== 'complete') {
        if (status.state === 'failed') throw new InvalidRequestError(`cannot fetch ${status.name}: ${status.error ?? 'failed'}`)
        waitingSince = status.state === 'waiting' ? waitingSince ?? Date.now() : null
        if (waitingSince != null && Date.now() - waitingSince > waitMs) {
          progress.end()
          throw new InvalidRequestError(`no member who holds ${status.name} has been reachable for ${waitMs / 1000} s; the node keeps trying, run this again later`)
        }
        progress.show(status.bytes.held, status.size, sourcesText(status))
        await new Promise(resolve => setTimeout(resolve, 200))
        status = await client.get<FileStatus>(`/v1/files/${enc(fileId)}`)
        // A download that stopped (the node restarted meanwhile) is started again.
        if (status.state === 'partial' || status.state === 'remote') status = await client.post<FileStatus>(`/v1/files/${enc(fileId)}/fetch`, {})
      }
      progress.show(status.size, status.size, '', true)
      progress.end()
      // Written aside and renamed, and checked once more on the way: PATH is whole or absent.
      const target = resolve(out)
      const partial = `${target}.part`
      const hash = createHash('sha256')
      try {
        const res = await client.download(`/v1/files/${enc(fileId)}/content`)
        await pipeline(res, new Transform({ transform (chunk: Buffer, _enc, done) { hash.update(chunk); done(null, chunk) } }), createWriteStream(partial))
        const digest = hash.digest('hex')
        if (digest !== status.sha256) throw new InvalidRequestError(`the bytes read back do not match the file's SHA-256 (${digest}); nothing was written`)
        await rename(partial, target)
      } catch (err) {
        await rm(partial, { force: true })
        throw err
      }
      return {
        json: { fileId, path: target, name: status.name, size: status.size, sha256: status.sha256 },
        text: `${status.name} (${bytes(status.size)}) written to ${target}`
      }
    }
  },
  'file list': {
    usage: 'file list [--group G]',
    summary: 'list the files named in messages, and how much of each this node holds',
    options: ['group'],
    args: 0,
    run: async ({ values, dataDir }) => {
      const group = str(values.group)
      const files = await (await api(dataDir)).get<FileStatus[]>(`/v1/files${group != null ? `?group=${enc(group)}` : ''}`)
      const text = files.length === 0
        ? 'no files'
        : files.map(f => `${f.fileId}  ${f.name}  ${bytes(f.size)}  ${f.state}${f.state !== 'complete' && f.bytes.held > 0 ? ` (${Math.floor(f.bytes.held / Math.max(1, f.size) * 100)}%)` : ''}`).join('\n')
      return { json: files, text }
    }
  }
}
