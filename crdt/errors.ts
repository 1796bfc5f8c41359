/**
 * Errors of the document and storage layer. Every class is matched by `.name` (its static
 * NAME): the local API maps names to status codes, and tests assert on them.
 */
export interface NamedErrorClass {
  readonly NAME: string
  new (message: string): Error
}

/** An error class whose `.name` (and static NAME) is `name`. */
export function named (name: string): NamedErrorClass {
  return class extends Error {
    static readonly NAME = name
    override name = name
  }
}

/** A stored or received value is not a valid Outpost document value. */
export class InvalidMessageError extends named('InvalidMessageError') {}

/** A Yjs update could not be decoded or applied. */
export class InvalidUpdateError extends named('InvalidUpdateError') {}

/** The storage was used after it was closed. */
export class StorageClosedError extends named('StorageClosedError') {}

/** The LevelDB directory is held by another process (another node runs on it). */
export class StorageLockedError extends named('StorageLockedError') {}

/** The membership does not allow this node (or a peer) to do this. */
export class NotAllowedError extends named('NotAllowedError') {}

/** The group key needed has not reached this node yet. */
export class NoGroupKeyError extends named('NoGroupKeyError') {}

/**
 * A stored value did not authenticate under the data key: it was altered, moved to another
 * key, or written under another key. Never returned as garbage.
 */
export class UnreadableValueError extends named('UnreadableValueError') {}
