/** Protocol ids, limits and defaults, in one place. */

export const SYNC_PROTOCOL = '/outpost/sync/2'
/** Version byte carried by every sync frame and gossip envelope. */
export const WIRE_VERSION = 2
/** gossipsub topic of a group: this prefix plus the group id. */
export const GROUP_TOPIC_PREFIX = '/outpost/group/2/'
/** mDNS service name, so that only Outpost nodes answer each other. */
export const MDNS_SERVICE_TAG = '_outpost._udp.local'

/** Default TCP port for libp2p, on every interface (IPv4 and IPv6). */
export const DEFAULT_P2P_PORT = 4600
/** Default address of the local API (loopback only). */
export const DEFAULT_API_HOST = '127.0.0.1'
export const DEFAULT_API_PORT = 4610

/** A group's missing history is sent in chunks of this size... */
export const SYNC_CHUNK_BYTES = 1024 * 1024
/** ...so a sync frame larger than this (a chunk plus headers) is refused. */
export const MAX_SYNC_FRAME_BYTES = SYNC_CHUNK_BYTES + 1024
/** The chunks of one group's update may add up to this much at most. */
export const MAX_SYNC_UPDATE_BYTES = 256 * 1024 * 1024
/** A gossip envelope larger than this is dropped. */
export const MAX_GOSSIP_BYTES = 256 * 1024
/** A join request carried in HELLO (a signed invite inside a signed request). */
export const MAX_JOIN_BYTES = 16 * 1024
/** Groups listed in one HELLO frame at most. */
export const MAX_GROUPS_PER_HELLO = 10_000
/** A sync exchange that takes longer than this is aborted. */
export const SYNC_TIMEOUT_MS = 30_000
/** Gaps seen in gossip trigger at most one sync exchange per peer this often. */
export const GAP_SYNC_MIN_INTERVAL_MS = 1_000
/** Anti-entropy: every connected peer is re-synced this often. */
export const DEFAULT_SYNC_INTERVAL_MS = 10_000
/** The local API refuses request bodies larger than this. */
export const MAX_API_BODY_BYTES = 1024 * 1024
