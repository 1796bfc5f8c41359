import assert from 'node:assert/strict'
import { join } from 'node:path'
import { killAll, runCli, startDaemon } from '../helpers/cli.js'
import { removeDir, tempDir } from '../helpers/nodes.js'

/** Loopback only and no mDNS. */
const LOCAL = ['--no-mdns', '--listen', '/ip4/127.0.0.1/tcp/0', '--api', '127.0.0.1:0']

interface Json { [key: string]: any }

describe('outpost search (CLI)', function () {
  this.timeout(60_000)
  let root: string

  before(async () => { root = await tempDir('outpost-cli-search-') })
  after(async () => {
    await killAll()
    await removeDir(root)
  })

  it('finds a Chinese message against a running daemon, with --group and --from; survives a restart', async () => {
    const dir = join(root, 'alice')
    const init = await runCli(['init', '--name', 'Alice'], { dataDir: dir })
    const peerId = (init.json as Json).peerId as string
    let daemon = await startDaemon({ dataDir: dir, args: LOCAL })
    const { groupId } = (await runCli(['group', 'create', 'ops'], { dataDir: dir })).json as Json
    const sent = (await runCli(['send', groupId, '本周项目进度已更新 (Q3 report)'], { dataDir: dir })).json as Json
    await runCli(['send', groupId, 'lunch at noon'], { dataDir: dir })

    const found = await runCli(['search', '项目进度'], { dataDir: dir })
    assert.equal(found.code, 0, found.stderr)
    const hits = found.json as Json[]
    assert.deepEqual(hits.map(h => h.message.id), [sent.messageId])
    assert.equal(hits[0].groupId, groupId)
    assert.equal(hits[0].groupName, 'ops')
    assert.equal(hits[0].message.text, '本周项目进度已更新 (Q3 report)')
    assert.equal(((await runCli(['search', 'report', '--group', groupId, '--from', peerId], { dataDir: dir })).json as Json[]).length, 1)
    assert.equal(((await runCli(['search', 'report', '--from', 'someone-else'], { dataDir: dir })).json as Json[]).length, 0)
    const text = await runCli(['search', '进度'], { dataDir: dir, json: false })
    assert.match(text.stdout, /ops · Alice: 本周项目进度已更新/)
    const empty = await runCli(['search', ' '], { dataDir: dir })
    assert.equal(empty.code, 1)
    assert.match(empty.stderr, /query is empty/)

    await daemon.stop()
    daemon = await startDaemon({ dataDir: dir, args: LOCAL })
    const again = await runCli(['search', '项目进度', '--limit', '5'], { dataDir: dir })
    assert.deepEqual((again.json as Json[]).map(h => h.message.id), [sent.messageId])
    await daemon.stop()
  })
})
