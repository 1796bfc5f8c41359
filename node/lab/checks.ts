/**
 * The lab's verdict on the final histories: every acknowledged message on every live node,
 * nothing twice, the same order everywhere. Pure, so it is unit-tested on its own. A failure
 * names the messages and the nodes, because "not converged" alone helps nobody.
 */

export interface AckedMessage {
  id: string
  /** the node whose API acknowledged it */
  sender: string
  /** the lab's sequence number, carried in the text as `lab:SEQ:` */
  seq: number
}

export interface CheckResult {
  /** acknowledged messages missing from at least one live node */
  lost: number
  /** copies beyond the first of one message (by id or by the lab's sequence tag) */
  duplicates: number
  /** live nodes whose order differs from the first live node's */
  orderMismatches: number
  /** what went wrong, in words; empty when every check held */
  failures: string[]
  /** per missing message: which nodes lack it */
  missing: Array<{ id: string, seq: number, sender: string, missingOn: string[] }>
}

const LIST_AT_MOST = 10

function listed (items: string[]): string {
  return items.length <= LIST_AT_MOST ? items.join(', ') : `${items.slice(0, LIST_AT_MOST).join(', ')} and ${items.length - LIST_AT_MOST} more`
}

/** `histories`: each live node's message ids and texts, in the order the node shows them. */
export function checkHistories (acked: AckedMessage[], histories: Map<string, Array<{ id: string, text: string }>>): CheckResult {
  const failures: string[] = []
  const missing: CheckResult['missing'] = []
  const held = new Map([...histories].map(([node, h]) => [node, new Set(h.map(m => m.id))]))
  for (const m of acked) {
    const missingOn = [...held].filter(([, ids]) => !ids.has(m.id)).map(([node]) => node)
    if (missingOn.length > 0) missing.push({ ...m, missingOn })
  }
  if (missing.length > 0) {
    const byNode = new Map<string, string[]>()
    for (const m of missing) for (const node of m.missingOn) byNode.set(node, [...(byNode.get(node) ?? []), `${m.id} (lab:${m.seq} from ${m.sender})`])
    failures.push(`${missing.length} acknowledged message(s) missing: ${[...byNode].map(([node, ids]) => `${node} lacks ${ids.length}: ${listed(ids)}`).join('; ')}`)
  }

  let duplicates = 0
  for (const [node, history] of histories) {
    const seenIds = new Set<string>()
    const seenTags = new Map<string, string>()
    const twice: string[] = []
    for (const m of history) {
      const tag = /^lab:(\d+):/.exec(m.text)?.[1]
      if (seenIds.has(m.id)) twice.push(`${m.id} (same id)`)
      else if (tag != null && seenTags.has(tag)) twice.push(`lab:${tag} as ${seenTags.get(tag) ?? ''} and ${m.id}`)
      seenIds.add(m.id)
      if (tag != null && !seenTags.has(tag)) seenTags.set(tag, m.id)
    }
    if (twice.length > 0) {
      duplicates += twice.length
      failures.push(`${node} holds ${twice.length} duplicate(s): ${listed(twice)}`)
    }
  }

  let orderMismatches = 0
  const [reference, ...others] = [...histories]
  if (reference != null) {
    // Compare on the messages both hold, so that a missing message is reported once, above.
    for (const [node, history] of others) {
      const common = new Set(history.map(m => m.id).filter(id => held.get(reference[0])?.has(id)))
      const a = reference[1].map(m => m.id).filter(id => common.has(id))
      const b = history.map(m => m.id).filter(id => common.has(id))
      const at = a.findIndex((id, i) => b[i] !== id)
      if (at >= 0) {
        orderMismatches++
        failures.push(`${node} orders messages differently from ${reference[0]}: at position ${at} ${reference[0]} shows ${a[at]}, ${node} shows ${b[at]}`)
      }
    }
  }
  return { lost: missing.length, duplicates, orderMismatches, failures, missing }
}
