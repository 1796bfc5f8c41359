import assert from 'node:assert/strict'
import { ApiServer, OutpostNode } from '../../node/index.js'
import { LOOPBACK_LISTEN, startNode, waitFor } from '../helpers/nodes.js'

const TOKEN = 'c'.repeat(64)

describe('the local API: the display name chosen at first run, and the network view', function () {
  this.timeout(30_000)
  let ann: OutpostNode
  let ben: OutpostNode
  let server: ApiServer
  let url: string

  before(async () => {
    // No name given: the identity gets the system's user name, not chosen by anyone.
    ann = await OutpostNode.create({ listen: LOOPBACK_LISTEN, mdns: false })
    await ann.start()
    server = new ApiServer(ann, { token: TOKEN })
    url = await server.start()
    ben = await startNode({ name: 'ben', peers: [ann.addrs[0]] })
  })

  after(async () => {
    await server?.stop()
    await ann?.stop()
    await ben?.stop()
  })

  async function call (method: 'GET' | 'POST', path: string, body?: unknown): Promise<{ status: number, body: any }> {
    const res = await fetch(url + path, { method, headers: { authorization: `Bearer ${TOKEN}` }, body: body === undefined ? undefined : JSON.stringify(body) })
    return { status: res.status, body: await res.json() }
  }

  it('says the name was never chosen, takes one, and the members of a group learn it', async () => {
    assert.equal((await call('GET', '/v1/status')).body.named, false)
    const { groupId, invite } = await ann.createGroup('Field team')
    await ben.joinGroup(invite)

    const bad = await call('POST', '/v1/profile', { name: '   ' })
    assert.deepEqual([bad.status, bad.body.error.name], [400, 'InvalidRequestError'])
    const set = await call('POST', '/v1/profile', { name: '安娜 Ann' })
    assert.deepEqual([set.status, set.body], [200, { name: '安娜 Ann' }])
    const status = (await call('GET', '/v1/status')).body
    assert.deepEqual([status.name, status.named], ['安娜 Ann', true])
    await waitFor('ben to learn the new name', () => ben.members(groupId).some(m => m.peerId === ann.peerId && m.name === '安娜 Ann'))
  })

  it('answers who is reachable and when each group last synced with each member; a member gone shows as unreachable', async () => {
    await waitFor('a completed sync', async () => {
      const net = (await call('GET', '/v1/network')).body
      return net.groups[0]?.members[0]?.lastSync != null
    })
    const net = (await call('GET', '/v1/network')).body
    assert.deepEqual([net.reachable, net.total], [1, 1])
    assert.equal(net.members[0].peerId, ben.peerId)
    assert.equal(net.members[0].connected, true)
    const groupId = net.groups[0].groupId
    const members = (await call('GET', `/v1/groups/${groupId}/members`)).body as Array<{ peerId: string, lastSync?: number }>
    assert.ok((members.find(m => m.peerId === ben.peerId)?.lastSync ?? 0) > 0)

    await ben.stop()
    await waitFor('ben unreachable', async () => (await call('GET', '/v1/network')).body.reachable === 0)
    const after = (await call('GET', '/v1/network')).body
    assert.deepEqual([after.reachable, after.total], [0, 1])
    assert.ok(after.members[0].lastSeen > 0)
  })
})
