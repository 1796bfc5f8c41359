/** A stored or received value is not a valid Outpost document value. */
export class InvalidMessageError extends Error {
  static readonly NAME = 'InvalidMessageError'
  override name = InvalidMessageError.NAME
}

/** A Yjs update could not be decoded or applied. */
export class InvalidUpdateError extends Error {
  static readonly NAME = 'InvalidUpdateError'
  override name = InvalidUpdateError.NAME
}

/** The storage was used after it was closed. */
export class StorageClosedError extends Error {
  static readonly NAME = 'StorageClosedError'
  override name = StorageClosedError.NAME
}

/** The LevelDB directory is held by another process (another node runs on it). */
export class StorageLockedError extends Error {
  static readonly NAME = 'StorageLockedError'
  override name = StorageLockedError.NAME
}

/** The membership does not allow this node (or a peer) to do this. */
export class NotAllowedError extends Error {
  static readonly NAME = 'NotAllowedError'
  override name = NotAllowedError.NAME
}

/** The group key needed has not reached this node yet. */
export class NoGroupKeyError extends Error {
  static readonly NAME = 'NoGroupKeyError'
  override name = NoGroupKeyError.NAME
}

/**
 * A stored value did not authenticate under the data key: it was altered, moved to another
 * key, or written under another key. Never returned as garbage.
 */
export class UnreadableValueError extends Error {
  static readonly NAME = 'UnreadableValueError'
  override name = UnreadableValueError.NAME
}
