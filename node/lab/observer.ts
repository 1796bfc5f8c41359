/**
 * What the lab sees while a scenario runs: when each message reached each node (from the
 * nodes' event streams, and from their histories after a restart, when the stream missed
 * what sync delivered first), and the nodes' counters and resource use sampled over time.
 */
import type WebSocket from 'ws'
import type { LabCluster, NodeUsage } from './cluster.js'

const SAMPLE_EVERY_MS = 1_000

interface SyncCounters { updateBytesReceived: number }

export class Observer {
  /** node -> message id -> ms after t0 when the node first held it */
  readonly seen = new Map<string, Map<string, number>>()
  private readonly sockets = new Map<string, WebSocket>()
  private readonly syncBytes = new Map<string, { total: number, last: number }>()
  private readonly usage = new Map<string, { first: NodeUsage & { atMs: number } | null, last: NodeUsage & { atMs: number } | null, peakRss: number }>()
  private processFirst: { cpu: NodeJS.CpuUsage, atMs: number } | null = null
  private processPeakRss = 0
  private sampler: NodeJS.Timeout | null = null

  constructor (private readonly cluster: LabCluster, nodes: string[], private readonly groupId: string, private readonly t0: () => number) {
    for (const node of nodes) this.seen.set(node, new Map())
  }

  private now (): number { return performance.now() - this.t0() }

  mark (node: string, id: string, atMs = this.now()): void {
    const seen = this.seen.get(node)
    if (seen != null && !seen.has(id)) seen.set(id, atMs)
  }

  /** (Re)connects to a node's event stream; after a restart, also reads what it already holds. */
  async watch (node: string, fromHistory: boolean): Promise<void> {
    this.sockets.get(node)?.terminate()
    const ws = this.cluster.client(node).events(event => {
      if (event.type !== 'message') return
      const e = event as unknown as { groupId: string, message: { id: string } }
      if (e.groupId === this.groupId) this.mark(node, e.message.id)
    })
    ws.on('error', () => {})
    this.sockets.set(node, ws)
    await new Promise<void>(resolve => { ws.once('open', () => { resolve() }); ws.once('close', () => { resolve() }) })
    if (fromHistory) {
      const history = await this.cluster.client(node).get<Array<{ id: string }>>(`/v1/groups/${this.groupId}/messages`, 30_000)
      for (const m of history) this.mark(node, m.id)
    }
  }

  unwatch (node: string): void {
    this.sockets.get(node)?.terminate()
    this.sockets.delete(node)
  }

  startSampling (live: () => string[]): void {
    this.processFirst = { cpu: process.cpuUsage(), atMs: this.now() }
    const sample = async (): Promise<void> => {
      this.processPeakRss = Math.max(this.processPeakRss, process.memoryUsage().rss)
      await Promise.all(live().map(async node => {
        const usage = await this.cluster.usage(node)
        if (usage != null) {
          const u = this.usage.get(node) ?? { first: null, last: null, peakRss: 0 }
          const stamped = { ...usage, atMs: this.now() }
          // A restarted node's CPU time starts again from zero: measure from its new start.
          if (u.first == null || (u.last != null && usage.cpuSeconds < u.last.cpuSeconds)) u.first = stamped
          u.last = stamped
          u.peakRss = Math.max(u.peakRss, usage.rssBytes)
          this.usage.set(node, u)
        }
        const status = await this.cluster.client(node).get<{ stats?: { sync?: SyncCounters } }>('/v1/status', 2_000).catch(() => null)
        const bytes = status?.stats?.sync?.updateBytesReceived
        if (bytes != null) {
          const c = this.syncBytes.get(node) ?? { total: 0, last: 0 }
          // Counters restart with the process: count what the new one received from zero.
          c.total += bytes >= c.last ? bytes - c.last : bytes
          c.last = bytes
          this.syncBytes.set(node, c)
        }
      }))
    }
    let busy = false
    this.sampler = setInterval(() => {
      if (busy) return
      busy = true
      sample().catch(() => {}).finally(() => { busy = false })
    }, SAMPLE_EVERY_MS)
    void sample()
  }

  /** Sync bytes counted from the first sample, which is taken before the load starts. */
  syncBytesReceived (node: string): number {
    const c = this.syncBytes.get(node)
    return c == null ? 0 : c.total - (this.baseline.get(node) ?? 0)
  }

  private readonly baseline = new Map<string, number>()
  /** From now on, sync bytes count towards the run (the set-up's own sync is left out). */
  resetSyncBaseline (): void {
    for (const [node, c] of this.syncBytes) this.baseline.set(node, c.total)
  }

  cpuPercent (node: string): number | null {
    const u = this.usage.get(node)
    if (u?.first == null || u.last == null || u.last.atMs <= u.first.atMs) return null
    return Math.round((u.last.cpuSeconds - u.first.cpuSeconds) / ((u.last.atMs - u.first.atMs) / 1000) * 1000) / 10
  }

  peakRss (node: string): number | null { return this.usage.get(node)?.peakRss ?? null }

  processUsage (): { cpuPercent: number, peakRssBytes: number } | undefined {
    if (this.processFirst == null) return undefined
    const cpu = process.cpuUsage(this.processFirst.cpu)
    const seconds = (this.now() - this.processFirst.atMs) / 1000
    return { cpuPercent: Math.round((cpu.user + cpu.system) / 1e6 / seconds * 1000) / 10, peakRssBytes: this.processPeakRss }
  }

  stop (): void {
    if (this.sampler != null) clearInterval(this.sampler)
    for (const ws of this.sockets.values()) ws.terminate()
    this.sockets.clear()
  }
}
