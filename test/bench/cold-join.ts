/**
 * Cold join: a new node's time to connect and hold a group's history of 10,000 messages.
 *
 * A hub (`outpost start` on loopback, no mDNS) holds a group of 10,000 chat messages,
 * seeded by an in-process node that then stops (seeding is not timed). Each round, a
 * fresh data directory is started with `outpost start --peer HUB` and, as soon as its
 * ready line is read, asked to join with an invite (POST /v1/groups/join, as
 * `outpost group join` does). Measured from just before the spawn:
 *  - ready: the JSON ready line;
 *  - connected: the first poll of GET /v1/peers that shows the hub connected;
 *  - admitted: the join call answers (a member let the node in);
 *  - synced: the first poll of GET /v1/groups whose message count is 10,000.
 * Polls run every 5 ms, one request at a time, so each time includes up to ~5 ms of
 * polling and one local HTTP round trip. Median of 3 rounds (`--quick`: 1).
 * Also the CPU time (user + system, all threads, from /proc) the new node spent from spawn
 * to holding the history, and the hub spent on the round: on a shared machine it varies
 * less than the wall-clock times, so it is the number to compare two builds by.
 * Baseline, same run: a fresh `outpost start --peer HUB` that joins nothing: spawn ->
 * ready and spawn -> connected (the fixed cost a join adds its sync to).
 */
import '../../node/polyfill.js'
import { OutpostNode } from '../../node/index.js'
import { seededRandom } from '../helpers/messages.js'
import { chatLine } from './history-scale.js'
import { cpuSecondsOf, LOOPBACK, log, median, now, round, row, startOutpost, tempDir, waitUntil, type BenchResult, type OutpostProc } from './lib.js'

export interface ColdJoinOptions {
  messages?: number
  rounds?: number
}

interface Round { readyMs: number, connectedMs: number, admittedMs: number, syncedMs: number, joinerCpuMs: number, hubCpuMs: number }

/** A data directory whose one group holds `count` messages; the group id. */
async function seed (count: number): Promise<{ dataDir: string, groupId: string, seconds: number }> {
  const dataDir = await tempDir('outpost-bench-coldjoin-hub-')
  const node = await OutpostNode.create({ dataDir, name: 'hub', listen: [LOOPBACK], mdns: false })
  await node.start()
  const t = now()
  try {
    const { groupId } = await node.createGroup('Logbook')
    const rnd = seededRandom(11)
    let next = 0
    await Promise.all(Array.from({ length: 256 }, async () => {
      while (next < count) { next++; await node.send(groupId, chatLine(rnd)) }
    }))
    return { dataDir, groupId, seconds: (now() - t) / 1000 }
  } finally {
    await node.stop()
  }
}

const peerConnected = async (node: OutpostProc, peerId: string): Promise<boolean> =>
  (await node.api.call<Array<{ peerId: string, connected: boolean }>>('GET', '/v1/peers')).some(p => p.peerId === peerId && p.connected)

async function oneRound (hub: OutpostProc, groupId: string, count: number): Promise<Round> {
  const { invite } = await hub.api.call<{ invite: string }>('GET', `/v1/groups/${groupId}/invite`)
  const hubCpu = cpuSecondsOf(hub.pid)
  const node = await startOutpost({ peers: [hub.addrs[0]] })
  try {
    const t0 = node.spawnedAt
    let admittedAt = NaN
    const join = node.api.call<{ admitted: boolean }>('POST', '/v1/groups/join', { invite }).then(r => {
      admittedAt = now()
      if (!r.admitted) throw new Error('the hub did not let the new node in')
    })
    join.catch(() => {})
    let connectedAt = NaN
    await waitUntil('the hub connected', async () => {
      if (await peerConnected(node, hub.peerId)) connectedAt = now()
      return !Number.isNaN(connectedAt)
    }, 20_000, 5)
    let syncedAt = NaN
    let joinerCpu = NaN
    await waitUntil(`${count} messages on the new node`, async () => {
      const groups = await node.api.call<Array<{ groupId: string, messages: number }>>('GET', '/v1/groups')
      if (groups.find(g => g.groupId === groupId)?.messages === count) {
        syncedAt = now()
        joinerCpu = cpuSecondsOf(node.pid)
      }
      return !Number.isNaN(syncedAt)
    }, 60_000, 5)
    await join
    return {
      readyMs: round(node.readyAt - t0, 1),
      connectedMs: round(connectedAt - t0, 1),
      admittedMs: round(admittedAt - t0, 1),
      syncedMs: round(syncedAt - t0, 1),
      joinerCpuMs: round(joinerCpu * 1000, 0),
      hubCpuMs: round((cpuSecondsOf(hub.pid) - hubCpu) * 1000, 0)
    }
  } finally {
    node.api.close()
    await node.stop()
  }
}

async function bareRound (hub: OutpostProc): Promise<{ readyMs: number, connectedMs: number }> {
  const node = await startOutpost({ peers: [hub.addrs[0]] })
  try {
    await waitUntil('the hub connected', async () => await peerConnected(node, hub.peerId), 20_000, 5)
    return { readyMs: round(node.readyAt - node.spawnedAt, 1), connectedMs: round(now() - node.spawnedAt, 1) }
  } finally {
    node.api.close()
    await node.stop()
  }
}

export async function coldJoinBench (opts: ColdJoinOptions = {}): Promise<BenchResult> {
  const count = opts.messages ?? 10_000
  const rounds = opts.rounds ?? 3
  log(`cold-join: seeding a group of ${count} messages`)
  const seeded = await seed(count)
  log(`cold-join: seeded in ${seeded.seconds.toFixed(1)} s`)
  const hub = await startOutpost({ dataDir: seeded.dataDir })
  try {
    const joins: Round[] = []
    const bare: Array<{ readyMs: number, connectedMs: number }> = []
    // Alternating, so that a disturbance of the machine touches both alike.
    for (let i = 0; i < rounds; i++) {
      const r = await oneRound(hub, seeded.groupId, count)
      log(`cold-join: round ${i + 1}/${rounds}: ready ${r.readyMs} ms, connected ${r.connectedMs} ms, admitted ${r.admittedMs} ms, ${count} messages held ${r.syncedMs} ms; CPU: new node ${r.joinerCpuMs} ms, hub ${r.hubCpuMs} ms`)
      joins.push(r)
      bare.push(await bareRound(hub))
    }
    const med = (f: (r: Round) => number): number => median(joins.map(f))
    const bareConnected = median(bare.map(b => b.connectedMs))
    const bareReady = median(bare.map(b => b.readyMs))
    return {
      name: 'cold-join',
      rows: [
        row({ metric: `cold join: spawn -> ${count / 1000}k messages held`, value: med(r => r.syncedMs), unit: 'ms', target: { kind: 'max', value: 1500 }, baseline: { value: bareConnected, label: 'bare start -> hub connected' } }),
        row({ metric: 'cold join: spawn -> ready line', value: med(r => r.readyMs), unit: 'ms', baseline: { value: bareReady, label: 'bare start -> ready' } }),
        row({ metric: 'cold join: ready -> hub connected', value: med(r => r.connectedMs - r.readyMs), unit: 'ms' }),
        row({ metric: 'cold join: ready -> admitted (join call answers)', value: med(r => r.admittedMs - r.readyMs), unit: 'ms' }),
        row({ metric: `cold join: admitted -> ${count / 1000}k messages held`, value: med(r => r.syncedMs - r.admittedMs), unit: 'ms' }),
        row({ metric: 'cold join: CPU of the new node, spawn -> held (all threads)', value: med(r => r.joinerCpuMs), unit: 'ms' }),
        row({ metric: 'cold join: CPU of the hub in the round (all threads)', value: med(r => r.hubCpuMs), unit: 'ms' })
      ],
      details: { messages: count, rounds, seedSeconds: round(seeded.seconds, 1), joins, bare }
    }
  } finally {
    hub.api.close()
    await hub.stop()
  }
}
