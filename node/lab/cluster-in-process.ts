/**
 * The lab without root: every node in this process, on loopback TCP, each with its LevelDB
 * on disk and its local API on a loopback port. Segments and partitions are a connection
 * gater (two nodes may talk when they share a segment, are on the same side of the cut and
 * neither is paused) that also hangs up what a cut crosses; delay, loss and bandwidth are
 * the node's own fault injector. What cannot be had in one process: a kill is a stop at
 * once (the node still flushes, unlike kill -9), a pause cuts the node off rather than
 * freezing it, and CPU and memory are the whole process's.
 */
import { randomBytes } from 'node:crypto'
import { createServer } from 'node:net'
import { join } from 'node:path'
import type { ConnectionGater, PeerId } from '@libp2p/interface'
import { ApiServer } from '../api/server.js'
import { OutpostNode } from '../outpost-node.js'
import type { LabCluster, NodeUsage } from './cluster.js'
import { NodeClient } from './node-client.js'
import type { Scenario } from './scenario.js'

interface RunningNode {
  node: OutpostNode
  api: ApiServer
  client: NodeClient
}

async function freePort (): Promise<number> {
  const server = createServer()
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  const port = (server.address() as { port: number }).port
  await new Promise<void>(resolve => server.close(() => { resolve() }))
  return port
}

export class InProcessCluster implements LabCluster {
  readonly mode = 'in-process'
  readonly limitsInNode = true
  private readonly running = new Map<string, RunningNode>()
  private readonly ports = new Map<string, number>()
  private readonly nameOfPeer = new Map<string, string>()
  private readonly side = new Map<string, number>()
  private readonly paused = new Set<string>()
  private readonly token = randomBytes(32).toString('hex')

  constructor (private readonly scenario: Scenario, private readonly workDir: string) {}

  dataDir (node: string): string { return join(this.workDir, node) }

  async start (progress: (text: string) => void): Promise<void> {
    for (const node of this.scenario.nodes) this.ports.set(node, await freePort())
    let started = 0
    for (const node of this.scenario.nodes) {
      await this.startNode(node)
      progress(`started ${++started} of ${this.scenario.nodes.length} nodes in this process`)
    }
  }

  /** May these two nodes talk now? */
  private canTalk (a: string, b: string): boolean {
    if (this.paused.has(a) || this.paused.has(b)) return false
    if ((this.side.get(a) ?? -1) !== (this.side.get(b) ?? -1)) return false
    return this.scenario.segments.some(s => s.includes(a) && s.includes(b))
  }

  private gater (self: string): ConnectionGater {
    const deny = (peer: PeerId): boolean => {
      const other = this.nameOfPeer.get(peer.toString())
      return other != null && !this.canTalk(self, other)
    }
    return { denyDialPeer: deny, denyInboundEncryptedConnection: deny, denyOutboundEncryptedConnection: deny }
  }

  private async startNode (name: string): Promise<void> {
    const peers = this.scenario.nodes
      .filter(other => other !== name && this.scenario.segments.some(s => s.includes(name) && s.includes(other)))
      .map(other => `/ip4/127.0.0.1/tcp/${this.ports.get(other) ?? 0}`)
    const node = await OutpostNode.create({
      dataDir: this.dataDir(name),
      name,
      listen: [`/ip4/127.0.0.1/tcp/${this.ports.get(name) ?? 0}`],
      peers,
      mdns: false,
      syncIntervalMs: this.scenario.syncIntervalMs,
      labFaults: true,
      connectionGater: this.gater(name)
    })
    this.nameOfPeer.set(node.peerId, name)
    await node.start()
    const api = new ApiServer(node, { host: '127.0.0.1', port: 0, token: this.token })
    const url = await api.start()
    this.running.set(name, { node, api, client: new NodeClient({ url }, this.token) })
  }

  private require (name: string): RunningNode {
    const running = this.running.get(name)
    if (running == null) throw new Error(`${name} is not running`)
    return running
  }

  client (name: string): NodeClient { return this.require(name).client }

  /** Hangs up every connection the current rules forbid. */
  private async enforce (): Promise<void> {
    await Promise.all([...this.running.entries()].flatMap(([name, { node }]) => node.host.getConnections()
      .filter(c => { const other = this.nameOfPeer.get(c.remotePeer.toString()); return other != null && !this.canTalk(name, other) })
      .map(async c => { await c.close().catch(() => {}) })))
  }

  async partition (sides: string[][]): Promise<void> {
    this.side.clear()
    sides.forEach((members, i) => { for (const m of members) this.side.set(m, i) })
    await this.enforce()
  }

  async heal (): Promise<void> { this.side.clear() }

  async kill (name: string): Promise<void> {
    const { node, api, client } = this.require(name)
    this.running.delete(name)
    client.close()
    await api.stop()
    await node.stop()
  }

  async restart (name: string): Promise<void> { await this.startNode(name) }

  async pause (name: string): Promise<void> {
    this.paused.add(name)
    await this.enforce()
  }

  async resume (name: string): Promise<void> { this.paused.delete(name) }

  async limit (): Promise<void> {
    throw new Error('in-process nodes take their bandwidth limit as a fault (limitsInNode)')
  }

  async usage (): Promise<NodeUsage | null> { return null }
  logTail (): string { return '' }

  async stop (): Promise<void> {
    await Promise.all([...this.running.keys()].map(async name => { await this.kill(name) }))
  }
}
