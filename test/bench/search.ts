/**
 * Search over 100,000 messages (issue 4, item 5). In this process, no node: the index is
 * built in a LevelDB in a temp directory through EncryptedKv, as a node with a passphrase
 * stores it, from seeded generated messages (English and Chinese vocabulary, 20 groups,
 * 50 authors, a year of timestamps; one message in 20 has a file).
 *  - indexing rate: messages handed to the index, written in group-committed batches
 *    (awaited every 2,000), until all are on disk;
 *  - index size: the LevelDB directory on disk after a compaction, per message;
 *  - query time: a fixed, seeded list of queries (one word, two words, Chinese, filters),
 *    each timed from call to ranked hits, after one warm-up pass over the list;
 *  - baseline: the same queries as a linear scan over the same messages in memory
 *    (lower-cased substring match of every query word, filters checked).
 * Target: p99 under 50 ms.
 */
import '../../node/polyfill.js'
import { randomBytes } from 'node:crypto'
import { readdir, stat } from 'node:fs/promises'
import { join } from 'node:path'
import { EncryptedKv, LevelKv } from '../../crdt/index.js'
import { SearchIndex, type SearchOptions } from '../../crdt/search/index.js'
import { seededRandom } from '../helpers/messages.js'
import { log, now, round, row, summarize, tempDir, type BenchResult } from './lib.js'

export interface SearchBenchOptions {
  messages?: number
  queries?: number
}

const EN = ('project status report budget review meeting deploy server network release plan team update schedule customer issue ' +
  'design test build field radio battery supply route weather map patrol camp medical water fuel vehicle signal ' +
  'quarterly annual monthly weekly daily urgent priority delayed ready done blocked approved draft final notes ' +
  'the a of to and in for on with at by from is are was be this that it we you they').split(' ')
const ZH = '项目 进度 报告 预算 会议 部署 服务器 网络 发布 计划 团队 更新 日程 客户 问题 设计 测试 构建 天气 地图 巡逻 营地 医疗 水源 燃料 车辆 信号 季度 年度 紧急 优先 延迟 完成 批准 草稿 最终 记录'.split(' ')

interface Msg { groupId: string, id: string, author: string, ts: number, text: string, hasFile: boolean }

function generate (count: number, seed: number): Msg[] {
  const rnd = seededRandom(seed)
  // Zipf-like: low indexes far more often, as in real text.
  const pick = <T>(list: T[]): T => list[Math.floor(list.length * rnd() * rnd())]
  const groups = Array.from({ length: 20 }, (_, i) => i.toString(16).padStart(32, '0'))
  const authors = Array.from({ length: 50 }, (_, i) => `12D3KooWBenchAuthor${i}`)
  const start = Date.UTC(2024, 0, 1)
  const out: Msg[] = []
  for (let i = 0; i < count; i++) {
    const words: string[] = []
    const n = 4 + Math.floor(rnd() * 16)
    const chinese = rnd() < 0.4
    for (let w = 0; w < n; w++) words.push(chinese && rnd() < 0.7 ? pick(ZH) : pick(EN))
    out.push({
      groupId: groups[Math.floor(rnd() * groups.length)],
      id: i.toString(16).padStart(24, '0'),
      author: authors[Math.floor(rnd() * authors.length)],
      ts: start + Math.floor(i * (365 * 86_400_000 / count)),
      text: chinese ? words.join('') : words.join(' ') + (rnd() < 0.1 ? ` #${i}` : ''),
      hasFile: rnd() < 0.05
    })
  }
  return out
}

function queries (messages: Msg[], count: number, seed: number): Array<{ kind: string, q: string, options: SearchOptions }> {
  const rnd = seededRandom(seed)
  const any = <T>(list: T[]): T => list[Math.floor(rnd() * list.length)]
  const kinds = ['one word', 'two words', 'chinese', 'chinese + word', 'group filter', 'author + dates', 'has-file']
  const out: Array<{ kind: string, q: string, options: SearchOptions }> = []
  for (let i = 0; i < count; i++) {
    const kind = kinds[i % kinds.length]
    const m = any(messages)
    if (kind === 'one word') out.push({ kind, q: any(EN), options: {} })
    else if (kind === 'two words') out.push({ kind, q: `${any(EN)} ${any(EN)}`, options: {} })
    else if (kind === 'chinese') out.push({ kind, q: any(ZH) + any(ZH), options: {} })
    else if (kind === 'chinese + word') out.push({ kind, q: `${any(ZH)} ${any(EN)}`, options: {} })
    else if (kind === 'group filter') out.push({ kind, q: any(EN), options: { groupId: m.groupId } })
    else if (kind === 'author + dates') out.push({ kind, q: any(ZH), options: { author: m.author, since: m.ts - 30 * 86_400_000, until: m.ts + 30 * 86_400_000 } })
    else out.push({ kind, q: any(EN), options: { hasFile: true } })
  }
  return out
}

/** The baseline: every message, every time; ranked by nothing but recency. */
function scan (messages: Msg[], lowered: string[], q: string, options: SearchOptions): number {
  const words = q.toLowerCase().split(/\s+/).filter(w => w !== '')
  const hits: Msg[] = []
  for (let i = 0; i < messages.length; i++) {
    const m = messages[i]
    if (options.groupId != null && m.groupId !== options.groupId) continue
    if (options.author != null && m.author !== options.author) continue
    if (options.since != null && m.ts < options.since) continue
    if (options.until != null && m.ts > options.until) continue
    if (options.hasFile != null && m.hasFile !== options.hasFile) continue
    if (words.every(w => lowered[i].includes(w))) hits.push(m)
  }
  hits.sort((a, b) => b.ts - a.ts)
  return hits.slice(0, 20).length
}

async function dirBytes (dir: string): Promise<number> {
  let total = 0
  for (const name of await readdir(dir)) total += (await stat(join(dir, name))).size
  return total
}

export async function searchBench (opts: SearchBenchOptions = {}): Promise<BenchResult> {
  const count = opts.messages ?? 100_000
  const queryCount = opts.queries ?? 700
  const messages = generate(count, 42)
  const list = queries(messages, queryCount, 7)
  const dir = await tempDir('outpost-bench-search-')
  const level = await LevelKv.open(dir)
  const kv = new EncryptedKv(level, randomBytes(32))
  try {
    const index = await SearchIndex.open(kv)
    log(`search: indexing ${count} messages`)
    const t0 = now()
    for (let i = 0; i < messages.length; i++) {
      const m = messages[i]
      index.index(m.groupId, m)
      if ((i + 1) % 2_000 === 0) await index.flush()
    }
    await index.flush()
    const indexMs = now() - t0
    await level.compact()
    const bytes = await dirBytes(dir)
    log(`search: ${(count / indexMs * 1000).toFixed(0)} msg/s, ${(bytes / count).toFixed(0)} bytes/message on disk`)

    // One pass to warm the caches (document blocks), as a running node has them warm.
    for (const { q, options } of list) await index.search(q, options)
    const times: number[] = []
    const byKind = new Map<string, number[]>()
    let hits = 0
    for (const { kind, q, options } of list) {
      const t = now()
      hits += (await index.search(q, options)).length
      const ms = now() - t
      times.push(ms)
      byKind.set(kind, [...(byKind.get(kind) ?? []), ms])
    }
    const lowered = messages.map(m => m.text.toLowerCase())
    const scanTimes: number[] = []
    let scanHits = 0
    for (const { q, options } of list) {
      const t = now()
      scanHits += scan(messages, lowered, q, options)
      scanTimes.push(now() - t)
    }
    await index.close()
    const s = summarize(times)
    const b = summarize(scanTimes)
    log(`search: query p50 ${s.p50.toFixed(2)} ms, p99 ${s.p99.toFixed(2)} ms; scan p50 ${b.p50.toFixed(2)} ms, p99 ${b.p99.toFixed(2)} ms`)
    const base = (value: number): { value: number, label: string } => ({ value, label: 'linear scan in memory' })
    return {
      name: 'search',
      rows: [
        row({ metric: `search over ${count} messages: query p50`, value: s.p50, unit: 'ms', baseline: base(b.p50) }),
        row({ metric: `search over ${count} messages: query p99`, value: s.p99, unit: 'ms', target: { kind: 'max', value: 50 }, baseline: base(b.p99) }),
        row({ metric: 'search: index size on disk per message (encrypted)', value: bytes / count, unit: 'bytes' }),
        row({ metric: 'search: indexing rate (to disk, encrypted)', value: count / indexMs * 1000, unit: 'msg/s' })
      ],
      details: {
        messages: count,
        queries: list.length,
        query: s,
        scan: b,
        byKind: Object.fromEntries([...byKind].map(([k, v]) => [k, { p50: round(summarize(v).p50), p99: round(summarize(v).p99), n: v.length }])),
        hitsReturned: hits,
        scanHitsReturned: scanHits,
        indexBytes: bytes,
        indexMs: round(indexMs)
      }
    }
  } finally {
    await level.close().catch(() => {})
  }
}
