import { createHash } from 'node:crypto'
import { canonicalJson, compareEntries, parseLogEntry, parseMessageEvent, shown, verifyEntry, isGroupId, type DeleteEvent, type Entry, type GroupId, type Membership } from '../../crdt/index.js'
import type { Me } from './actions.js'
import { verifySignature } from './keys.js'

/**
 * A group's audit trail: every membership, role and key entry of its log, each signed by
 * its author, written in the order every replica folds them, as JSON lines chained by
 * SHA-256 (each line names the hash of the one before) and closed by a line the exporting
 * node signs. Altering a line breaks its hash or its signature; removing one breaks the
 * chain at the next; cutting the end breaks the seal.
 *
 * Message deletions are included when the group's policy says so (`auditDeletes`).
 * Lines: {"type":"header",...} then {"type":"entry","seq","status","entry"} per entry, each
 * with "prev" and "hash", then {"type":"seal","head","count","by","sig"}.
 */

const ZERO = '0'.repeat(64)

function hashLine (prev: string, body: object): string {
  return createHash('sha256').update(prev).update('\n').update(canonicalJson(body)).digest('hex')
}

function sealBytes (groupId: string, head: string, count: number): Buffer {
  return Buffer.from(`outpost/audit-seal/2\n${groupId}\n${head}\n${count}`)
}

/**
 * `deletes`: the group's valid message deletions, included when its policy asks for them
 * (merged into the same order).
 */
export function auditLines (groupId: GroupId, membership: Membership, me: Me, deletes: DeleteEvent[] = [], now = Date.now()): string[] {
  const lines: string[] = []
  let prev = ZERO
  const push = (body: object): void => {
    const hash = hashLine(prev, body)
    lines.push(JSON.stringify({ ...body, prev, hash }))
    prev = hash
  }
  const ignored = new Map(membership.ignored.map(i => [i.entry.id, i.why]))
  const all: Entry[] = [...membership.valid, ...membership.ignored.map(i => i.entry), ...deletes]
  all.sort(compareEntries)
  push({ type: 'header', group: groupId, name: membership.name, policy: membership.policy, exportedBy: me.peerId, exportedAt: new Date(now).toISOString(), entries: all.length })
  all.forEach((entry, seq) => { push({ type: 'entry', seq, status: ignored.has(entry.id) ? `ignored: ${ignored.get(entry.id) as string}` : 'valid', entry }) })
  const count = all.length
  const sig = Buffer.from(me.sign(sealBytes(groupId, prev, count))).toString('base64')
  lines.push(JSON.stringify({ type: 'seal', head: prev, count, by: me.peerId, sig }))
  return lines
}

export interface AuditReport {
  ok: boolean
  /** lines checked, header and seal included */
  lines: number
  entries: number
  group?: string
  /** the first line (1-based) that does not verify, and why */
  brokenAt?: number
  why?: string
}

/** Checks the chain, every entry's signatures and the seal; stops at the first break. */
export function verifyAudit (text: string): AuditReport {
  const raw = text.split('\n')
  while (raw.length > 0 && raw[raw.length - 1].trim() === '') raw.pop()
  let prev = ZERO
  let group: GroupId | undefined
  let entries = 0
  const broken = (at: number, why: string): AuditReport => ({ ok: false, lines: raw.length, entries, ...(group != null ? { group } : {}), brokenAt: at, why })
  for (let i = 0; i < raw.length; i++) {
    const at = i + 1
    let line: Record<string, unknown>
    try {
      line = JSON.parse(raw[i])
      if (line == null || typeof line !== 'object' || Array.isArray(line)) throw new Error('not an object')
    } catch {
      return broken(at, 'not a JSON object')
    }
    if (line.type === 'seal') {
      if (i !== raw.length - 1) return broken(at, 'the seal is not the last line')
      if (group == null) return broken(at, 'no header before the seal')
      if (line.head !== prev) return broken(at, 'the seal does not name the hash of the last line')
      if (line.count !== entries) return broken(at, `the seal counts ${shown(line.count)} entries, the file has ${entries}`)
      if (typeof line.by !== 'string' || typeof line.sig !== 'string' ||
        !verifySignature(line.by, sealBytes(group, prev, entries), Buffer.from(line.sig, 'base64'))) return broken(at, 'the seal\'s signature does not verify')
      return { ok: true, lines: raw.length, entries, group }
    }
    const { prev: linePrev, hash, ...body } = line
    if (linePrev !== prev) return broken(at, i === 0 ? 'the first line does not start the chain' : 'the chain is broken: this line does not follow the one before it (a line was removed or changed)')
    if (hash !== hashLine(prev, body)) return broken(at, 'the line was altered (its hash does not match)')
    if (i === 0) {
      if (body.type !== 'header' || !isGroupId(body.group)) return broken(at, 'the first line is not a header')
      group = body.group
    } else if (body.type === 'entry') {
      if (body.seq !== entries) return broken(at, `entry ${shown(body.seq)} out of sequence`)
      try {
        const kind = (body.entry as { kind?: unknown } | null)?.kind
        const entry = kind === 'delete' ? parseMessageEvent(body.entry) : parseLogEntry(body.entry)
        if (!verifyEntry(group as GroupId, entry, verifySignature)) return broken(at, 'the entry\'s signature does not verify')
      } catch (err) {
        return broken(at, (err as Error).message)
      }
      entries++
    } else {
      return broken(at, `unexpected line type ${shown(body.type)}`)
    }
    prev = hash
  }
  return broken(raw.length + 1, 'the file ends without a seal (lines missing at the end)')
}
