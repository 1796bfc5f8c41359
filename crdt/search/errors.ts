/** A document given to the index lacks what it needs (a message id, an author, a time). */
export class InvalidSearchDocError extends Error {
  static readonly NAME = 'InvalidSearchDocError'
  override name = InvalidSearchDocError.NAME
}

/** The index was used after `close()`, or an earlier write to it failed. */
export class SearchIndexClosedError extends Error {
  static readonly NAME = 'SearchIndexClosedError'
  override name = SearchIndexClosedError.NAME
}

/** The stored index has a version or shape this code does not read. */
export class CorruptSearchIndexError extends Error {
  static readonly NAME = 'CorruptSearchIndexError'
  override name = CorruptSearchIndexError.NAME
}
