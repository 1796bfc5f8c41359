/**
 * Full-text search over the messages a node holds: a SearchIndex over any KvStore, so it is
 * on disk and encrypted at rest wherever the store is (EncryptedKv seals every value).
 *
 * - Terms: Intl.Segmenter words, NFKC-normalised and lower-cased (marks dropped outside
 *   CJK); Chinese, Japanese and Korean runs as character bigrams, so that any two or more
 *   characters of a run find it (tokenize.ts).
 * - Ranking: BM25 (k1 1.2, b 0.75); equal scores go to the newer message. Every query term
 *   must occur.
 * - Filters: group, author, time range, has-file; applied before ranking.
 * - At rest: record keys hold no term: a term appears only as an 8-byte HMAC-SHA256 under a
 *   random key kept in the index's own (sealed) record. Postings and document slots are
 *   values. What the keys do show: group and author ids, message ids, how many posting
 *   chunks each (hashed) term has.
 * - Writes are group-committed: changes gather for `flushDelayMs` (or until `maxPending`)
 *   and go in one batch; `search` first writes what is pending. Memory is bounded by LRU
 *   caches of document blocks and posting tails, not by the size of the index.
 * - Removing a message marks its document dead; its postings stay (hashed, sealed) and are
 *   skipped by every query.
 *
 * Knows nothing of libp2p, HTTP or Yjs: the node feeds it messages (node/search-service.ts).
 */
export { SearchIndex, DEFAULT_LIMIT, MAX_LIMIT, type SearchDoc, type SearchHit, type SearchIndexInit, type SearchOptions } from './search-index.js'
export { tokenize, termCounts, MAX_TERM_LENGTH } from './tokenize.js'
export { snippet } from './snippet.js'
export { CorruptSearchIndexError, InvalidSearchDocError, SearchIndexClosedError } from './errors.js'
