/**
 * The Outpost daemon: where crdt, discovery and libp2p meet. The only folder that opens
 * sockets.
 */
export { OutpostNode, type OutpostNodeInit, type HistoryEntry, type GroupSummary, type MessageEvent } from './outpost-node.js'
export { DataDir, type ApiInfo } from './data-dir.js'
export { ApiServer, type ApiServerInit } from './api/server.js'
export { createHost, scoreTopic, DEFAULT_LISTEN, GOSSIP_SCORE_THRESHOLDS, GROUP_TOPIC_SCORE_PARAMS, type Host, type HostInit } from './host.js'
export { FloodGuard, DenyList, TokenBucket, type FloodGuardInit, type FloodGuardStats } from './flood-guard.js'
export { encodeInvite, decodeInvite, INVITE_PREFIX, type Invite } from './wire/invite.js'
export { encodeSyncFrame, decodeSyncFrame, type SyncFrame } from './wire/sync-codec.js'
export { encodeGossip, decodeGossip, type GossipEnvelope } from './wire/gossip-codec.js'
export { encodeFileFrame, decodeFileFrame, type FileFrame } from './wire/file-codec.js'
export { FileService, type FileStatus, type FileState, type SendFileOptions } from './files/index.js'
export { generateNetworkKey, parseNetworkKey, loadNetworkKey, storeNetworkKey } from './network-key.js'
export { safetyNumber } from './safety-number.js'
export * from './errors.js'
export * from './constants.js'
