// Straight from the file, not the folder's index: the CLI loads this, and the index would
// pull in Yjs and LevelDB for every command.
import { named } from '../crdt/errors.js'

/**
 * Errors a caller of the node can meet. The local API maps them to HTTP status codes by
 * name (see api/errors-to-status), and tests assert on the name.
 */

/** A peer sent a frame or envelope that does not decode, is too large, or has a bad version. */
export class MalformedFrameError extends named('MalformedFrameError') {}
/** No group with this id on this node. */
export class UnknownGroupError extends named('UnknownGroupError') {}
/** No peer with this id or name in the peer book. */
export class UnknownPeerError extends named('UnknownPeerError') {}
/** An invite string that does not decode. */
export class InvalidInviteError extends named('InvalidInviteError') {}
/** A network key file that is not in libp2p's pre-shared key format. */
export class InvalidNetworkKeyError extends named('InvalidNetworkKeyError') {}
/** A request to the local API (or a CLI argument) is not valid. */
export class InvalidRequestError extends named('InvalidRequestError') {}
/** The data directory has no identity yet (`outpost init` was never run). */
export class NotInitializedError extends named('NotInitializedError') {}
/** Another node is running on this data directory. */
export class DataDirLockedError extends named('DataDirLockedError') {}
/** No node is running on this data directory (CLI commands need one). */
export class NodeNotRunningError extends named('NodeNotRunningError') {}
/** A request body over the API's size limit. */
export class PayloadTooLargeError extends named('PayloadTooLargeError') {}
/** The API token was missing or wrong. */
export class UnauthorizedError extends named('UnauthorizedError') {}
/** The node is stopping or stopped. */
export class NodeStoppedError extends named('NodeStoppedError') {}
/** The data directory is encrypted and no passphrase was given. */
export class PassphraseRequiredError extends named('PassphraseRequiredError') {}
/** The passphrase does not unlock the data directory's vault (nothing was changed). */
export class WrongPassphraseError extends named('WrongPassphraseError') {}
/** The vault record or file (the wrapped data key) is damaged or of an unknown format. */
export class CorruptVaultError extends named('CorruptVaultError') {}
/** A peer went over its flood-guard budget; its input is dropped (see flood-guard.ts). */
export class PeerThrottledError extends named('PeerThrottledError') {}
/** A file over this node's size limit (`outpost start --max-file-size`). */
export class FileTooLargeError extends named('FileTooLargeError') {}
/** No message this node holds names a file with this id. */
export class UnknownFileError extends named('UnknownFileError') {}
/** The file is not (yet) complete and verified on this node: fetch it first. */
export class FileNotReadyError extends named('FileNotReadyError') {}
/** This node cannot write a file's chunks to its disk (full, or not writable): the download stops. */
export class FileStorageError extends named('FileStorageError') {}
