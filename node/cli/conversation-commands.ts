import type { HistoryEntry } from '../outpost-node.js'
import { createWriteStream } from 'node:fs'
import { mkdir, rename, writeFile } from 'node:fs/promises'
import { basename, dirname, join, resolve } from 'node:path'
import { pipeline } from 'node:stream/promises'
import { InvalidRequestError } from '../errors.js'
import { exportedFilePath } from '../export.js'
import type { FileStatus } from '../files/index.js'
import type { ApiClient } from './client.js'
import { api, enc, intOption, str, time, type Command } from './shared.js'

/** The daily gestures on messages: reactions, pins, threads (issue: conversations). */

/** One message as a line: time, author, text, and what happened to it. */
export function messageLine (m: HistoryEntry): string {
  const marks = [
    m.pinned ? 'pinned' : '',
    m.edits > 0 ? 'edited' : '',
    m.deleted ? 'deleted' : '',
    m.replies > 0 ? `${m.replies} ${m.replies === 1 ? 'reply' : 'replies'}` : '',
    ...Object.entries(m.reactions).map(([emoji, by]) => `${emoji} ${by.length}`)
  ].filter(x => x !== '')
  const file = m.file != null ? `${m.text !== '' ? ' ' : ''}[file ${m.file.name}, ${m.file.size} bytes, id ${m.file.id}]` : ''
  return `[${time(m.ts)}] ${m.authorName}: ${m.deleted ? '(deleted)' : m.text + file}${marks.length > 0 ? `  (${marks.join(', ')})` : ''}`
}

export const conversationCommands: Record<string, Command> = {
  dm: {
    usage: 'dm PEER TEXT',
    summary: 'send a direct message to a peer (id or name); only the two of you can read it',
    options: [],
    args: 2,
    run: async ({ args, dataDir }) => {
      const r = await (await api(dataDir)).post<{ groupId: string, messageId: string }>('/v1/dm', { peer: args[0], text: args[1] })
      return { json: { groupId: r.groupId, messageId: r.messageId }, text: `${r.messageId} (direct messages: group ${r.groupId})` }
    }
  },
  react: {
    usage: 'react GROUP ID EMOJI',
    summary: 'add your reaction to a message, or take it back if you had it',
    options: [],
    args: 3,
    run: async ({ args, dataDir }) => {
      const m = await (await api(dataDir)).post<HistoryEntry>(`/v1/groups/${enc(args[0])}/messages/${enc(args[1])}/react`, { emoji: args[2] })
      return { json: { messageId: m.id, reactions: m.reactions }, text: messageLine(m) }
    }
  },
  pin: {
    usage: 'pin GROUP ID',
    summary: 'pin a message for the group, or unpin it if it is pinned',
    options: [],
    args: 2,
    run: async ({ args, dataDir }) => {
      const m = await (await api(dataDir)).post<HistoryEntry>(`/v1/groups/${enc(args[0])}/messages/${enc(args[1])}/pin`, {})
      return { json: { messageId: m.id, pinned: m.pinned }, text: `${m.id} ${m.pinned ? 'pinned' : 'unpinned'}` }
    }
  },
  pins: {
    usage: 'pins GROUP',
    summary: 'list the group\'s pinned messages',
    options: [],
    args: 1,
    run: async ({ args, dataDir }) => {
      const pinned = await (await api(dataDir)).get<HistoryEntry[]>(`/v1/groups/${enc(args[0])}/pins`)
      return { json: pinned, text: pinned.length === 0 ? 'nothing pinned' : pinned.map(messageLine).join('\n') }
    }
  },
  read: {
    usage: 'read GROUP [ID]',
    summary: 'mark a group read up to a message (default: the latest); shows who read how far',
    options: [],
    args: 1,
    maxArgs: 2,
    run: async ({ args, dataDir }) => {
      const client = await api(dataDir)
      const r = await client.post<{ groupId: string, upTo: string | null, unread: number }>(`/v1/groups/${enc(args[0])}/read`, args[1] != null ? { upTo: args[1] } : {})
      const receipts = await client.get<Array<{ peerId: string, name?: string, upTo: string, ts: number }>>(`/v1/groups/${enc(args[0])}/receipts`)
      return {
        json: { ...r, receipts },
        text: [`read up to ${r.upTo ?? '(nothing yet)'}; ${r.unread} unread`, ...receipts.map(x => `  ${x.name ?? x.peerId} has read up to ${x.upTo} (${time(x.ts)})`)].join('\n')
      }
    }
  },
  export: {
    usage: 'export GROUP --format json|html --out PATH [--no-files]',
    summary: 'write the group\'s history (with its members, and its files in a folder beside it) as JSON or one HTML page, readable without Outpost',
    options: ['format', 'out', 'no-files', 'wait'],
    args: 1,
    run: async ({ args, values, dataDir }) => {
      const format = str(values.format) ?? 'json'
      const out = str(values.out)
      if (format !== 'json' && format !== 'html') throw new InvalidRequestError("--format takes 'json' or 'html'")
      if (out == null) throw new InvalidRequestError('--out PATH is required: where to write the export')
      const client = await api(dataDir)
      const target = resolve(out)
      // The files go to "<name>-files" beside the export; missing ones are fetched first.
      const filesDir = values['no-files'] === true ? undefined : `${basename(target).replace(/\.[^.]*$/, '')}-files`
      const files = filesDir == null ? [] : await exportFiles(client, args[0], join(dirname(target), filesDir), (intOption(values.wait, 'wait') ?? 60) * 1000)
      const query = new URLSearchParams({ format, ...(filesDir != null ? { files: filesDir } : {}) })
      const r = await client.get<{ content: string }>(`/v1/groups/${enc(args[0])}/export?${query.toString()}`)
      await writeFile(target, r.content)
      const missing = files.filter(f => !f.written).length
      return {
        json: { file: target, format, bytes: Buffer.byteLength(r.content), files: files.length - missing, missingFiles: missing, ...(filesDir != null ? { filesDir: join(dirname(target), filesDir) } : {}) },
        text: `written to ${target} (${format})${files.length > 0 ? `, ${files.length - missing} files in ${filesDir ?? ''}` : ''}${missing > 0 ? `; ${missing} files could not be fetched and are marked as missing` : ''}`
      }
    }
  },
  thread: {
    usage: 'thread GROUP ID',
    summary: 'show a message and its replies, oldest first',
    options: [],
    args: 2,
    run: async ({ args, dataDir }) => {
      const thread = await (await api(dataDir)).get<HistoryEntry[]>(`/v1/groups/${enc(args[0])}/messages/${enc(args[1])}/thread`)
      return { json: thread, text: thread.map((m, i) => `${i === 0 ? '' : '  ↳ '}${messageLine(m)}`).join('\n') }
    }
  }
}

/**
 * Fetches the group's files this node lacks (waiting up to `waitMs` while no holder is in
 * reach) and writes every file it holds into `dir`, named as the export names them.
 */
async function exportFiles (client: ApiClient, groupId: string, dir: string, waitMs: number): Promise<Array<{ fileId: string, written: boolean }>> {
  let files = await client.get<FileStatus[]>(`/v1/files?group=${enc(groupId)}`)
  for (const f of files) if (f.state !== 'complete') await client.post(`/v1/files/${f.fileId}/fetch`, {}).catch(() => {})
  const deadline = Date.now() + waitMs
  while (files.some(f => f.state !== 'complete' && f.state !== 'failed') && Date.now() < deadline) {
    const fetching = files.filter(f => f.state !== 'complete')
    process.stderr.write(`fetching ${fetching.length} of ${files.length} files for the export...\n`)
    await new Promise(resolve => setTimeout(resolve, 1_000))
    files = await client.get<FileStatus[]>(`/v1/files?group=${enc(groupId)}`)
  }
  if (files.length > 0) await mkdir(dir, { recursive: true })
  const result: Array<{ fileId: string, written: boolean }> = []
  for (const f of files) {
    if (f.state !== 'complete') {
      result.push({ fileId: f.fileId, written: false })
      continue
    }
    // The same name the node's export gives it.
    const path = exportedFilePath(dir, { id: f.fileId, name: f.name })
    await pipeline(await client.download(`/v1/files/${f.fileId}/content`), createWriteStream(`${path}.part`))
    await rename(`${path}.part`, path)
    result.push({ fileId: f.fileId, written: true })
  }
  return result
}
