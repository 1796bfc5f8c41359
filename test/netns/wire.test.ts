/**
 * What an eavesdropper on the segment sees: two `outpost start` processes in their own
 * network namespaces, all of their traffic through a recording proxy. The recording must
 * hold neither the messages' text nor any group key, in any encoding. Needs root; fails
 * loudly without it (see test/helpers/netns.ts).
 */
import assert from 'node:assert/strict'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { OutpostNode } from '../../node/index.js'
import { exited, killAll, onStdoutLines, REPO_ROOT, runCli, spawnTracked, startDaemon, type Daemon } from '../helpers/cli.js'
import { Lab } from '../helpers/netns.js'
import { waitFor } from '../helpers/nodes.js'

const PROXY = join(REPO_ROOT, 'dist', 'test', 'netns', 'recording-proxy.js')
const TEXTS = ['Operation Nightjar moves at dawn', '项目进度: 第三阶段完成', 'reply: copy that, bravo team']

describe('on the wire between two nodes in network namespaces', function () {
  this.timeout(90_000)
  let lab: Lab | null = null
  let tmp = ''
  const daemons: Daemon[] = []

  after(async function () {
    this.timeout(30_000)
    try {
      await Promise.all(daemons.map(async d => await d.stop(3_000)))
      await killAll()
    } finally {
      await lab?.destroy()
      if (tmp !== '') await rm(tmp, { recursive: true, force: true })
    }
  })

  it('carries no message text and no group key', async () => {
    lab = await Lab.create(2)
    tmp = await mkdtemp(join(tmpdir(), 'outpost-wire-'))
    const dirs = [join(tmp, 'a'), join(tmp, 'b')]
    const capture = join(tmp, 'wire.bin')
    const cli = async <T>(i: number, ...args: string[]): Promise<T> => {
      const r = await runCli(args, { netns: lab?.node(i).ns, dataDir: dirs[i] })
      assert.equal(r.code, 0, `outpost ${args.join(' ')}: ${r.stderr}`)
      return r.json as T
    }

    // b listens on the segment; a listens on its own loopback only, so the one way between
    // them is a's dial through the proxy (b cannot dial a directly).
    const b = await startDaemon({ netns: lab.node(1).ns, dataDir: dirs[1], args: ['--listen', '/ip4/0.0.0.0/tcp/4600', '--api', '127.0.0.1:0', '--no-mdns', '--sync-interval', '1000'] })
    daemons.push(b)
    const proxy = spawnTracked(process.execPath, [PROXY, '127.0.0.1:5000', `${lab.node(1).ip}:4600`, capture], { netns: lab.node(0).ns })
    await new Promise<void>((resolve, reject) => {
      onStdoutLines(proxy, line => { if (line === 'listening') resolve() })
      proxy.once('exit', code => { reject(new Error(`the proxy exited with ${String(code)}`)) })
    })
    const a = await startDaemon({
      netns: lab.node(0).ns,
      dataDir: dirs[0],
      args: ['--listen', '/ip4/127.0.0.1/tcp/4600', '--api', '127.0.0.1:0', '--no-mdns', '--sync-interval', '1000', '--peer', `/ip4/127.0.0.1/tcp/5000/p2p/${b.ready.peerId}`]
    })
    daemons.push(a)

    const { groupId, invite } = await cli<{ groupId: string, invite: string }>(0, 'group', 'create', 'Nightjar')
    assert.deepEqual(await cli(1, 'group', 'join', invite), { groupId, admitted: true })
    await cli(0, 'send', groupId, TEXTS[0])
    await cli(1, 'send', groupId, TEXTS[1])
    await cli(0, 'send', groupId, TEXTS[2])
    for (const i of [0, 1]) {
      await waitFor(`node ${i} to hold all three`, async () => (await cli<Array<{ text: string }>>(i, 'history', groupId)).length === 3, 30_000, 200)
    }
    await Promise.all(daemons.map(async d => await d.stop(5_000)))
    daemons.length = 0
    proxy.kill('SIGTERM')
    await exited(proxy)

    const wire = await readFile(capture)
    // The recording is the libp2p connection itself (its protocol negotiation is in clear).
    assert.ok(wire.length > 2_000, `only ${wire.length} bytes recorded`)
    assert.ok(wire.includes(Buffer.from('/noise')), 'the recording does not look like a libp2p connection')
    for (const text of TEXTS) {
      for (const word of text.split(/[\s:,]+/).filter(w => Buffer.byteLength(w) >= 6)) {
        assert.equal(wire.includes(Buffer.from(word)), false, `"${word}" is readable on the wire`)
      }
    }

    // Every group key either node holds, as raw bytes, hex and base64.
    const keys: Buffer[] = []
    for (const dir of dirs) {
      const node = await OutpostNode.create({ dataDir: dir })
      try {
        const doc = node.groups.require(groupId).doc
        for (const record of doc.membership.keys) {
          const key = doc.keyFor(record.keyId)
          if (key != null) keys.push(Buffer.from(key))
        }
      } finally {
        await node.stop()
      }
    }
    assert.ok(keys.length >= 2, 'both nodes hold the group key')
    for (const key of keys) {
      for (const form of [key, Buffer.from(key.toString('hex')), Buffer.from(key.toString('base64')), key.subarray(0, 12)]) {
        assert.equal(wire.includes(form), false, 'a group key is on the wire')
      }
    }
  })
})
