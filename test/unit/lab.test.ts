/**
 * The mesh lab's pure parts: scenario parsing (a mistake is named where it is), seeded
 * random schedules (a seed replays), the checks (a failure names messages and nodes), the
 * HTML report (self-contained), and the observer's counters (nothing left uncounted at the end).
 */
import { strict as assert } from 'node:assert'
import { readdir, readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { checkHistories } from '../../node/lab/checks.js'
import type { LabCluster } from '../../node/lab/cluster.js'
import { htmlReport } from '../../node/lab/html-report.js'
import { Observer, stampedAt } from '../../node/lab/observer.js'
import { wallClockMs } from '../../node/wall-clock.js'
import { histogram, percentiles, type LabReport } from '../../node/lab/report.js'
import { parseScenario } from '../../node/lab/scenario.js'
import { REPO_ROOT } from '../helpers/cli.js'

const ISSUE_EXAMPLE = `
name: halves
seed: 7
nodes: 6                      # node i is named n0..n5
segments: [[n0, n1, n2, n3, n4, n5]]
load: { rate: 20, size: 200, duration: 30s }
schedule:
  - { at: 5s,  partition: [[n0, n1, n2], [n3, n4, n5]] }
  - { at: 15s, heal: true }
  - { at: 18s, kill: [n4] }
  - { at: 22s, restart: [n4] }
  - { at: 24s, pause: [n1] }
  - { at: 26s, resume: [n1] }
  - { at: 27s, limit: { nodes: [n2], rate: 1mbit } }
  - { at: 28s, faults: { nodes: [n3], delay: 50ms, loss: 0.05 } }
check: { converge_within: 10s }
`

describe('lab scenarios', () => {
  it('reads the documented format, in YAML and as JSON', () => {
    const s = parseScenario(ISSUE_EXAMPLE)
    assert.deepEqual(s.nodes, ['n0', 'n1', 'n2', 'n3', 'n4', 'n5'])
    assert.deepEqual(s.load, { rate: 20, size: 200, durationMs: 30_000, senders: s.nodes })
    assert.equal(s.check.convergeWithinMs, 10_000)
    assert.deepEqual(s.schedule.map(e => [e.atMs, e.kind]), [[5000, 'partition'], [15000, 'heal'], [18000, 'kill'], [22000, 'restart'], [24000, 'pause'], [26000, 'resume'], [27000, 'limit'], [28000, 'faults']])
    assert.deepEqual(s.schedule[6], { atMs: 27000, kind: 'limit', nodes: ['n2'], bitsPerSecond: 1_000_000 })
    assert.deepEqual(s.schedule[7], { atMs: 28000, kind: 'faults', nodes: ['n3'], delayMs: 50, loss: 0.05 })
    const json = parseScenario(JSON.stringify({ name: 'j', nodes: 3, schedule: [{ at: '1.5s', isolate: ['n2'] }, { at: 4, heal: true }] }))
    assert.deepEqual(json.schedule[0], { atMs: 1500, kind: 'partition', sides: [['n2'], ['n0', 'n1']] })
    assert.equal(json.schedule[1].atMs, 4000)
  })

  it('names the place of every mistake', () => {
    const cases: Array<[string, RegExp]> = [
      ['nodes: 3\nschedule: [{ at: 1s, kill: [n7] }]', /schedule\[0\]\.kill\[0\]: unknown node "n7" \(the scenario has n0\.\.n2\)/],
      ['nodes: 3\nschedule: [{ at: soon, heal: true }]', /schedule\[0\]\.at: expected a duration/],
      ['nodes: 3\nschedule: [{ at: 1s, limit: { nodes: [n1], rate: 1mbps } }]', /limit\.rate: expected a bandwidth such as 1mbit/],
      ['nodes: 3\nload: { rate: 10, sise: 200 }', /load: unknown field 'sise'/],
      ['nodes: 3\nschedule: [{ at: 1s, restart: [n1] }]', /cannot restart n1: it is running then/],
      ['nodes: 3\nschedule: [{ at: 1s, partition: [[n0, n1], [n1, n2]] }]', /node n1 is on two sides/],
      ['nodes: 3\nsegments: [[n0, n1]]', /n2 is on no segment/],
      ['nodes: 3\nbroken: { n1: { gossip: false } }', /broken\.n1: unknown field 'gossip'/],
      ['nodes: [', /not valid YAML or JSON/],
      ['nodes: 1', /the lab runs 2 to 64 nodes/]
    ]
    for (const [text, expected] of cases) assert.throws(() => parseScenario(text), expected, text)
  })

  it('draws the same random schedule from the same seed, and another from another', () => {
    const text = (seed: number): string => `nodes: 8\nseed: ${seed}\nload: { duration: 60s }\nrandom: { partitions: 3, kills: 2, pauses: 2, from: 5s, until: 55s }`
    const a = parseScenario(text(1)).schedule
    assert.deepEqual(parseScenario(text(1)).schedule, a)
    assert.notDeepEqual(parseScenario(text(2)).schedule, a)
    assert.equal(a.filter(e => e.kind === 'partition').length, 3)
    assert.equal(a.filter(e => e.kind === 'heal').length, 3)
    assert.equal(a.filter(e => e.kind === 'kill').length, 2)
    assert.equal(a.filter(e => e.kind === 'restart').length, 2)
    assert.equal(a.filter(e => e.kind === 'pause').length, 2)
    assert.ok(a.every(e => e.atMs >= 5000 && e.atMs <= 55_000), 'every random event inside the window')
  })

  it('ships scenarios that all parse', async () => {
    const dir = join(REPO_ROOT, 'node', 'lab', 'scenarios')
    const files = (await readdir(dir)).filter(f => f.endsWith('.yaml'))
    for (const expected of ['halves', 'minority-isolation', 'rotating-bridge', 'crash-restart', 'pause', 'bandwidth-limited', 'soak-20']) {
      assert.ok(files.includes(`${expected}.yaml`), `${expected}.yaml is shipped`)
    }
    for (const f of files) parseScenario(await readFile(join(dir, f), 'utf8'), f)
  })
})

describe('lab checks', () => {
  const acked = [
    { id: 'a', sender: 'n0', seq: 0 },
    { id: 'b', sender: 'n1', seq: 1 },
    { id: 'c', sender: 'n2', seq: 2 }
  ]
  const h = (...ids: string[]): Array<{ id: string, text: string }> => ids.map(id => ({ id, text: `lab:${'abc'.indexOf(id)}:x filler` }))

  it('passes identical complete histories', () => {
    const r = checkHistories(acked, new Map([['n0', h('a', 'b', 'c')], ['n1', h('a', 'b', 'c')]]))
    assert.deepEqual([r.lost, r.duplicates, r.orderMismatches, r.failures], [0, 0, 0, []])
  })

  it('names a missing message and the node that lacks it', () => {
    const r = checkHistories(acked, new Map([['n0', h('a', 'b', 'c')], ['n1', h('a', 'c')]]))
    assert.equal(r.lost, 1)
    assert.deepEqual(r.missing, [{ id: 'b', sender: 'n1', seq: 1, missingOn: ['n1'] }])
    assert.match(r.failures[0], /n1 lacks 1: b \(lab:1 from n1\)/)
  })

  it('counts a message held twice under two ids, and a different order', () => {
    const twice = [...h('a', 'b', 'c'), { id: 'd', text: 'lab:1:x again' }]
    const r = checkHistories(acked, new Map([['n0', h('a', 'b', 'c')], ['n1', twice], ['n2', h('b', 'a', 'c')]]))
    assert.equal(r.duplicates, 1)
    assert.match(r.failures.join('\n'), /n1 holds 1 duplicate\(s\): lab:1 as b and d/)
    assert.equal(r.orderMismatches, 1)
    assert.match(r.failures.join('\n'), /n2 orders messages differently from n0: at position 0 n0 shows a, n2 shows b/)
  })
})

describe('lab report', () => {
  it('computes percentiles and a doubling histogram', () => {
    assert.deepEqual(percentiles([]), { count: 0, p50: null, p90: null, p99: null, max: null })
    const p = percentiles(Array.from({ length: 100 }, (_, i) => i + 1))
    assert.deepEqual([p.p50, p.p99, p.max], [51, 100, 100])
    const buckets = histogram([0.5, 3, 3, 900])
    assert.deepEqual(buckets.slice(0, 3), [{ upToMs: 1, count: 1 }, { upToMs: 2, count: 0 }, { upToMs: 4, count: 2 }])
    assert.equal(buckets.at(-1)?.upToMs, 1024)
    assert.equal(buckets.at(-1)?.count, 1)
  })

  it('writes a page that needs nothing from outside and escapes what it shows', () => {
    const none = { count: 0, p50: null, p90: null, p99: null, max: null }
    const report: LabReport = {
      scenario: '<script>alert(1)</script>', seed: 1, mode: 'in-process', nodes: 2, startedAt: 'now', durationMs: 5000, sent: 1, acknowledged: 1, unacknowledged: 0,
      lost: 1, duplicates: 0, orderMismatches: 0, converged: false, convergenceMs: null, convergeWithinMs: 1000,
      latencyMs: { ...none, calm: none, duringFaults: none }, latencyHistogram: [], recoveries: [{ kind: 'heal', atMs: 3000, missing: 1, convergenceMs: null }],
      sync: { bytesReceived: 0, idealBytes: 0, ratio: null },
      gossip: { copiesReceived: 0, messagesReceived: 0, copiesPerMessage: null },
      perNode: [{ name: 'n0', state: 'running', acknowledged: 1, cpuPercent: null, peakRssBytes: null, syncBytesReceived: 0 }, { name: 'n1', state: 'killed', acknowledged: 0, cpuPercent: null, peakRssBytes: null, syncBytesReceived: 0 }],
      timeline: [{ atMs: 1000, kind: 'partition', detail: 'partition', sides: [['n0'], ['n1']] }, { atMs: 2000, kind: 'kill', detail: 'kill -9 n1', nodes: ['n1'] }, { atMs: 3000, kind: 'heal', detail: 'heal' }],
      rate: [{ second: 0, acknowledged: 1, delivered: 0 }], memory: [], failures: ['n1 lacks 1: x'], passed: false, dataKeptIn: null
    }
    const html = htmlReport(report)
    assert.ok(!html.includes('<script>'), 'no script, and the scenario name escaped')
    assert.ok(!/(src|href)=["']?https?:/.test(html), 'nothing fetched from anywhere')
    assert.match(html, /<svg[^>]*aria-label="timeline of faults and convergence"/)
    assert.match(html, /n1 lacks 1: x/)
    assert.match(html, /<title>n1: killed, 2000 ms to 5000 ms<\/title>/)
  })
})

describe('lab observer', () => {
  /**
   * An observer of one node whose sync counter the test moves (a cluster with only what the
   * observer reads), sampled once from `bytes` and with that as its baseline.
   */
  async function watching (bytes: number): Promise<{ observer: Observer, received: { bytes: number } }> {
    const received = { bytes }
    const client = { get: async () => ({ stats: { sync: { updateBytesReceived: received.bytes } } }) }
    const cluster = { usage: async () => ({ cpuSeconds: 0, rssBytes: 1 }), client: () => client } as unknown as LabCluster
    const observer = new Observer(cluster, ['n0'], 'g', () => 0)
    observer.startSampling(() => ['n0'])
    await new Promise(resolve => setTimeout(resolve, 50))
    observer.resetBaseline()
    return { observer, received }
  }

  it('counts what arrived after its last sampling round once the run finishes', async () => {
    const { observer, received } = await watching(0)
    // A heal's sync that ends within the second between two rounds.
    received.bytes = 48_000
    await observer.finish()
    assert.equal(observer.counted('n0', 'syncBytes'), 48_000)
  })

  it('counts a restarted node\'s counter, which starts again from zero, on top of what it had', async () => {
    const { observer, received } = await watching(1_000)
    // killed and restarted: its new process has received 400 bytes so far
    received.bytes = 400
    await observer.finish()
    assert.equal(observer.counted('n0', 'syncBytes'), 400)
  })

  it('times an event by the node\'s own stamp, unless the stamp is missing or not plausible', () => {
    const readAt = performance.now()
    const stamp = performance.timeOrigin + readAt - 40
    assert.ok(Math.abs(stampedAt(stamp, readAt) - (readAt - 40)) < 0.01, 'a watcher that read it 40 ms late does not count the 40 ms')
    assert.equal(stampedAt(undefined, readAt), readAt)
    assert.equal(stampedAt('soon', readAt), readAt)
    assert.equal(stampedAt(stamp + 1_000, readAt), readAt, 'not after it was read')
    assert.equal(stampedAt(stamp - 3_600_000, readAt), readAt, 'not an hour before')
  })

  it('keeps when the sender wrote a message, by its own event, apart from when each node had it', async () => {
    const { EventEmitter } = await import('node:events')
    const streams = new Map<string, (event: { type: string, [k: string]: unknown }) => void>()
    const cluster = {
      client: (node: string) => ({
        events: (onEvent: (event: { type: string, [k: string]: unknown }) => void) => {
          streams.set(node, onEvent)
          const ws = Object.assign(new EventEmitter(), { terminate: () => {} })
          setImmediate(() => ws.emit('open'))
          return ws
        }
      })
    } as unknown as LabCluster
    const t0 = performance.now()
    const observer = new Observer(cluster, ['n0', 'n1'], 'g', () => t0)
    await observer.watch('n0', false)
    await observer.watch('n1', false)
    const wall = wallClockMs()
    streams.get('n0')?.({ type: 'message', groupId: 'g', origin: 'local', message: { id: 'm1' }, at: wall - 30 })
    streams.get('n1')?.({ type: 'message', groupId: 'g', origin: 'remote', message: { id: 'm1' }, at: wall - 10 })
    streams.get('n1')?.({ type: 'message', groupId: 'other', origin: 'local', message: { id: 'm2' }, at: wall })
    const written = observer.written.get('m1') as number
    const had = observer.seen.get('n1')?.get('m1') as number
    assert.ok(Math.abs(had - written - 20) < 0.01, `n1 had it 20 ms after n0 wrote it: ${had - written}`)
    assert.equal(observer.written.has('m2'), false, 'another group is not watched')
    observer.stop()
  })
})
