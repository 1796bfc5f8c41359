/** Protocol ids, limits and defaults, in one place. */

export const SYNC_PROTOCOL = '/outpost/sync/3'
/** Version byte carried by every sync frame and gossip envelope. */
export const WIRE_VERSION = 2
/** gossipsub topic of a group: this prefix plus the group id. */
export const GROUP_TOPIC_PREFIX = '/outpost/group/2/'
/** mDNS service name, so that only Outpost nodes answer each other. */
export const MDNS_SERVICE_TAG = '_outpost._udp.local'
/**
 * How often a node asks the segment who is there. Every node hears every answer, so the
 * work grows with the square of the nodes (at 10 s, 9 answers a second for each of 10
 * nodes, each merged into the peer store: about 1.5% CPU per node). A node asks at once
 * when it starts and everyone hears the answers, and known peers are redialed without mDNS,
 * so a slow repeat loses little.
 */
export const MDNS_INTERVAL_MS = 60_000

/** Default TCP port for libp2p, on every interface (IPv4 and IPv6). */
export const DEFAULT_P2P_PORT = 4600
/** Default address of the local API (loopback only). */
export const DEFAULT_API_HOST = '127.0.0.1'
export const DEFAULT_API_PORT = 4610

/** A group's missing history is sent in chunks of this size... */
export const SYNC_CHUNK_BYTES = 1024 * 1024
/** What AES-256-GCM sealing adds to a chunk (nonce and tag). */
export const SEAL_OVERHEAD = 12 + 16
/** ...so a sync frame larger than this (a chunk plus headers) is refused. */
export const MAX_SYNC_FRAME_BYTES = SYNC_CHUNK_BYTES + 1024
/** The chunks of one group's update may add up to this much at most. */
export const MAX_SYNC_UPDATE_BYTES = 256 * 1024 * 1024
/** A gossip envelope larger than this is dropped. */
export const MAX_GOSSIP_BYTES = 256 * 1024
/** gossip messages at least this large are announced with IDONTWANT to mesh peers (see host.ts) */
export const IDONTWANT_MIN_BYTES = 8 * 1024
/** A join request carried in HELLO (a signed invite inside a signed request). */
export const MAX_JOIN_BYTES = 16 * 1024
/** Groups listed in one HELLO frame at most. */
export const MAX_GROUPS_PER_HELLO = 10_000
/** A sync exchange that takes longer than this is aborted. */
export const SYNC_TIMEOUT_MS = 30_000
/**
 * A request for a group's news waits at most this long for another exchange's request for
 * the same group to be answered (sync-asks.ts); after that it asks anyway...
 */
export const SYNC_ASK_WAIT_MS = 3_000
/** ...and only this long while the peer asked has not answered HELLO (a dead connection, maybe). */
export const SYNC_ASK_HELLO_WAIT_MS = 250
/** Gaps seen in gossip trigger at most one sync exchange per peer this often. */
export const GAP_SYNC_MIN_INTERVAL_MS = 1_000
/** Anti-entropy: every connected peer is re-synced this often... */
export const DEFAULT_SYNC_INTERVAL_MS = 10_000
/** ...and only every this many intervals while neither side's groups changed (sync.ts). */
export const IDLE_ROUNDS = 6
/** The local API refuses request bodies larger than this. */
export const MAX_API_BODY_BYTES = 1024 * 1024

/*
 * Flood guard (flood-guard.ts): token buckets per remote peer. The budgets are far above
 * what an honest peer sends, so that only a flood meets them: the benchmark pushes about
 * 3,500 small messages/s from one peer, and a relay forwards the whole group's traffic.
 */
/** Gossip messages a peer may deliver per second, sustained (about 3x the benchmark)... */
export const GOSSIP_MSGS_PER_SECOND = 10_000
/** ...and at once, after a quiet spell (a few seconds of a busy relay). */
export const GOSSIP_MSGS_BURST = 20_000
/** Gossip bytes a peer may deliver per second (a 1 Gbit/s LAN's worth, halved)... */
export const GOSSIP_BYTES_PER_SECOND = 64 * 1024 * 1024
/** ...and at once: 512 envelopes of the largest size. */
export const GOSSIP_BYTES_BURST = 128 * 1024 * 1024
/**
 * Inbound sync exchanges a peer may open per second: honest peers open one per connection,
 * per anti-entropy period and at most one per second for gaps, so 5/s is far above that...
 */
export const SYNC_STREAMS_PER_SECOND = 5
/** ...and at once (a node that joins many groups in a row). */
export const SYNC_STREAMS_BURST = 20
/**
 * A peer that is throttled or sends invalid input this many times within the window is
 * disconnected: one rejected envelope may be a bug, a hundred in ten seconds is a flood.
 */
export const FLOOD_STRIKES = 100
export const FLOOD_STRIKE_WINDOW_MS = 10_000
/** A disconnected flooder is refused (inbound and outbound) for this long. */
export const FLOOD_DENY_MS = 60_000
/** Peers tracked by the flood guard at most (about 200 bytes each); the oldest go first. */
export const FLOOD_MAX_TRACKED_PEERS = 4096
/** Peers on the temporary deny list at most; the earliest to expire go first. */
export const FLOOD_MAX_DENIED_PEERS = 4096

/*
 * Files (node/files): a file travels as chunks sealed with its own key, named in a manifest
 * by their SHA-256, fetched with `/outpost/file/1` from any member that holds them.
 */
export const FILE_PROTOCOL = '/outpost/file/1'
/** Version byte of every file frame. */
export const FILE_WIRE_VERSION = 1
/** A file is cut into chunks of this size (the last one shorter)... */
export const FILE_CHUNK_BYTES = 1024 * 1024
/** ...so a file frame larger than this (a sealed chunk, or the largest manifest) is refused. */
export const MAX_FILE_FRAME_BYTES = FILE_CHUNK_BYTES + 64 * 1024
/** Files up to this size are sent and fetched unless `--max-file-size` says otherwise... */
export const DEFAULT_MAX_FILE_BYTES = 4 * 1024 * 1024 * 1024
/** ...which may raise it to this much at most (its manifest must fit in one frame). */
export const MAX_FILE_BYTES_LIMIT = 32 * 1024 * 1024 * 1024
/** Chunk requests a download keeps in flight per source. */
export const FILE_WINDOW = 8
/** A source that sends this many chunks that do not match their hash is dropped for the download. */
export const FILE_MAX_CORRUPT_PER_SOURCE = 16
/** A request for a chunk (or a manifest) that goes unanswered this long ends the session. */
export const FILE_REQUEST_TIMEOUT_MS = 30_000
/** With no member holding what is missing in reach, a download looks again this often. */
export const FILE_RETRY_MS = 3_000
