import { readFile } from 'node:fs/promises'
import { InvalidRequestError } from '../errors.js'
import type { GroupSummary, HistoryEntry } from '../outpost-node.js'
import type { PeerStatus } from '../../discovery/index.js'
import { sizeOption, api, durationMs, enc, intOption, str, time, type Command } from './shared.js'
import { trustCommands } from './trust-commands.js'
import { conversationCommands, messageLine } from './conversation-commands.js'
import { searchCommands } from './search-commands.js'
import { fileCommands } from './file-commands.js'
import { labCommands } from './lab-command.js'
import { promptNewPassphrase, withPassphrase } from './passphrase.js'

export type { Command } from './shared.js'

export const commands: Record<string, Command> = {
  init: {
    usage: 'init [--name NAME] [--network-key FILE] [--passphrase-file FILE | --encrypt]',
    summary: 'create this node\'s identity (key and profile); store the team\'s network key; encrypt the data directory',
    options: ['name', 'network-key', 'passphrase-file', 'encrypt'],
    args: 0,
    run: async ({ values, dataDir }) => {
      const { initIdentity } = await import('../identity.js')
      const { loadNetworkKey, parseNetworkKey, storeNetworkKey } = await import('../network-key.js')
      const { peerIdFromPrivateKey } = await import('@libp2p/peer-id')
      const { EncryptedKv } = await import('../../crdt/index.js')
      const keyFile = str(values['network-key'])
      // Read and check the key before touching the data directory: a bad file changes nothing.
      const networkKey = keyFile != null ? parseNetworkKey(await readFile(keyFile, 'utf8').catch(() => { throw new InvalidRequestError(`cannot read the network key file ${keyFile}`) }), keyFile) : undefined
      const file = str(values['passphrase-file'])
      if (file != null && values.encrypt === true) throw new InvalidRequestError('give either --passphrase-file FILE or --encrypt (to type the passphrase), not both')
      const kv = values.encrypt === true
        ? await dataDir.openDb({ passphrase: await promptNewPassphrase() })
        : await withPassphrase(file, async passphrase => await dataDir.openDb({ passphrase }))
      try {
        const identity = await initIdentity(kv, str(values.name))
        if (networkKey != null) await storeNetworkKey(kv, networkKey)
        const hasKey = (await loadNetworkKey(kv)) != null
        const encrypted = kv instanceof EncryptedKv
        const peerId = peerIdFromPrivateKey(identity.privateKey).toString()
        return {
          json: { peerId, name: identity.profile.name, networkKey: hasKey, encrypted },
          text: `${identity.profile.name} ${peerId}\ndata directory: ${dataDir.path}${encrypted ? ' (encrypted)' : ''}\nnetwork key: ${hasKey ? 'set (only nodes with the same key can connect)' : 'none (any Outpost node can connect)'}`
        }
      } finally {
        await kv.close()
      }
    }
  },
  'network-key': {
    usage: 'network-key',
    summary: 'print a new network key; save it and give it to every node with init --network-key',
    options: [],
    args: 0,
    run: async () => {
      const { generateNetworkKey } = await import('../network-key.js')
      const key = generateNetworkKey()
      return { json: { networkKey: key }, text: key }
    }
  },
  start: {
    usage: 'start [--listen MA]... [--peer MA]... [--api HOST:PORT] [--api-socket PATH] [--no-mdns] [--sync-interval MS] [--max-file-size SIZE] [--lab] [--passphrase-file FILE | --unlock-in-browser]',
    summary: 'run the node in the foreground (an encrypted data directory needs its passphrase: from a file, the terminal, or with --unlock-in-browser the UI); --max-file-size: the largest file sent or fetched (default 4GiB); --api-socket: the API on a Unix socket as well; --lab: accept faults from the mesh lab (testing only)',
    options: ['listen', 'peer', 'api', 'api-socket', 'no-mdns', 'sync-interval', 'max-file-size', 'lab', 'passphrase-file', 'unlock-in-browser'],
    args: 0,
    // After a clean stop libp2p may leave a timer of up to a second behind; everything is
    // flushed and closed by then, so there is nothing to wait for.
    exitWhenDone: true,
    run: async ({ values, dataDir }) => {
      const { runStart } = await import('./start.js')
      const inBrowser = values['unlock-in-browser'] === true
      if (inBrowser && values['passphrase-file'] != null) throw new InvalidRequestError('give --passphrase-file or --unlock-in-browser, not both')
      const withIt = inBrowser ? async (run: (p: string | undefined) => Promise<void>) => { await run(undefined) } : async (run: (p: string | undefined) => Promise<void>) => { await withPassphrase(str(values['passphrase-file']), run) }
      await withIt(async passphrase => {
        await runStart({
          dataDir,
          passphrase,
          unlockInBrowser: inBrowser,
          listen: values.listen as string[] | undefined,
          peers: values.peer as string[] | undefined,
          api: str(values.api),
          apiSocket: str(values['api-socket']),
          lab: values.lab === true,
          mdns: values['no-mdns'] !== true,
          syncIntervalMs: intOption(values['sync-interval'], 'sync-interval'),
          maxFileBytes: sizeOption(values['max-file-size'], 'max-file-size')
        })
      })
      return null
    }
  },
  'group create': {
    usage: 'group create NAME [--audit-deletes]',
    summary: 'create a group and print its invite; --audit-deletes puts message deletions in its audit trail',
    options: ['audit-deletes'],
    args: 1,
    run: async ({ args, values, dataDir }) => {
      const r = await (await api(dataDir)).post<{ groupId: string, invite: string }>('/v1/groups', { name: args[0], ...(values['audit-deletes'] === true ? { auditDeletes: true } : {}) })
      return { json: r, text: `group ${r.groupId}\ninvite: ${r.invite}` }
    }
  },
  'group invite': {
    usage: 'group invite GROUP [--role admin|member|read-only] [--ttl 7d] [--for PEER]',
    summary: 'print a signed invite (owners and admins); it grants the role, expires, and may name the one peer it is for',
    options: ['role', 'ttl', 'for'],
    args: 1,
    run: async ({ args, values, dataDir }) => {
      const query = new URLSearchParams()
      if (str(values.role) != null) query.set('role', str(values.role) as string)
      if (str(values.ttl) != null) query.set('ttlMs', String(durationMs(str(values.ttl) as string)))
      if (str(values.for) != null) query.set('for', str(values.for) as string)
      const q = query.size > 0 ? `?${query.toString()}` : ''
      const r = await (await api(dataDir)).get<{ invite: string }>(`/v1/groups/${enc(args[0])}/invite${q}`)
      return { json: r, text: r.invite }
    }
  },
  'group join': {
    usage: 'group join INVITE',
    summary: 'join a group with an invite',
    options: [],
    args: 1,
    run: async ({ args, dataDir }) => {
      const r = await (await api(dataDir)).post<{ groupId: string, name: string, admitted: boolean }>('/v1/groups/join', { invite: args[0] })
      return {
        json: { groupId: r.groupId, admitted: r.admitted },
        text: r.admitted ? `joined ${r.name} (${r.groupId})` : `asked to join ${r.name} (${r.groupId}); no member has let this node in yet (it happens when one is reachable)`
      }
    }
  },
  'group list': {
    usage: 'group list',
    summary: 'list this node\'s groups',
    options: [],
    args: 0,
    run: async ({ dataDir }) => {
      const groups = await (await api(dataDir)).get<GroupSummary[]>('/v1/groups')
      const text = groups.length === 0
        ? 'no groups yet: create one with `outpost group create NAME` or join with `outpost group join INVITE`'
        : groups.map(g => `${g.groupId}  ${g.name}  (${g.messages} messages, ${g.members} members, ${g.role ?? 'waiting for a member to let this node in'})`).join('\n')
      return { json: groups, text }
    }
  },
  send: {
    usage: 'send GROUP TEXT [--reply-to ID]',
    summary: 'send a message to a group',
    options: ['reply-to'],
    args: 2,
    run: async ({ args, values, dataDir }) => {
      const r = await (await api(dataDir)).post<{ messageId: string }>(`/v1/groups/${enc(args[0])}/messages`, {
        text: args[1],
        ...(str(values['reply-to']) != null ? { replyTo: str(values['reply-to']) } : {})
      })
      return { json: { messageId: r.messageId }, text: r.messageId }
    }
  },
  history: {
    usage: 'history GROUP [--limit N]',
    summary: 'print a group\'s messages, oldest first',
    options: ['limit'],
    args: 1,
    run: async ({ args, values, dataDir }) => {
      const limit = intOption(values.limit, 'limit')
      const query = limit != null ? `?limit=${limit}` : ''
      const messages = await (await api(dataDir)).get<HistoryEntry[]>(`/v1/groups/${enc(args[0])}/messages${query}`)
      return { json: messages, text: messages.map(messageLine).join('\n') }
    }
  },
  whois: {
    usage: 'whois PEER',
    summary: 'show a peer (id or name) with its safety number, to compare in person',
    options: [],
    args: 1,
    run: async ({ args, dataDir }) => {
      const p = await (await api(dataDir)).get<PeerStatus & { self: boolean, safetyNumber: string }>(`/v1/peers/${enc(args[0])}`)
      const text = [
        `${p.name ?? '?'}${p.self ? ' (this node)' : ''}`,
        `peer id:       ${p.peerId}`,
        `safety number: ${p.safetyNumber}`,
        `status:        ${p.connected ? 'connected' : `not connected${p.problem != null ? ` (${p.problem})` : ''}`}${p.lastSeen != null && !p.self ? `, last seen ${time(p.lastSeen)}` : ''}`
      ].join('\n')
      return { json: p, text }
    }
  },
  peers: {
    usage: 'peers',
    summary: 'list known peers and whether they are connected',
    options: [],
    args: 0,
    run: async ({ dataDir }) => {
      const peers = await (await api(dataDir)).get<PeerStatus[]>('/v1/peers')
      const text = peers.length === 0
        ? 'no peers known yet'
        : peers.map(p => `${p.connected ? 'connected   ' : 'unreachable '} ${p.name ?? '?'}  ${p.peerId}${p.lastSeen != null ? `  last seen ${time(p.lastSeen)}` : ''}${p.problem != null ? `  (${p.problem})` : ''}`).join('\n')
      return { json: peers, text }
    }
  },
  ui: {
    usage: 'ui',
    summary: 'print a new link that opens the running node\'s UI, signed in (good once, for a day)',
    options: [],
    args: 0,
    run: async ({ dataDir }) => {
      const { ui } = await (await api(dataDir)).post<{ ui: string }>('/v1/ui/link', {})
      return { json: { ui }, text: ui }
    }
  },
  ...trustCommands,
  ...conversationCommands,
  ...searchCommands,
  ...fileCommands,
  ...labCommands
}
