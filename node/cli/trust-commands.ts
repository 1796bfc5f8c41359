import { readFile, writeFile } from 'node:fs/promises'
import { InvalidRequestError } from '../errors.js'
import type { HistoryEntry, MemberSummary } from '../outpost-node.js'
import { api, durationMs, enc, str, time, type Command } from './shared.js'

/** Membership, roles and the audit trail (issue: trust). */

function membersText (members: MemberSummary[]): string {
  return members.map(m => `${m.role.padEnd(9)} ${(m.name ?? '?').padEnd(16)} ${m.peerId}  ${m.self ? 'this node' : m.connected ? 'connected' : 'not connected'}  since ${time(m.since)}\n          safety number ${m.safetyNumber}`).join('\n')
}

/** Whether an audit check failed, so the command can exit non-zero after printing. */
export class AuditBrokenError extends Error {
  static readonly NAME = 'AuditBrokenError'
  override name = AuditBrokenError.NAME
}

export const trustCommands: Record<string, Command> = {
  'group members': {
    usage: 'group members GROUP',
    summary: 'list a group\'s members with their roles and safety numbers',
    options: [],
    args: 1,
    run: async ({ args, dataDir }) => {
      const members = await (await api(dataDir)).get<MemberSummary[]>(`/v1/groups/${enc(args[0])}/members`)
      return { json: members, text: membersText(members) }
    }
  },
  'group remove': {
    usage: 'group remove GROUP PEER',
    summary: 'remove a member (owner or admin); the group key is rotated so they read nothing newer',
    options: [],
    args: 2,
    run: async ({ args, dataDir }) => {
      const members = await (await api(dataDir)).post<MemberSummary[]>(`/v1/groups/${enc(args[0])}/members/${enc(args[1])}/remove`, {})
      return { json: members, text: `removed ${args[1]}; the group key was rotated\n${membersText(members)}` }
    }
  },
  'group role': {
    usage: 'group role GROUP PEER ROLE',
    summary: 'make a member admin, member or read-only (owner or admin; admins only by the owner)',
    options: [],
    args: 3,
    run: async ({ args, dataDir }) => {
      const members = await (await api(dataDir)).post<MemberSummary[]>(`/v1/groups/${enc(args[0])}/members/${enc(args[1])}/role`, { role: args[2] })
      return { json: members, text: membersText(members) }
    }
  },
  edit: {
    usage: 'edit GROUP ID TEXT',
    summary: 'replace the text of one of your messages',
    options: [],
    args: 3,
    run: async ({ args, dataDir }) => {
      const m = await (await api(dataDir)).post<HistoryEntry>(`/v1/groups/${enc(args[0])}/messages/${enc(args[1])}/edit`, { text: args[2] })
      return { json: { messageId: m.id, edits: m.edits }, text: `${m.id} edited (${m.edits})` }
    }
  },
  'group rotate': {
    usage: 'group rotate GROUP',
    summary: 'hand every member a fresh group key (owner or admin)',
    options: [],
    args: 1,
    run: async ({ args, dataDir }) => {
      const r = await (await api(dataDir)).post<{ keyId: string }>(`/v1/groups/${enc(args[0])}/rotate`, {})
      return { json: r, text: `new group key ${r.keyId}` }
    }
  },
  retention: {
    usage: 'retention GROUP DAYS',
    summary: 'keep messages DAYS days (or a duration like 12h or 90s; 0: forever); every node erases older ones (owner or admin)',
    options: [],
    args: 2,
    run: async ({ args, dataDir }) => {
      const raw = args[1].trim()
      const seconds = raw === '0' ? 0 : /^\d+$/.test(raw) ? Number(raw) * 86_400 : Math.round(durationMs(raw) / 1000)
      const r = await (await api(dataDir)).post<{ retentionSeconds: number, erased: number }>(`/v1/groups/${enc(args[0])}/retention`, { seconds })
      return { json: r, text: r.retentionSeconds === 0 ? 'messages are kept forever' : `messages are kept ${r.retentionSeconds} s; ${r.erased} expired entries erased` }
    }
  },
  delete: {
    usage: 'delete GROUP ID',
    summary: 'delete a message (your own; owners and admins: anyone\'s)',
    options: [],
    args: 2,
    run: async ({ args, dataDir }) => {
      const m = await (await api(dataDir)).post<HistoryEntry>(`/v1/groups/${enc(args[0])}/messages/${enc(args[1])}/delete`, {})
      return { json: { messageId: m.id, deleted: m.deleted }, text: `${m.id} deleted` }
    }
  },
  'audit export': {
    usage: 'audit export GROUP [--out FILE]',
    summary: 'write the group\'s signed, hash-chained audit trail as JSON lines',
    options: ['out'],
    args: 1,
    run: async ({ args, values, dataDir }) => {
      const { lines } = await (await api(dataDir)).get<{ lines: string[] }>(`/v1/groups/${enc(args[0])}/audit`)
      const out = str(values.out)
      const entries = lines.length - 2
      if (out != null) {
        await writeFile(out, lines.join('\n') + '\n')
        return { json: { file: out, entries }, text: `${entries} entries written to ${out}` }
      }
      return { json: { entries, lines: lines.map(l => JSON.parse(l) as unknown) }, text: lines.join('\n') }
    }
  },
  'audit verify': {
    usage: 'audit verify FILE',
    summary: 'check an exported audit trail: the hash chain, every signature and the seal',
    options: [],
    args: 1,
    run: async ({ args }) => {
      const { verifyAudit } = await import('../trust/audit.js')
      const text = await readFile(args[0], 'utf8').catch(() => { throw new InvalidRequestError(`cannot read ${args[0]}`) })
      const report = verifyAudit(text)
      if (!report.ok) {
        // One line on stderr and a non-zero status, like every error; --json still gets the report.
        process.exitCode = 1
        process.stderr.write(`outpost: ${args[0]} does not verify: line ${String(report.brokenAt)}: ${String(report.why)}\n`)
        return { json: report, text: null }
      }
      return { json: report, text: `ok: ${report.entries} entries of group ${String(report.group)}, chain, signatures and seal intact` }
    }
  }
}
