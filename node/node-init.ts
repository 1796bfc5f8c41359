import type { ConnectionGater } from '@libp2p/interface'
import type { Libp2pOptions } from 'libp2p'
import type { KvStore } from '../crdt/index.js'
import type { RedialerInit } from '../discovery/index.js'
import type { FloodGuardInit } from './flood-guard.js'
import type { PresenceInit } from './presence.js'

/** What an OutpostNode is made with (OutpostNode.create); every field has a default. */
export interface OutpostNodeInit {
  /** data directory (LevelDB on disk); ignored when `kv` is given; neither: in memory */
  dataDir?: string
  /** storage to use instead of the data directory's LevelDB (tests) */
  kv?: KvStore
  /** the data directory's passphrase: required when it is encrypted, encrypts it when not */
  passphrase?: string
  /** pre-shared network key; default: the one stored by `outpost init --network-key` */
  networkKey?: Uint8Array
  /** display name, used when the identity is created */
  name?: string
  listen?: string[]
  /** static peers to keep connected (the data directory's peers file is added) */
  peers?: string[]
  mdns?: boolean
  mdnsInterval?: number
  syncIntervalMs?: number
  /** for tests of a broken node: no sync protocol at all */
  syncDisabled?: boolean
  /** accept faults from the mesh lab (`outpost start --lab`; see fault-injector.ts) */
  labFaults?: boolean
  connectionGater?: ConnectionGater
  transports?: Libp2pOptions['transports']
  redial?: RedialerInit
  compactAfter?: number
  /** for tests: other flood-guard budgets */
  floodGuard?: FloodGuardInit
  /** presence heartbeat and typing timeouts (tests shorten them) */
  presence?: PresenceInit
  /** the largest file this node sends or fetches, in bytes (default 4 GiB) */
  maxFileBytes?: number
  /**
   * Turns signatures and encryption off, to measure what they cost (benchmarks only: such a
   * node trusts every entry and talks to no node with them on).
   */
  insecure?: boolean
}
