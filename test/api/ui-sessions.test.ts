import assert from 'node:assert/strict'
import { mkdir, readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import WebSocket from 'ws'
import { ApiServer, type OutpostNode } from '../../node/index.js'
import { removeDir, startNode, tempDir } from '../helpers/nodes.js'

const TOKEN = 'c'.repeat(64)

/** GET without following redirects; the cookie header given as is. */
async function get (url: string, cookie?: string): Promise<Response> {
  return await fetch(url, { redirect: 'manual', headers: cookie != null ? { cookie } : {} })
}

function sessionCookie (res: Response): string {
  const set = res.headers.get('set-cookie') ?? ''
  assert.match(set, /^outpost_session_\d+=[\w-]+; HttpOnly; SameSite=Strict; Path=\//)
  return set.split(';')[0]
}

describe('the UI\'s sign-in and files', function () {
  this.timeout(20_000)
  let node: OutpostNode
  let dir: string
  const servers: ApiServer[] = []

  before(async () => {
    node = await startNode({ name: 'ui' })
    dir = await tempDir('outpost-ui-sessions-')
  })

  after(async () => {
    for (const s of servers) await s.stop()
    await node.stop()
    await removeDir(dir)
  })

  async function serve (init: Partial<ConstructorParameters<typeof ApiServer>[1]> = {}): Promise<{ server: ApiServer, url: string }> {
    const server = new ApiServer(node, { token: TOKEN, sessionsFile: join(dir, 'ui-sessions.json'), ...init })
    servers.push(server)
    return { server, url: await server.start() }
  }

  it('a sign-in link works once and gives a session that the API and the event stream accept', async () => {
    const { server, url } = await serve()
    const link = server.signInLink()
    const first = await get(link)
    assert.equal(first.status, 303)
    assert.equal(first.headers.get('location'), '/')
    const cookie = sessionCookie(first)
    assert.equal((await get(link)).status, 401, 'the same link again')
    assert.equal((await get(`${url}/signin?code=made-up`)).status, 401)

    const status = await get(`${url}/v1/status`, cookie)
    assert.equal(status.status, 200)
    assert.equal(((await status.json()) as { peerId: string }).peerId, node.peerId)
    assert.equal((await get(`${url}/v1/status`)).status, 401, 'no session')
    assert.equal((await get(`${url}/v1/status`, cookie.replace(/=.*/, '=forged'))).status, 401, 'a forged session')

    const ws = new WebSocket(`${url.replace('http', 'ws')}/v1/events`, { headers: { cookie } })
    const hello = await new Promise<any>((resolve, reject) => { ws.once('message', d => { resolve(JSON.parse(String(d))) }); ws.once('error', reject) })
    assert.equal(hello.type, 'hello')
    ws.close()
  })

  it('a page from another origin cannot use the session', async () => {
    const { server, url } = await serve()
    const cookie = sessionCookie(await get(server.signInLink()))
    const res = await fetch(`${url}/v1/groups`, { method: 'POST', headers: { cookie, origin: 'http://evil.example', 'content-type': 'application/json' }, body: '{"name":"x"}' })
    assert.equal(res.status, 401)
  })

  it('sessions survive a restart of the node (only their hashes are on disk) and end on sign-out', async () => {
    const { server, url } = await serve()
    const cookie = sessionCookie(await get(server.signInLink()))
    const onDisk = await readFile(join(dir, 'ui-sessions.json'), 'utf8')
    assert.ok(!onDisk.includes(cookie.split('=')[1]), 'the session id itself is not stored')
    await server.stop()
    // Same port: the cookie is per port.
    const again = await serve({ port: Number(new URL(url).port) })
    assert.equal((await get(`${again.url}/v1/status`, cookie)).status, 200)
    const out = await fetch(`${again.url}/v1/ui/signout`, { method: 'POST', headers: { cookie } })
    assert.equal(out.status, 200)
    assert.match(out.headers.get('set-cookie') ?? '', /Max-Age=0/)
    assert.equal((await get(`${again.url}/v1/status`, cookie)).status, 401)
  })

  it('a new link comes from POST /v1/ui/link, with the token only', async () => {
    const { url } = await serve()
    assert.equal((await fetch(`${url}/v1/ui/link`, { method: 'POST' })).status, 401)
    const res = await fetch(`${url}/v1/ui/link`, { method: 'POST', headers: { authorization: `Bearer ${TOKEN}` } })
    assert.equal(res.status, 201)
    const { ui } = await res.json() as { ui: string }
    assert.match(ui, new RegExp(`^${url}/signin\\?code=`))
    assert.equal((await get(ui)).status, 303)
  })

  it('serves the UI\'s files to anyone, index.html for page routes, and nothing outside its folder', async () => {
    const ui = join(dir, 'ui')
    await mkdir(join(ui, 'assets'), { recursive: true })
    await writeFile(join(ui, 'index.html'), '<!doctype html><title>Outpost</title>')
    await writeFile(join(ui, 'assets', 'app-123.js'), 'console.log(1)')
    await writeFile(join(dir, 'secret.txt'), 'not for you')
    const { url } = await serve({ uiDir: ui })
    const index = await get(`${url}/`)
    assert.equal(index.status, 200)
    assert.match(index.headers.get('content-type') ?? '', /text\/html/)
    assert.equal(index.headers.get('cache-control'), 'no-store')
    const js = await get(`${url}/assets/app-123.js`)
    assert.match(js.headers.get('content-type') ?? '', /javascript/)
    assert.match(js.headers.get('cache-control') ?? '', /immutable/)
    assert.equal(await (await get(`${url}/some/page`)).text(), '<!doctype html><title>Outpost</title>')
    for (const path of ['/../secret.txt', '/%2e%2e/secret.txt', '/assets/..%2f..%2fsecret.txt', '/%E0%A4%A']) {
      const body = await (await get(url + path)).text()
      assert.ok(!body.includes('not for you'), path)
    }
  })
})
