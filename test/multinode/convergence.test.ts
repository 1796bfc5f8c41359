import assert from 'node:assert/strict'
import type { OutpostNode } from '../../node/index.js'
import { seededRandom } from '../helpers/messages.js'
import { waitFor } from '../helpers/nodes.js'
import { PartitionControl } from '../helpers/partition.js'

const NODES = 5
const ROUNDS = 14

/** Splits node indexes into 2 or 3 non-empty sides at random. */
function randomSides (random: () => number): number[][] {
  const count = random() < 0.7 ? 2 : 3
  const order = [...Array(NODES).keys()].sort(() => random() - 0.5)
  const sides: number[][] = Array.from({ length: count }, () => [])
  order.forEach((n, i) => { sides[i < count ? i : Math.floor(random() * count)].push(n) })
  return sides
}

describe('convergence under seeded partitions (5 nodes, one process)', function () {
  this.timeout(90_000)

  for (const seed of [1, 2, 3, 4]) {
    it(`seed ${seed}: after the final heal every node holds the same ids in the same order`, async () => {
      const random = seededRandom(seed)
      const partitions = new PartitionControl()
      const nodes: OutpostNode[] = []
      try {
        for (let i = 0; i < NODES; i++) {
          nodes.push(await partitions.startNode({ name: `n${i}`, syncIntervalMs: 1_000, redial: { minBackoffMs: 50, maxBackoffMs: 400 } }))
        }
        for (const a of nodes) for (const b of nodes) if (a !== b) a.discovery.addPeer(b.peerId, b.addrs)
        const { groupId, invite } = await nodes[0].createGroup('convergence')
        for (const node of nodes.slice(1)) await node.joinGroup(invite)

        const sent: string[] = []
        for (let round = 0; round < ROUNDS; round++) {
          const r = random()
          if (r < 0.45) await partitions.split(nodes, randomSides(random))
          else if (r < 0.7) partitions.heal()
          // Everyone writes, whichever side of a cut they are on.
          await Promise.all(nodes.map(async (node, i) => {
            const count = Math.floor(random() * 4)
            for (let k = 0; k < count; k++) sent.push((await node.send(groupId, `seed ${seed} round ${round} from n${i} #${k}`)).id)
          }))
          await new Promise(resolve => setTimeout(resolve, 50 + Math.floor(random() * 200)))
        }
        partitions.heal()

        const expected = [...sent].sort()
        await waitFor('every node to hold every message', () =>
          nodes.every(n => n.history(groupId).length === sent.length), 45_000)
        const orders = nodes.map(n => n.history(groupId).map(m => m.id))
        for (const order of orders) {
          assert.deepEqual([...order].sort(), expected, 'same set of ids, no duplicates')
          assert.deepEqual(order, orders[0], 'same display order')
        }
      } finally {
        await Promise.all(nodes.map(async n => { await n.stop() }))
      }
    })
  }
})
