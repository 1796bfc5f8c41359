import assert from 'node:assert/strict'
import type { OutpostNode } from '../../node/index.js'
import { startNode, waitFor } from '../helpers/nodes.js'

describe('direct messages', function () {
  this.timeout(30_000)
  const nodes: OutpostNode[] = []
  after(async () => { await Promise.all(nodes.map(async n => { await n.stop() })) })

  const start = async (name: string): Promise<OutpostNode> => {
    const node = await startNode({ name, syncIntervalMs: 500 })
    nodes.push(node)
    return node
  }
  const meet = async (a: OutpostNode, b: OutpostNode): Promise<void> => {
    a.discovery.addPeer(b.peerId, b.addrs)
    // Box keys travel in sync HELLO: one exchange each way.
    await waitFor(`${a.name} and ${b.name} to have synced`, () => a.sync.stats.exchanges > 0 && b.sync.stats.exchanges > 0)
  }

  it('reach the other person only, in both directions, and read as a group of two', async () => {
    const ann = await start('ann')
    const bo = await start('bo')
    const cy = await start('cy')
    await meet(ann, bo)
    await meet(ann, cy)
    await meet(bo, cy)
    const { groupId, message } = await ann.dm('bo', 'just between us')
    await waitFor('bo to get it', () => bo.listGroups().some(g => g.groupId === groupId) && bo.history(groupId).some(m => m.id === message.id))
    const onBo = bo.listGroups().find(g => g.groupId === groupId)
    assert.deepEqual([onBo?.dm, onBo?.name, onBo?.members, onBo?.role], [ann.peerId, 'ann', 2, 'member'])
    const reply = await bo.dm(ann.peerId, 'agreed')
    assert.equal(reply.groupId, groupId, 'one group per pair, whoever writes first')
    await waitFor('ann to get the reply', () => ann.history(groupId).some(m => m.id === reply.message.id))
    assert.deepEqual(ann.history(groupId).map(m => m.text), ['just between us', 'agreed'])
    // A file in a direct message: the other person fetches it; nobody else is served it.
    const { fileId } = await ann.sendFile(groupId, [Buffer.from('the contract, signed')], { name: 'contract.txt' })
    await waitFor('bo to see the file', () => bo.history(groupId).some(m => m.file?.id === fileId))
    bo.files.fetch(fileId)
    await waitFor('bo to fetch it', () => bo.files.status(fileId).state === 'complete')
    assert.equal(ann.files.server.stats.refused, 0)
    // The third node never holds it, and may not be let in.
    await new Promise(resolve => setTimeout(resolve, 1_000))
    assert.equal(cy.listGroups().some(g => g.groupId === groupId), false)
    assert.throws(() => ann.invite(groupId), (e: Error) => e.name === 'NotAllowedError')
  })

  it('both people writing first at the same moment still end in one conversation both read', async () => {
    const dee = await start('dee')
    const eve = await start('eve')
    await meet(dee, eve)
    const [a, b] = await Promise.all([dee.dm(eve.peerId, 'from dee'), eve.dm(dee.peerId, 'from eve')])
    assert.equal(a.groupId, b.groupId)
    await waitFor('both to read both', () => [dee, eve].every(n => n.history(a.groupId).length === 2))
    assert.deepEqual(dee.history(a.groupId).map(m => m.id), eve.history(a.groupId).map(m => m.id))
  })

  it('needs to have met the other node first', async () => {
    const fay = await start('fay')
    const gus = await start('gus')
    fay.discovery.addPeer(gus.peerId, ['/ip4/127.0.0.1/tcp/1'])
    await assert.rejects(fay.dm(gus.peerId, 'hello?'), (e: Error) => e.name === 'NotAllowedError' && /has not met/.test(e.message))
  })
})
