/**
 * Idle cost of a node among 20: CPU and memory per `outpost start` process.
 *
 * 20 processes on loopback, no mDNS. Each after the first is started with `--peer` to up
 * to 3 earlier ones (seeded random picks: about 6 connections a node, gossipsub's mesh
 * degree, rather than a star). The first creates a group, the others join it with its
 * invite (which also puts the first in their peer books, as joining does). Formed: every
 * node shows the group with 20 members and holds a message the first one posted. Then a
 * settle period, then for a window nothing is asked of the nodes, and each process's CPU
 * (utime + stime from /proc/PID/stat, over the window) and VmRSS at its end are read. Mean
 * and max over the 20. An idle pair of nodes exchanges anti-entropy only every IDLE_ROUNDS
 * sync intervals (60 s), so the settle period runs past the first such round (85 s) and the
 * window spans one more (70 s): it holds the exchanges an idle mesh makes in steady state,
 * not the quiet right after the last message (`--quick`: settle 5 s, window 10 s).
 * Baseline, same run and same window: one node alone (its own group, no peers).
 */
import '../../node/polyfill.js'
import { DEFAULT_SYNC_INTERVAL_MS, IDLE_ROUNDS } from '../../node/constants.js'
import { seededRandom } from '../helpers/messages.js'
import { cpuSecondsOf, log, memoryOf, now, round, row, sleep, startOutpost, summarize, waitUntil, type BenchResult, type OutpostProc } from './lib.js'

export interface IdleOptions {
  nodes?: number
  windowMs?: number
  settleMs?: number
}

interface Sample { pid: number, cpuPercent: number, rssMB: number }

/** Starts every node, each with --peer to up to 3 earlier ones. */
async function startMesh (count: number): Promise<OutpostProc[]> {
  const rnd = seededRandom(3)
  const nodes: OutpostProc[] = []
  for (let i = 0; i < count; i++) {
    const earlier = [...nodes]
    const peers: string[] = []
    while (peers.length < Math.min(3, earlier.length)) peers.push(earlier.splice(Math.floor(rnd() * earlier.length), 1)[0].addrs[0])
    nodes.push(await startOutpost({ peers }))
  }
  return nodes
}

/** GET; a node that exited is an error that says so. */
async function get<T> (n: OutpostProc, path: string): Promise<T> {
  if (n.proc.exitCode != null || n.proc.signalCode != null) throw new Error(`node ${n.pid} exited: ${n.stderr().trim().split('\n').slice(-3).join(' | ')}`)
  return await n.api.call<T>('GET', path)
}

export async function idleBench (opts: IdleOptions = {}): Promise<BenchResult> {
  const count = opts.nodes ?? 20
  // An idle pair's round comes IDLE_ROUNDS intervals after its last, give or take the
  // timer's jitter (0.8 to 1.2 intervals a round): settle past the first (60 + 25 s), then
  // measure one more (60 + 10 s).
  const idleRoundMs = IDLE_ROUNDS * DEFAULT_SYNC_INTERVAL_MS
  const windowMs = opts.windowMs ?? idleRoundMs + DEFAULT_SYNC_INTERVAL_MS
  const settleMs = opts.settleMs ?? idleRoundMs + 2.5 * DEFAULT_SYNC_INTERVAL_MS
  const nodes: OutpostProc[] = []
  let alone: OutpostProc | undefined
  try {
    log(`idle: starting ${count} nodes`)
    const t0 = now()
    nodes.push(...await startMesh(count))
    alone = await startOutpost()
    await alone.api.call('POST', '/v1/groups', { name: 'alone' })
    const first = nodes[0]
    const { groupId } = await first.api.call<{ groupId: string }>('POST', '/v1/groups', { name: 'all hands' })
    const { invite } = await first.api.call<{ invite: string }>('GET', `/v1/groups/${groupId}/invite`)
    // A join waits (10 s at most) for a member to let the node in: the first may be busy.
    const joins = await Promise.all(nodes.slice(1).map(async n => await n.api.call<{ admitted: boolean }>('POST', '/v1/groups/join', { invite })))
    log(`idle: ${joins.filter(j => j.admitted).length} of ${count - 1} admitted at once; waiting for every node to see ${count} members`)
    const summary = async (n: OutpostProc): Promise<{ members: number, messages: number }> =>
      (await get<Array<{ groupId: string, members: number, messages: number }>>(n, '/v1/groups')).find(g => g.groupId === groupId) ?? { members: 0, messages: 0 }
    await waitUntil(`${count} members on every node`, async () => (await Promise.all(nodes.map(summary))).every(s => s.members === count), 120_000, 500)
    await first.api.call('POST', `/v1/groups/${groupId}/messages`, { text: 'all here: radio check' })
    await waitUntil('the message on every node', async () => (await Promise.all(nodes.map(summary))).every(s => s.messages === 1), 60_000, 200)
    const formedSeconds = (now() - t0) / 1000
    log(`idle: mesh formed in ${formedSeconds.toFixed(1)} s; settling ${settleMs / 1000} s, then measuring ${windowMs / 1000} s`)
    await sleep(settleMs)

    const all = [...nodes, alone]
    const before = all.map(n => cpuSecondsOf(n.pid))
    const tw = now()
    await sleep(windowMs)
    const seconds = (now() - tw) / 1000
    const samples: Sample[] = all.map((n, i) => ({ pid: n.pid, cpuPercent: round((cpuSecondsOf(n.pid) - before[i]) / seconds * 100, 2), rssMB: round(memoryOf(n.pid).rssMB, 1) }))
    const base = samples.pop() as Sample
    const cpu = summarize(samples.map(s => s.cpuPercent))
    const rss = summarize(samples.map(s => s.rssMB))
    const connections = await Promise.all(nodes.map(async n => (await get<Array<{ connected: boolean }>>(n, '/v1/peers')).filter(p => p.connected).length))
    log(`idle: CPU mean ${cpu.mean.toFixed(2)}% max ${cpu.max.toFixed(2)}%, RSS mean ${rss.mean.toFixed(0)} MB max ${rss.max.toFixed(0)} MB; alone ${base.cpuPercent}% ${base.rssMB} MB`)
    const alone1 = (value: number, what: string): { value: number, label: string } => ({ value, label: `one node alone, ${what}` })
    return {
      name: 'idle',
      rows: [
        row({ metric: `idle CPU per node, mean of ${count} in one group`, value: cpu.mean, unit: '%', target: { kind: 'max', value: 1 }, baseline: alone1(base.cpuPercent, 'CPU') }),
        row({ metric: `idle CPU per node, max of ${count}`, value: cpu.max, unit: '%', target: { kind: 'max', value: 1 }, baseline: alone1(base.cpuPercent, 'CPU') }),
        row({ metric: `idle RSS per node, mean of ${count}`, value: rss.mean, unit: 'MB', target: { kind: 'max', value: 150 }, baseline: alone1(base.rssMB, 'RSS') }),
        row({ metric: `idle RSS per node, max of ${count}`, value: rss.max, unit: 'MB', target: { kind: 'max', value: 150 }, baseline: alone1(base.rssMB, 'RSS') })
      ],
      details: { nodes: count, windowSeconds: round(seconds, 1), settleMs, formedSeconds: round(formedSeconds, 1), connectionsPerNode: connections, samples, alone: base }
    }
  } finally {
    for (const n of [...nodes, alone]) n?.api.close()
    // Each by its own pid (lib.ts: SIGTERM, then SIGKILL after the grace period).
    await Promise.all([...nodes, alone].map(async n => await n?.stop()))
  }
}
