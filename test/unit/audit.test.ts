import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { canonicalJson } from '../../crdt/index.js'
import { GroupDoc } from '../../crdt/index.js'
import { groupIdOf, newGroupNonce, remove, setRole, writeCreate } from '../../node/trust/actions.js'
import { auditLines, verifyAudit } from '../../node/trust/audit.js'
import { letIn, newGroup, nextTs, testAuthor, type TestAuthor } from '../helpers/authors.js'

describe('audit trail', () => {
  let owner: TestAuthor
  let lines: string[]
  before(async () => {
    owner = await testAuthor()
    const [admin, member, leaver] = await Promise.all([testAuthor(), testAuthor(), testAuthor()])
    const doc = newGroup(owner, 'audited')
    letIn(doc, owner, admin, 'admin')
    letIn(doc, owner, member)
    letIn(doc, owner, leaver, 'read-only')
    setRole(doc, owner.me, member.peerId, 'read-only', nextTs())
    remove(doc, owner.me, leaver.peerId, nextTs())
    lines = auditLines(doc.groupId, doc.membership, owner.me)
  })

  it('exports every membership entry, chained and sealed, and verifies', () => {
    assert.equal(lines.length, 1 + 6 + 1)
    const kinds = lines.slice(1, -1).map(l => (JSON.parse(l) as { entry: { kind: string } }).entry.kind)
    assert.deepEqual(kinds, ['create', 'admit', 'admit', 'admit', 'role', 'remove'])
    const report = verifyAudit(lines.join('\n') + '\n')
    assert.deepEqual({ ok: report.ok, entries: report.entries }, { ok: true, entries: 6 })
  })

  it('fails at the line that was altered', () => {
    for (const at of [1, 3, 5, 7]) {
      const altered = [...lines]
      const line = JSON.parse(altered[at - 1]) as Record<string, any>
      if (line.type === 'entry') line.entry.ts.ms += 1
      else line.name = 'renamed'
      altered[at - 1] = JSON.stringify(line)
      const report = verifyAudit(altered.join('\n'))
      assert.equal(report.ok, false)
      assert.equal(report.brokenAt, at, report.why)
    }
  })

  it('fails at the line after one that was removed, and when the end is cut off', () => {
    for (const at of [2, 4, 6]) {
      const cut = lines.filter((_, i) => i !== at - 1)
      const report = verifyAudit(cut.join('\n'))
      assert.equal(report.ok, false)
      assert.equal(report.brokenAt, at, report.why)
      assert.match(report.why ?? '', /chain is broken/)
    }
    const truncated = verifyAudit(lines.slice(0, -2).join('\n'))
    assert.equal(truncated.ok, false)
    assert.match(truncated.why ?? '', /without a seal/)
  })

  it('includes message deletions when the group\'s policy asks for them, and they verify', async () => {
    const nonce = newGroupNonce()
    const doc = new GroupDoc(groupIdOf(owner.me, nonce), owner.crypto)
    writeCreate(doc, owner.me, 'records', nonce, nextTs(), { auditDeletes: true })
    const m = doc.post({ text: 'to be withdrawn', name: 'o' }, nextTs())
    doc.delete(m.id, nextTs())
    const exported = auditLines(doc.groupId, doc.membership, owner.me, doc.deleteEvents())
    assert.deepEqual(exported.slice(1, -1).map(l => (JSON.parse(l) as { entry: { kind: string } }).entry.kind), ['create', 'delete'])
    assert.equal(JSON.parse(exported[0]).policy.auditDeletes, true)
    assert.equal(verifyAudit(exported.join('\n')).ok, true)
    const altered = [...exported]
    altered[2] = altered[2].replace(m.id, m.id.slice(0, -1) + (m.id.endsWith('0') ? '1' : '0'))
    assert.equal(verifyAudit(altered.join('\n')).brokenAt, 3)
  })

  it('fails when an entry is re-signed by someone else, even with the chain recomputed', async () => {
    // The forger changes entry 5's role and rebuilds every hash after it: only the
    // signature can tell.
    const tampered = lines.slice(0, -1).map(l => JSON.parse(l) as Record<string, any>)
    tampered[5].entry.role = 'admin'
    for (let i = 5; i < tampered.length; i++) {
      const { prev: _p, hash: _h, ...body } = tampered[i]
      tampered[i].prev = tampered[i - 1].hash
      tampered[i].hash = createHash('sha256').update(tampered[i].prev).update('\n').update(canonicalJson(body)).digest('hex')
    }
    const report = verifyAudit([...tampered.map(l => JSON.stringify(l)), lines[lines.length - 1]].join('\n'))
    assert.equal(report.brokenAt, 6, report.why)
    assert.match(report.why ?? '', /signature/)
  })
})
