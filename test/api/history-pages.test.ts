import assert from 'node:assert/strict'
import { ApiServer, type OutpostNode } from '../../node/index.js'
import { startNode } from '../helpers/nodes.js'

const TOKEN = 'c'.repeat(64)

describe('the local API: history pages (before, after, around)', function () {
  this.timeout(30_000)
  let node: OutpostNode
  let server: ApiServer
  let url: string
  let groupId: string
  const ids: string[] = []

  before(async () => {
    node = await startNode({ name: 'pages' })
    server = new ApiServer(node, { token: TOKEN })
    url = await server.start()
    groupId = (await node.createGroup('pages')).groupId
    for (let i = 0; i < 50; i++) ids.push((await node.send(groupId, `m${i}`)).id)
  })

  after(async () => {
    await server.stop()
    await node.stop()
  })

  async function page (query: string): Promise<{ status: number, body: any }> {
    const res = await fetch(`${url}/v1/groups/${groupId}/messages?${query}`, { headers: { authorization: `Bearer ${TOKEN}` } })
    return { status: res.status, body: await res.json() }
  }
  const texts = (list: Array<{ text: string }>): string[] => list.map(m => m.text)
  const range = (from: number, to: number): string[] => Array.from({ length: to - from }, (_, i) => `m${from + i}`)

  it('answers the page before a message, oldest first, and an empty page at the start', async () => {
    assert.deepEqual(texts((await page(`before=${ids[30]}&limit=10`)).body), range(20, 30))
    assert.deepEqual(texts((await page(`before=${ids[3]}&limit=10`)).body), range(0, 3))
    assert.deepEqual((await page(`before=${ids[0]}&limit=10`)).body, [])
  })

  it('answers the page after a message, and around one (the message in the middle)', async () => {
    assert.deepEqual(texts((await page(`after=${ids[45]}&limit=10`)).body), range(46, 50))
    assert.deepEqual(texts((await page(`around=${ids[25]}&limit=10`)).body), range(20, 30))
    assert.deepEqual(texts((await page(`around=${ids[1]}&limit=6`)).body), range(0, 6))
    assert.deepEqual(texts((await page('limit=5')).body), range(45, 50))
  })

  it('refuses an unknown anchor, a malformed one, and two anchors at once', async () => {
    for (const query of [`before=${'0'.repeat(24)}`, 'around=nope', `before=${ids[1]}&after=${ids[2]}`]) {
      const r = await page(query)
      assert.deepEqual([r.status, r.body.error.name], [400, 'InvalidRequestError'], query)
    }
  })
})
