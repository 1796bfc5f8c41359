import assert from 'node:assert/strict'
import WebSocket from 'ws'
import { ApiServer, type OutpostNode } from '../../node/index.js'
import { startNode } from '../helpers/nodes.js'

const TOKEN = 'a'.repeat(64)

describe('the local API', function () {
  this.timeout(20_000)
  let node: OutpostNode
  let server: ApiServer
  let url: string

  before(async () => {
    node = await startNode({ name: 'api' })
    server = new ApiServer(node, { token: TOKEN })
    url = await server.start()
  })

  after(async () => {
    await server.stop()
    await node.stop()
  })

  async function call (method: string, path: string, options: { token?: string | null, body?: string, headers?: Record<string, string> } = {}): Promise<{ status: number, body: any }> {
    const token = options.token === undefined ? TOKEN : options.token
    const res = await fetch(url + path, {
      method,
      headers: { ...(token != null ? { authorization: `Bearer ${token}` } : {}), ...options.headers },
      body: options.body
    })
    return { status: res.status, body: await res.json() }
  }

  it('listens on loopback only', () => {
    assert.match(url, /^http:\/\/127\.0\.0\.1:\d+$/)
  })

  it('refuses requests without the token, with a wrong one, or from another origin', async () => {
    for (const r of [await call('GET', '/v1/status', { token: null }), await call('GET', '/v1/status', { token: 'b'.repeat(64) }),
      await call('GET', '/v1/status', { headers: { origin: 'http://intranet.example' } })]) {
      assert.equal(r.status, 401)
      assert.equal(r.body.error.name, 'UnauthorizedError')
    }
    assert.equal((await call('GET', '/v1/status')).body.peerId, node.peerId)
  })

  it('answers bad requests with a named error and the right status', async () => {
    const notJson = await call('POST', '/v1/groups', { body: '{nope' })
    assert.deepEqual([notJson.status, notJson.body.error.name], [400, 'InvalidRequestError'])
    const noName = await call('POST', '/v1/groups', { body: '{}' })
    assert.deepEqual([noName.status, noName.body.error.name], [400, 'InvalidRequestError'])
    const tooBig = await call('POST', '/v1/groups', { body: JSON.stringify({ name: 'x'.repeat(2 * 1024 * 1024) }) })
    assert.deepEqual([tooBig.status, tooBig.body.error.name], [413, 'PayloadTooLargeError'])
    const unknown = await call('GET', `/v1/groups/${'0'.repeat(32)}/messages`)
    assert.deepEqual([unknown.status, unknown.body.error.name], [404, 'UnknownGroupError'])
    const badInvite = await call('POST', '/v1/groups/join', { body: JSON.stringify({ invite: 'nope' }) })
    assert.deepEqual([badInvite.status, badInvite.body.error.name], [400, 'InvalidInviteError'])
    assert.equal((await call('GET', '/v1/nothing')).status, 404)
  })

  it('streams message events over a WebSocket that needs the token', async () => {
    const refused = new WebSocket(url.replace('http', 'ws') + '/v1/events')
    const refusal = await new Promise<string>(resolve => { refused.on('error', err => { resolve(err.message) }) })
    assert.match(refusal, /401/)

    const ws = new WebSocket(url.replace('http', 'ws') + '/v1/events', { headers: { authorization: `Bearer ${TOKEN}` } })
    const events: any[] = []
    ws.on('message', data => events.push(JSON.parse(String(data))))
    await new Promise(resolve => ws.once('open', resolve))
    try {
      const created = await call('POST', '/v1/groups', { body: JSON.stringify({ name: 'events' }) })
      assert.equal(created.status, 201)
      const sent = await call('POST', `/v1/groups/${created.body.groupId as string}/messages`, { body: JSON.stringify({ text: 'over the socket' }) })
      assert.equal(sent.status, 201)
      const deadline = Date.now() + 5_000
      while (!events.some(e => e.type === 'message') && Date.now() < deadline) await new Promise(resolve => setTimeout(resolve, 20))
      assert.equal(events[0].type, 'hello')
      const event = events.find(e => e.type === 'message')
      assert.deepEqual([event.groupId, event.message.id, event.message.text, event.origin], [created.body.groupId, sent.body.messageId, 'over the socket', 'local'])
    } finally {
      ws.close()
    }
  })
})
