import assert from 'node:assert/strict'
import { mkdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import type { OutpostNode } from '../../node/index.js'
import { removeDir, startNode, tempDir, waitFor } from '../helpers/nodes.js'

const connected = (a: OutpostNode, b: OutpostNode): boolean => a.peers().some(p => p.peerId === b.peerId && p.connected)

describe('static peers, the peer book and redial (no mDNS)', function () {
  this.timeout(30_000)
  const nodes: OutpostNode[] = []
  let dir: string

  beforeEach(async () => { dir = await tempDir('outpost-discovery-') })
  afterEach(async () => {
    await Promise.all(nodes.splice(0).map(async n => { await n.stop() }))
    await removeDir(dir)
  })

  async function start (name: string, init: Parameters<typeof startNode>[0] | object = {}): Promise<OutpostNode> {
    const node = await startNode({ name, dataDir: join(dir, name), redial: { minBackoffMs: 50, maxBackoffMs: 300 }, ...init })
    nodes.push(node)
    return node
  }

  it('connects to a --peer address, and after a restart redials it from the peer book alone', async () => {
    const hub = await start('hub')
    let spoke = await start('spoke', { peers: [hub.addrs[0]] })
    await waitFor('spoke to reach hub', () => connected(spoke, hub) && connected(hub, spoke))
    await waitFor('the peer book to learn hub\'s name', () => spoke.peers()[0]?.name === 'hub')

    await spoke.stop()
    nodes.splice(nodes.indexOf(spoke), 1)
    spoke = await start('spoke') // no --peer this time
    await waitFor('spoke to redial hub from its peer book', () => connected(spoke, hub))
    const record = spoke.peers().find(p => p.peerId === hub.peerId)
    assert.equal(record?.name, 'hub')
    assert.ok(record?.addrs.some(a => hub.addrs.some(h => h.startsWith(a))), JSON.stringify(record))
  })

  it('reads static peers from the data directory\'s peers file', async () => {
    const hub = await start('hub')
    await mkdir(join(dir, 'spoke'), { recursive: true })
    await writeFile(join(dir, 'spoke', 'peers'), `# the hub\n${hub.addrs[0]}\n\n`)
    const spoke = await start('spoke')
    await waitFor('spoke to reach the hub from its peers file', () => connected(spoke, hub))
  })

  it('redials a peer whose connection dropped, without a restart', async () => {
    const hub = await start('hub')
    const spoke = await start('spoke', { peers: [hub.addrs[0]] })
    await waitFor('first connection', () => connected(spoke, hub))
    for (let i = 0; i < 3; i++) {
      await hub.host.hangUp(spoke.host.peerId)
      await waitFor(`reconnection ${i + 1}`, () => connected(spoke, hub))
    }
  })
})
