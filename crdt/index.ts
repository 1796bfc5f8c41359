/**
 * Conversation documents on Yjs: signed entries, the membership they fold into, the guard
 * that checks received updates, ordering, and their persistence. Knows nothing of libp2p
 * or HTTP: pure document logic plus a storage adapter; keys and ciphers are injected.
 */
export { GroupDoc, type ApplyResult, type ChangeOrigin, type DocCrypto, type GroupKey, type MessagesListener, type UpdateListener } from './group-doc.js'
export {
  authorTag, bodyAad, canonicalJson, compareEntries, dmGroupId, groupIdFor, isOwnId, isRole, newEventId, parseInvite, parseJoin, parseLogEntry,
  parseMessageEvent, shown, signingBytes, verifyEntry, verifyInvite, verifyJoin, ROLES, MAX_RETENTION_SECONDS, MAX_THUMBNAIL_BYTES, MAX_FILE_NAME_LENGTH,
  type FileRef,
  type AdmitEntry, type CreateEntry, type GroupPolicy, type DeleteEvent, type EditEvent, type Entry, type GrantEntry, type JoinRequest, type LogEntry,
  type MessageEvent as DocEvent, type PostBody, type PostEvent, type RemoveEntry, type RetentionEntry, type Role, type RoleEntry, type RotateEntry,
  type SignedInvite, type Unsigned, type Verify, type Wraps
} from './entries.js'
export { Membership, type Member, type GroupKeyRecord, type Position } from './membership.js'
export { guardUpdate, guardUpdateBatched, type Rejection, type SignedItem, type VerifyBatch, type VerifySession } from './guard.js'
export { HybridClock, compareTimestamps, isTimestamp, type Timestamp } from './hlc.js'
export { newGroupId, newMessageId, isGroupId, isMessageId, type GroupId, type MessageId } from './ids.js'
export { compareMessages, MAX_TEXT_BYTES, MAX_NAME_LENGTH, type ChatMessage, type MessageKind } from './message.js'
export { MemoryKv, LevelKv, prefixRange, type KvStore, type KvOp, type KvRange } from './kv.js'
export { EncryptedKv, sealValue, openValue, DATA_KEY_BYTES, SEAL_OVERHEAD } from './encrypted-kv.js'
export { DocStore, PersistedDoc, STORAGE_LAYOUT_VERSION, type DocStoreInit, type UpdateSource } from './doc-store.js'
export { named, InvalidMessageError, InvalidUpdateError, NoGroupKeyError, NotAllowedError, StorageClosedError, StorageLockedError, UnreadableValueError } from './errors.js'
