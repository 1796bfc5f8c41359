import type { ConnectionGater, PeerId } from '@libp2p/interface'
import type { OutpostNode, OutpostNodeInit } from '../../node/index.js'
import { startNode } from './nodes.js'

/**
 * Partitions for in-process tests: every node's connection gater asks this object whether
 * two peers may talk, and `split` also hangs up the connections that cross the cut.
 */
export class PartitionControl {
  /** side of the cut per peer id; peers on different sides cannot connect */
  private readonly side = new Map<string, number>()

  gaterFor (self: () => string): ConnectionGater {
    const deny = (peer: PeerId): boolean => !this.canTalk(self(), peer.toString())
    return {
      denyDialPeer: deny,
      denyInboundEncryptedConnection: deny,
      denyOutboundEncryptedConnection: deny
    }
  }

  /** A started node (loopback, no mDNS) whose connections this control can cut. */
  async startNode (init: OutpostNodeInit & { name: string }): Promise<OutpostNode> {
    let self = ''
    const node = await startNode({ ...init, connectionGater: this.gaterFor(() => self) })
    self = node.peerId
    return node
  }

  canTalk (a: string, b: string): boolean {
    return (this.side.get(a) ?? 0) === (this.side.get(b) ?? 0)
  }

  /** Puts each list of nodes on its own side of a cut and closes connections across it. */
  async split (nodes: OutpostNode[], sides: number[][]): Promise<void> {
    sides.forEach((members, i) => { for (const m of members) this.side.set(nodes[m].peerId, i) })
    await Promise.all(nodes.flatMap(a => nodes
      .filter(b => a !== b && !this.canTalk(a.peerId, b.peerId))
      .map(async b => { await a.host.hangUp(b.host.peerId).catch(() => {}) })))
  }

  heal (): void {
    this.side.clear()
  }
}
