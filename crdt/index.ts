/**
 * Conversation documents on Yjs, their validation and ordering, and their persistence.
 * Knows nothing of libp2p or HTTP: pure document logic plus a storage adapter.
 */
export { GroupDoc, type ChangeOrigin, type GroupMeta, type MessagesListener } from './group-doc.js'
export { HybridClock, compareTimestamps, isTimestamp, type Timestamp } from './hlc.js'
export { newGroupId, newMessageId, isGroupId, isMessageId, type GroupId, type MessageId } from './ids.js'
export { parseMessage, compareMessages, MAX_TEXT_BYTES, MAX_NAME_LENGTH, type ChatMessage, type MessageKind } from './message.js'
export { MemoryKv, LevelKv, prefixRange, type KvStore, type KvOp, type KvRange } from './kv.js'
export { EncryptedKv, sealValue, openValue, DATA_KEY_BYTES, SEAL_OVERHEAD } from './encrypted-kv.js'
export { DocStore, PersistedDoc, STORAGE_LAYOUT_VERSION, type DocStoreInit } from './doc-store.js'
export { InvalidMessageError, InvalidUpdateError, StorageClosedError, StorageLockedError, UnreadableValueError } from './errors.js'
