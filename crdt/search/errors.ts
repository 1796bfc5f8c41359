import { named } from '../errors.js'

/** A document given to the index lacks what it needs (a message id, an author, a time). */
export class InvalidSearchDocError extends named('InvalidSearchDocError') {}

/** The index was used after `close()`, or an earlier write to it failed. */
export class SearchIndexClosedError extends named('SearchIndexClosedError') {}

/** The stored index has a version or shape this code does not read. */
export class CorruptSearchIndexError extends named('CorruptSearchIndexError') {}
