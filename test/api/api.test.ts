import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import WebSocket from 'ws'
import { ApiServer, type OutpostNode } from '../../node/index.js'
import { startNode, waitFor } from '../helpers/nodes.js'

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
      const before = Date.now()
      const sent = await call('POST', `/v1/groups/${created.body.groupId as string}/messages`, { body: JSON.stringify({ text: 'over the socket' }) })
      assert.equal(sent.status, 201)
      const deadline = Date.now() + 5_000
      while (!events.some(e => e.type === 'message') && Date.now() < deadline) await new Promise(resolve => setTimeout(resolve, 20))
      assert.equal(events[0].type, 'hello')
      const event = events.find(e => e.type === 'message')
      assert.deepEqual([event.groupId, event.message.id, event.message.text, event.origin], [created.body.groupId, sent.body.messageId, 'over the socket', 'local'])
      // when the node had it: stamped by the node, between the request and our reading it
      assert.ok(typeof event.at === 'number' && event.at >= before - 1 && event.at <= Date.now() + 1, `at ${String(event.at)} within the send`)
    } finally {
      ws.close()
    }
  })

  it('takes a file as raw bytes, answers its status, serves it back, and reports another node\'s fetch as events', async () => {
    const created = await call('POST', '/v1/groups', { body: JSON.stringify({ name: 'files' }) })
    const groupId = created.body.groupId as string
    const data = randomBytes(3 * 1024 * 1024 + 5)
    const sent = await call('POST', `/v1/groups/${groupId}/files?name=${encodeURIComponent('plan v2.pdf')}&text=latest`, { body: data as unknown as string, headers: { 'content-type': 'application/pdf' } })
    assert.equal(sent.status, 201, JSON.stringify(sent.body))
    const fileId = sent.body.fileId as string
    assert.deepEqual([sent.body.message.text, sent.body.message.file.name, sent.body.message.file.mime, sent.body.message.file.size], ['latest', 'plan v2.pdf', 'application/pdf', data.length])
    const status = await call('GET', `/v1/files/${fileId}`)
    assert.deepEqual([status.body.state, status.body.chunks, status.body.messageId], ['complete', { held: 4, total: 4 }, sent.body.messageId])
    const res = await fetch(`${url}/v1/files/${fileId}/content`, { headers: { authorization: `Bearer ${TOKEN}` } })
    assert.equal(res.status, 200)
    assert.equal(res.headers.get('content-type'), 'application/pdf')
    assert.equal(res.headers.get('content-disposition'), 'attachment; filename="plan v2.pdf"; filename*=UTF-8\'\'plan%20v2.pdf')
    assert.ok(Buffer.from(await res.arrayBuffer()).equals(data))
    const noName = await call('POST', `/v1/groups/${groupId}/files`, { body: 'x' })
    assert.deepEqual([noName.status, noName.body.error.name], [400, 'InvalidRequestError'])
    const unknown = await call('GET', `/v1/files/${'e'.repeat(64)}`)
    assert.deepEqual([unknown.status, unknown.body.error.name], [404, 'UnknownFileError'])

    // A second node with its own API fetches the file; its WebSocket shows the progress.
    const other = await startNode({ name: 'other' })
    const otherServer = new ApiServer(other, { token: TOKEN })
    const otherUrl = await otherServer.start()
    const ws = new WebSocket(otherUrl.replace('http', 'ws') + '/v1/events', { headers: { authorization: `Bearer ${TOKEN}` } })
    const events: any[] = []
    ws.on('message', raw => events.push(JSON.parse(String(raw))))
    try {
      await new Promise(resolve => ws.once('open', resolve))
      other.discovery.addPeer(node.peerId, node.addrs)
      const invite = (await call('GET', `/v1/groups/${groupId}/invite`)).body.invite as string
      assert.equal((await other.joinGroup(invite)).admitted, true)
      await waitFor('the message on the other node', () => other.history(groupId).some(m => m.file?.id === fileId))
      const early = await fetch(`${otherUrl}/v1/files/${fileId}/content`, { headers: { authorization: `Bearer ${TOKEN}` } })
      assert.deepEqual([early.status, ((await early.json()) as any).error.name], [409, 'FileNotReadyError'])
      const started = await fetch(`${otherUrl}/v1/files/${fileId}/fetch`, { method: 'POST', headers: { authorization: `Bearer ${TOKEN}` } })
      assert.equal(started.status, 200)
      await waitFor('a complete event', () => events.some(e => e.type === 'file' && e.fileId === fileId && e.state === 'complete'))
      const states = events.filter(e => e.type === 'file').map(e => e.state as string)
      assert.ok(states.includes('fetching') || states.includes('verifying'), states.join(','))
      const last = events.filter(e => e.type === 'file').at(-1)
      assert.deepEqual([last.bytes, last.sources.map((x: any) => [x.peerId, x.chunks])], [{ held: data.length, total: data.length }, [[node.peerId, 4]]])
    } finally {
      ws.close()
      await otherServer.stop()
      await other.stop()
    }
  })
})
