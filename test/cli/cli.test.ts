import assert from 'node:assert/strict'
import { createHash, randomBytes } from 'node:crypto'
import { existsSync } from 'node:fs'
import { readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { killAll, runCli, startDaemon, type Daemon } from '../helpers/cli.js'
import { removeDir, tempDir, waitFor } from '../helpers/nodes.js'

/** Loopback only and no mDNS: the CLI contract needs no network beyond this machine. */
const LOCAL = ['--no-mdns', '--listen', '/ip4/127.0.0.1/tcp/0', '--api', '127.0.0.1:0']

interface Json { [key: string]: any }

/** One failing command: non-zero status, nothing on stdout, one line on stderr. */
function assertFails (r: { code: number | null, stdout: string, stderr: string }, code: number, pattern: RegExp): void {
  assert.equal(r.code, code, `exit status; stderr: ${r.stderr}`)
  assert.equal(r.stdout, '')
  assert.equal(r.stderr.trimEnd().split('\n').length, 1, `one line on stderr, got: ${r.stderr}`)
  assert.match(r.stderr, pattern)
}

describe('the outpost CLI contract', function () {
  this.timeout(60_000)
  let root: string
  let alice: string
  let bob: string
  let aliceNode: Daemon
  let bobNode: Daemon
  let groupId: string
  let invite: string

  before(async () => {
    root = await tempDir('outpost-cli-')
    alice = join(root, 'alice')
    bob = join(root, 'bob')
  })

  after(async () => {
    await killAll()
    await removeDir(root)
  })

  it('--help lists every command', async () => {
    const r = await runCli(['--help'], { dataDir: alice, json: false })
    assert.equal(r.code, 0)
    for (const c of ['init', 'network-key', 'start', 'group create', 'group invite', 'group join', 'group list', 'send', 'history', 'whois', 'peers']) {
      assert.ok(r.stdout.includes(`outpost ${c}`), `help mentions ${c}`)
    }
  })

  it('init creates an identity once and keeps it; --name renames', async () => {
    const first = await runCli(['init', '--name', 'Alice'], { dataDir: alice })
    assert.equal(first.code, 0, first.stderr)
    assert.match((first.json as Json).peerId, /^12D3KooW/)
    assert.equal((first.json as Json).name, 'Alice')
    const again = await runCli(['init'], { dataDir: alice })
    assert.deepEqual(again.json, first.json)
    assert.equal((first.json as Json).networkKey, false)
    const bobInit = await runCli(['init', '--name', 'Bob'], { dataDir: bob })
    assert.notEqual((bobInit.json as Json).peerId, (first.json as Json).peerId)
  })

  it('network-key prints a key that init --network-key stores; a bad key file changes nothing', async () => {
    const made = await runCli(['network-key'], { dataDir: alice, json: false })
    assert.equal(made.code, 0)
    assert.match(made.stdout, /^\/key\/swarm\/psk\/1\.0\.0\/\n\/base16\/\n[0-9a-f]{64}\n$/)
    const keyFile = join(root, 'team.key')
    await writeFile(keyFile, made.stdout)
    const dave = join(root, 'dave')
    const stored = await runCli(['init', '--name', 'Dave', '--network-key', keyFile], { dataDir: dave })
    assert.equal(stored.code, 0, stored.stderr)
    assert.equal((stored.json as Json).networkKey, true)
    const badFile = join(root, 'bad.key')
    await writeFile(badFile, 'not a key\n')
    const erin = join(root, 'erin')
    assertFails(await runCli(['init', '--network-key', badFile], { dataDir: erin }), 1, /is not a network key; make one with 'outpost network-key > FILE'/)
    assert.equal(existsSync(erin), false)
    assertFails(await runCli(['init', '--network-key', join(root, 'missing.key')], { dataDir: erin }), 1, /cannot read the network key file/)
    assert.equal(((await runCli(['init'], { dataDir: alice })).json as Json).networkKey, false)
  })

  it('commands other than init and start say that no node is running', async () => {
    for (const args of [['group', 'list'], ['send', 'a'.repeat(32), 'hi'], ['peers']]) {
      assertFails(await runCli(args, { dataDir: alice }), 1, /no node is running on .*outpost start --data/)
    }
  })

  it('start prints its ready line, and the directory is locked while it runs', async () => {
    aliceNode = await startDaemon({ dataDir: alice, args: LOCAL })
    assert.equal(aliceNode.ready.ready, true)
    assert.match(aliceNode.ready.peerId, /^12D3KooW/)
    assert.match(aliceNode.ready.api, /^http:\/\/127\.0\.0\.1:\d+$/)
    assert.ok(aliceNode.ready.addrs.length > 0 && aliceNode.ready.addrs.every(a => a.startsWith('/ip4/127.0.0.1/tcp/')))
    // The UI, signed in by a one-time link; `outpost ui` gives another.
    assert.match(aliceNode.ready.ui, new RegExp(`^${aliceNode.ready.api}/signin\\?code=[\\w-]+$`))
    const ui = await runCli(['ui'], { dataDir: alice })
    assert.equal(ui.code, 0, ui.stderr)
    assert.match((ui.json as Json).ui, new RegExp(`^${aliceNode.ready.api}/signin\\?code=`))
    assert.notEqual((ui.json as Json).ui, aliceNode.ready.ui)
    assertFails(await runCli(['init'], { dataDir: alice }), 1, /in use by a running node \(pid \d+/)
    assertFails(await runCli(['start', ...LOCAL], { dataDir: alice }), 1, /in use by a running node/)
    bobNode = await startDaemon({ dataDir: bob, args: LOCAL })
  })

  it('group create, invite and list', async () => {
    const created = await runCli(['group', 'create', 'Field team 野外'], { dataDir: alice })
    assert.equal(created.code, 0, created.stderr)
    groupId = (created.json as Json).groupId
    invite = (created.json as Json).invite
    assert.match(groupId, /^[0-9a-f]{32}$/)
    assert.match(invite, /^outpost-invite:/)
    const again = await runCli(['group', 'invite', groupId], { dataDir: alice })
    assert.match((again.json as Json).invite, /^outpost-invite:/)
    const list = await runCli(['group', 'list'], { dataDir: alice })
    assert.deepEqual((list.json as Json[]).map(g => [g.groupId, g.name]), [[groupId, 'Field team 野外']])
  })

  it('group join by invite, send, and history on the other node, oldest first', async () => {
    const sent: string[] = []
    for (const text of ['first', 'second 项目进度']) {
      const r = await runCli(['send', groupId, text], { dataDir: alice })
      assert.equal(r.code, 0, r.stderr)
      assert.match((r.json as Json).messageId, /^[0-9a-f]{24}$/)
      sent.push((r.json as Json).messageId)
    }
    const joined = await runCli(['group', 'join', invite], { dataDir: bob })
    assert.deepEqual(joined.json, { groupId, admitted: true })
    await waitFor('history on bob', async () => ((await runCli(['history', groupId], { dataDir: bob })).json as Json[]).length === 2)
    const reply = await runCli(['send', groupId, 'third, from bob'], { dataDir: bob })
    sent.push((reply.json as Json).messageId)
    await waitFor('bob\'s reply on alice', async () => ((await runCli(['history', groupId], { dataDir: alice })).json as Json[]).length === 3)
    const history = (await runCli(['history', groupId], { dataDir: bob })).json as Json[]
    assert.deepEqual(history.map(m => m.id), sent)
    assert.deepEqual(history.map(m => m.text), ['first', 'second 项目进度', 'third, from bob'])
    assert.deepEqual(history.map(m => m.authorName), ['Alice', 'Alice', 'Bob'])
    assert.equal(history[0].author, aliceNode.ready.peerId)
    assert.ok(history.every(m => typeof m.ts === 'number' && m.ts > 0))
    const limited = (await runCli(['history', groupId, '--limit', '2'], { dataDir: alice })).json as Json[]
    assert.deepEqual(limited.map(m => m.id), sent.slice(1))
    const human = await runCli(['history', groupId], { dataDir: alice, json: false })
    assert.match(human.stdout, /Alice: first\n.*Alice: second 项目进度\n.*Bob: third, from bob\n$/)
  })

  it('peers lists the other node by name, connected', async () => {
    const peers = (await runCli(['peers'], { dataDir: alice })).json as Json[]
    const peer = peers.find(p => p.peerId === bobNode.ready.peerId)
    assert.ok(peer != null, JSON.stringify(peers))
    assert.equal(peer.name, 'Bob')
    assert.equal(peer.connected, true)
    assert.ok(Array.isArray(peer.addrs) && peer.addrs.length > 0)
  })

  it('whois shows the same safety number for a peer on both nodes, by id or by name', async () => {
    const onAlice = (await runCli(['whois', 'Bob'], { dataDir: alice })).json as Json
    const onBob = (await runCli(['whois', bobNode.ready.peerId], { dataDir: bob })).json as Json
    assert.equal(onAlice.peerId, bobNode.ready.peerId)
    assert.equal(onAlice.self, false)
    assert.equal(onBob.self, true)
    assert.match(onAlice.safetyNumber, /^\d{5}( \d{5}){5}$/)
    assert.equal(onAlice.safetyNumber, onBob.safetyNumber)
    const human = await runCli(['whois', 'Bob'], { dataDir: alice, json: false })
    assert.match(human.stdout, new RegExp(`safety number: ${onAlice.safetyNumber as string}`))
    assertFails(await runCli(['whois', 'Mallory'], { dataDir: alice }), 1, /no known peer 'Mallory'/)
  })

  it('file send prints progress then the ids; file get on the other node writes the same bytes', async () => {
    const data = randomBytes(5 * 1024 * 1024 + 7)
    const path = join(root, '现场 report.bin')
    await writeFile(path, data)
    const sent = await runCli(['file', 'send', groupId, path, '--text', 'the report'], { dataDir: alice })
    assert.equal(sent.code, 0, sent.stderr)
    assert.deepEqual(Object.keys(sent.json as Json).sort(), ['fileId', 'messageId'])
    assert.match(sent.stderr, /sending 现场 report\.bin: 100% \(5\.0 MiB of 5\.0 MiB\)/)
    const { fileId, messageId } = sent.json as Json
    await waitFor('the message on bob', async () => ((await runCli(['history', groupId], { dataDir: bob })).json as Json[]).some(m => m.id === messageId))
    const onBob = ((await runCli(['history', groupId], { dataDir: bob })).json as Json[]).find(m => m.id === messageId) as Json
    assert.deepEqual([onBob.text, onBob.file.id, onBob.file.name, onBob.file.size], ['the report', fileId, '现场 report.bin', data.length])
    const out = join(root, 'fetched.bin')
    const got = await runCli(['file', 'get', fileId, '--out', out], { dataDir: bob })
    assert.equal(got.code, 0, got.stderr)
    assert.deepEqual(got.json, { fileId, path: out, name: '现场 report.bin', size: data.length, sha256: createHash('sha256').update(data).digest('hex') })
    assert.ok((await readFile(out)).equals(data))
    const listed = (await runCli(['file', 'list', '--group', groupId], { dataDir: bob })).json as Json[]
    assert.deepEqual(listed.map(f => [f.fileId, f.state]), [[fileId, 'complete']])
    const human = await runCli(['history', groupId, '--limit', '1'], { dataDir: bob, json: false })
    assert.match(human.stdout, new RegExp(`the report \\[file 现场 report\\.bin, ${data.length} bytes, id ${fileId as string}\\]`))
    assertFails(await runCli(['file', 'get', 'f'.repeat(64), '--out', out], { dataDir: bob }), 1, /no message on this node carries file f{64}/)
    assertFails(await runCli(['file', 'send', groupId, join(root, 'missing.bin')], { dataDir: alice }), 1, /is not a file this command can read/)
    assertFails(await runCli(['file', 'get', fileId], { dataDir: bob }), 1, /--out PATH is required/)
  })

  it('group members, role and remove; invites carry a role; read-only members cannot post', async () => {
    const cli = async (dataDir: string, ...args: string[]): Promise<Json> => {
      const r = await runCli(args, { dataDir })
      assert.equal(r.code, 0, `outpost ${args.join(' ')}: ${r.stderr}`)
      return r.json as Json
    }
    const members = await cli(alice, 'group', 'members', groupId)
    assert.deepEqual(members.map((m: Json) => [m.name, m.role]), [['Alice', 'owner'], ['Bob', 'member']])
    assert.match(members[1].safetyNumber, /^\d{5}( \d{5}){5}$/)
    assertFails(await runCli(['group', 'role', groupId, 'Alice', 'member'], { dataDir: bob }), 1, /may not/)
    assertFails(await runCli(['group', 'invite', groupId], { dataDir: bob }), 1, /only owners and admins invite/)
    assertFails(await runCli(['group', 'role', groupId, 'Bob', 'emperor'], { dataDir: alice }), 1, /a role is admin, member or read-only/)

    await cli(alice, 'group', 'role', groupId, 'Bob', 'read-only')
    await waitFor('bob to learn he is read-only', async () => (await cli(bob, 'group', 'members', groupId)).some((m: Json) => m.self === true && m.role === 'read-only'))
    assertFails(await runCli(['send', groupId, 'can I still talk?'], { dataDir: bob }), 1, /read-only member may not post/)
    await cli(alice, 'group', 'role', groupId, 'Bob', 'member')
    await waitFor('bob to be a member again', async () => (await cli(bob, 'group', 'members', groupId)).some((m: Json) => m.self === true && m.role === 'member'))

    // A rotated key reaches bob; he still posts, and deletes his own message.
    const rotated = await cli(alice, 'group', 'rotate', groupId)
    assert.match(rotated.keyId, /^[0-9a-f]{24}$/)
    assertFails(await runCli(['group', 'rotate', groupId], { dataDir: bob }), 1, /only owners and admins rotate/)
    await waitFor('bob to hold the new key', async () => (await runCli(['send', groupId, 'after the rotation'], { dataDir: bob })).code === 0)
    const mine = ((await cli(bob, 'history', groupId)) as Json[]).find(m => m.text === 'after the rotation')
    assert.deepEqual(await cli(bob, 'delete', groupId, mine?.id), { messageId: mine?.id, deleted: true })
    await waitFor('the delete on alice', async () => ((await cli(alice, 'history', groupId)) as Json[]).some(m => m.id === mine?.id && m.deleted === true && m.text === ''))

    // Gestures: a reply, a reaction and a pin, as a user types them.
    const first = ((await cli(alice, 'history', groupId)) as Json[])[0]
    const reply = await cli(bob, 'send', groupId, 'replying to the first', '--reply-to', first.id)
    assert.deepEqual(await cli(bob, 'react', groupId, first.id, '👍'), { messageId: first.id, reactions: { '👍': [bobNode.ready.peerId] } })
    assert.deepEqual(await cli(bob, 'pin', groupId, first.id), { messageId: first.id, pinned: true })
    await waitFor('the thread on alice', async () => ((await cli(alice, 'thread', groupId, first.id)) as Json[]).length === 2)
    const thread = (await cli(alice, 'thread', groupId, first.id)) as Json[]
    assert.deepEqual(thread.map(m => m.id), [first.id, reply.messageId])
    assert.deepEqual(((await cli(alice, 'pins', groupId)) as Json[]).map(m => m.id), [first.id])
    const human = await runCli(['thread', groupId, first.id], { dataDir: alice, json: false })
    assert.match(human.stdout, /Alice: first {2}\(pinned, 1 reply, 👍 1\)\n {2}↳ .*Bob: replying to the first\n$/)
    assertFails(await runCli(['send', groupId, 'to nothing', '--reply-to', 'f'.repeat(24)], { dataDir: bob }), 1, /no message f+ to reply to/)
    // Export: JSON for records systems, one HTML page for people; nothing in it runs.
    await cli(alice, 'send', groupId, '<script>alert("x")</script> & more')
    const jsonFile = join(root, 'export.json')
    const htmlFile = join(root, 'export.html')
    assert.equal((await cli(alice, 'export', groupId, '--format', 'json', '--out', jsonFile)).format, 'json')
    const exported = JSON.parse(await readFile(jsonFile, 'utf8'))
    assert.equal(exported.format, 'outpost-export/1')
    assert.deepEqual(exported.messages.map((m: Json) => m.id), ((await cli(alice, 'history', groupId)) as Json[]).map(m => m.id))
    assert.deepEqual(exported.members.map((m: Json) => m.name), ['Alice', 'Bob'])
    // With its files, in a folder beside it, named in the export.
    const withFile = exported.messages.find((m: Json) => m.file != null)
    assert.match(withFile.file.path, /^export-files\/[0-9a-f]{12}-现场 report\.bin$/)
    const copy = await readFile(join(root, withFile.file.path))
    assert.equal(createHash('sha256').update(copy).digest('hex'), withFile.file.sha256)
    await cli(alice, 'export', groupId, '--format', 'html', '--out', htmlFile)
    const html = await readFile(htmlFile, 'utf8')
    assert.match(html, /^<!doctype html>/)
    assert.ok(html.includes('&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; more'))
    assert.ok(!/<script/i.test(html) && !/https?:\/\//.test(html), 'no script and nothing fetched from elsewhere')
    assert.ok(html.includes('(message deleted)'))
    assert.ok(html.includes(`<a href="${encodeURI(withFile.file.path as string)}">`), 'the page links the file beside it')
    assertFails(await runCli(['export', groupId, '--format', 'pdf', '--out', htmlFile], { dataDir: alice }), 1, /json' or 'html/)

    const read = await cli(alice, 'read', groupId)
    assert.equal(read.unread, 0)
    assert.ok(read.receipts.some((r: Json) => r.peerId === aliceNode.ready.peerId && r.upTo === read.upTo))

    // A second group: bob joins as read-only by invite, then is removed.
    const other = await cli(alice, 'group', 'create', 'short-lived')
    const readOnlyInvite = await cli(alice, 'group', 'invite', other.groupId, '--role', 'read-only', '--ttl', '1h')
    assert.deepEqual(await cli(bob, 'group', 'join', readOnlyInvite.invite), { groupId: other.groupId, admitted: true })
    assert.deepEqual((await cli(alice, 'group', 'members', other.groupId)).map((m: Json) => m.role), ['owner', 'read-only'])
    const after = await cli(alice, 'group', 'remove', other.groupId, 'Bob')
    assert.deepEqual(after.map((m: Json) => m.name), ['Alice'])

    // The audit trail of that group: exported, verified, and caught when a line is altered.
    const file = join(root, 'audit.jsonl')
    assert.deepEqual(await cli(alice, 'audit', 'export', other.groupId, '--out', file), { file, entries: 3 })
    const verified = await cli(alice, 'audit', 'verify', file)
    assert.deepEqual([verified.ok, verified.entries], [true, 3])
    const lines = (await readFile(file, 'utf8')).trimEnd().split('\n')
    assert.deepEqual(lines.slice(1, -1).map(l => JSON.parse(l).entry.kind), ['create', 'admit', 'remove'])
    const altered = [...lines]
    altered[2] = altered[2].replace('"read-only"', '"admin"')
    await writeFile(file, altered.join('\n') + '\n')
    assertFails(await runCli(['audit', 'verify', file], { dataDir: alice, json: false }), 1, /line 3: the line was altered/)
  })

  it('errors: unknown group, bad invite, bad arguments, unknown command', async () => {
    const unknown = 'f'.repeat(32)
    assertFails(await runCli(['send', unknown, 'hi'], { dataDir: alice }), 1, /no group f+ on this node/)
    assertFails(await runCli(['history', unknown], { dataDir: alice }), 1, /no group/)
    assertFails(await runCli(['group', 'invite', unknown], { dataDir: alice }), 1, /no group/)
    assertFails(await runCli(['group', 'join', 'outpost-invite:garbage'], { dataDir: alice }), 1, /not a valid Outpost invite/)
    assertFails(await runCli(['group', 'join', 'hello'], { dataDir: alice }), 1, /not a valid Outpost invite/)
    assertFails(await runCli(['send', groupId, '   '], { dataDir: alice }), 1, /empty/)
    assertFails(await runCli(['history', groupId, '--limit', 'many'], { dataDir: alice }), 1, /--limit/)
    assertFails(await runCli(['send', groupId], { dataDir: alice }), 2, /usage: outpost send GROUP TEXT/)
    assertFails(await runCli(['frobnicate'], { dataDir: alice }), 2, /unknown command 'frobnicate'/)
    assertFails(await runCli(['group', 'list', '--limit', '3'], { dataDir: alice }), 2, /--limit does not apply/)
    assertFails(await runCli(['start', '--api', '0.0.0.0:9'], { dataDir: join(root, 'carol') }), 1, /only listens on loopback/)
    const taken = aliceNode.ready.addrs[0].replace(/\/p2p\/.*/, '')
    assertFails(await runCli(['start', '--no-mdns', '--listen', taken, '--api', '127.0.0.1:0'], { dataDir: join(root, 'carol') }), 1, /could not listen on .*in use/)
    assertFails(await runCli(['start', '--no-mdns', '--listen', '/ip4/127.0.0.1/tcp/0', '--api', aliceNode.ready.api.replace('http://', '')], { dataDir: join(root, 'carol') }), 1, /API address .* is in use/)
    assertFails(await runCli(['start', '--peer', 'not-a-multiaddr'], { dataDir: join(root, 'carol') }), 1, /--peer: 'not-a-multiaddr' is not a multiaddr/)
  })

  it('SIGTERM stops cleanly; after a restart nothing is lost', async () => {
    const before = (await runCli(['history', groupId], { dataDir: alice })).json as Json[]
    const status = await aliceNode.stop()
    assert.equal(status.code, 0)
    assert.equal(existsSync(join(alice, 'api.json')), false)
    aliceNode = await startDaemon({ dataDir: alice, args: LOCAL })
    const after = (await runCli(['history', groupId], { dataDir: alice })).json as Json[]
    assert.deepEqual(after, before)
  })
})
