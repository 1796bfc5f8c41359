/**
 * Start to connected, and idle memory.
 *
 * A "hub" node runs; a new `outpost start --peer HUB` process is spawned (loopback, no
 * mDNS: in the root namespace a static peer stands in for mDNS discovery, which the design
 * measures at tens of milliseconds on one segment). Measured from just before spawn:
 *  - ready: the JSON ready line is read on its stdout;
 *  - connected: the first poll (every 5 ms) of its GET /v1/peers that shows the hub as
 *    connected (so up to ~5 ms of polling and one local HTTP request are included).
 * Cold = fresh data directory (identity created, LevelDB created); warm = restart of an
 * existing one. Baselines: a bare createHost() process that dials the hub (raw-peer.ts,
 * connected when its /status shows a connection), and an empty `node -e 0` (Node itself).
 *
 * Idle memory: VmRSS of a node that holds one group with one connected peer, after
 * settling; baseline: the bare libp2p process, settled alike.
 */
import '../../node/polyfill.js'
import { spawn } from 'node:child_process'
import { log, median, memoryOf, now, round, row, sleep, startOutpost, startRaw, track, waitUntil, type BenchResult, type OutpostProc } from './lib.js'

export interface StartupOptions {
  cold?: number
  warm?: number
  settleMs?: number
}

async function timeToConnected (node: OutpostProc, hubPeerId: string): Promise<number> {
  await waitUntil('the hub to show as connected', async () => {
    const peers = await node.api.call<Array<{ peerId: string, connected: boolean }>>('GET', '/v1/peers')
    return peers.some(p => p.peerId === hubPeerId && p.connected)
  }, 10_000, 5)
  return now() - node.spawnedAt
}

async function nodeFloorMs (): Promise<number> {
  const t = now()
  await new Promise<void>((resolve, reject) => {
    const p = track(spawn(process.execPath, ['-e', '0'], { stdio: 'ignore' }))
    p.once('exit', () => { resolve() })
    p.once('error', reject)
  })
  return now() - t
}

export async function startupBench (opts: StartupOptions = {}): Promise<BenchResult> {
  const coldRuns = opts.cold ?? 3
  const warmRuns = opts.warm ?? 2
  const settleMs = opts.settleMs ?? 4_000
  log('startup: hub node')
  const hub = await startOutpost()
  try {
    const cold: Array<{ readyMs: number, connectedMs: number, stopMs: number }> = []
    const warm: Array<{ readyMs: number, connectedMs: number, stopMs: number }> = []
    let lastDir = ''
    for (let i = 0; i < coldRuns + warmRuns; i++) {
      const isWarm = i >= coldRuns
      const node = await startOutpost({ peers: [hub.addrs[0]], dataDir: isWarm ? lastDir : undefined })
      lastDir = node.dataDir
      try {
        const readyMs = node.readyAt - node.spawnedAt
        const connectedMs = await timeToConnected(node, hub.peerId)
        const stopMs = await node.stop()
        ;(isWarm ? warm : cold).push({ readyMs: round(readyMs, 1), connectedMs: round(connectedMs, 1), stopMs: round(stopMs, 1) })
        log(`startup: ${isWarm ? 'warm' : 'cold'} ready ${readyMs.toFixed(0)} ms, connected ${connectedMs.toFixed(0)} ms`)
      } finally {
        node.api.close()
        await node.stop()
      }
    }
    const raw: Array<{ readyMs: number, connectedMs: number }> = []
    for (let i = 0; i < coldRuns; i++) {
      const p = await startRaw({ topic: 'startup', dial: hub.addrs[0] })
      try {
        await waitUntil('raw peer connected', async () => (await p.api.call('GET', '/status')).connections > 0, 10_000, 5)
        raw.push({ readyMs: round(p.readyAt - p.spawnedAt, 1), connectedMs: round(now() - p.spawnedAt, 1) })
      } finally {
        p.api.close()
        await p.stop()
      }
    }
    const floor: number[] = []
    for (let i = 0; i < 3; i++) floor.push(round(await nodeFloorMs(), 1))

    log(`startup: idle memory (settle ${settleMs} ms)`)
    const { groupId, invite } = await hub.api.call<{ groupId: string, invite: string }>('POST', '/v1/groups', { name: 'idle' })
    const idle = await startOutpost({ peers: [hub.addrs[0]] })
    const rawIdle = await startRaw({ topic: 'idle', dial: hub.addrs[0] })
    const empty = track(spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60000)'], { stdio: 'ignore' }))
    let memory
    try {
      await idle.api.call('POST', '/v1/groups/join', { invite })
      await timeToConnected(idle, hub.peerId)
      await hub.api.call('POST', `/v1/groups/${groupId}/messages`, { text: 'hello idle node' })
      await sleep(settleMs)
      memory = {
        outpost: memoryOf(idle.pid),
        rawLibp2p: memoryOf(rawIdle.pid),
        emptyNode: empty.pid != null ? memoryOf(empty.pid) : null,
        hubAfterStartupRuns: memoryOf(hub.pid)
      }
    } finally {
      if (empty.exitCode == null) empty.kill('SIGKILL')
      idle.api.close()
      rawIdle.api.close()
      await Promise.all([idle.stop(), rawIdle.stop()])
    }
    const c = { ready: median(cold.map(x => x.readyMs)), connected: median(cold.map(x => x.connectedMs)) }
    const w = { ready: median(warm.map(x => x.readyMs)), connected: median(warm.map(x => x.connectedMs)) }
    const r = { ready: median(raw.map(x => x.readyMs)), connected: median(raw.map(x => x.connectedMs)) }
    const rawBase = (v: number): { value: number, label: string } => ({ value: v, label: 'bare createHost process' })
    return {
      name: 'startup',
      rows: [
        row({ metric: 'start -> connected, cold (fresh data dir)', value: c.connected, unit: 'ms', target: { kind: 'max', value: 1000 }, baseline: rawBase(r.connected) }),
        row({ metric: 'start -> connected, warm (restart)', value: w.connected, unit: 'ms', target: { kind: 'max', value: 1000 }, baseline: rawBase(r.connected) }),
        row({ metric: 'start -> ready line, cold', value: c.ready, unit: 'ms', baseline: { value: median(floor), label: 'node -e 0 (spawn to exit)' } }),
        row({ metric: 'start -> ready line, warm', value: w.ready, unit: 'ms', baseline: { value: median(floor), label: 'node -e 0 (spawn to exit)' } }),
        row({ metric: 'idle memory, one node (VmRSS)', value: memory.outpost.rssMB, unit: 'MB', target: { kind: 'max', value: 100 }, baseline: { value: memory.rawLibp2p.rssMB, label: 'bare createHost process' } })
      ],
      details: { cold, warm, rawLibp2p: raw, nodeFloorMs: floor, settleMs, memoryMB: memory }
    }
  } finally {
    hub.api.close()
    await hub.stop()
  }
}
