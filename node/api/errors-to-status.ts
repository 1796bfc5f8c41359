/** HTTP status for an error, by the error's name (see node/errors.ts and crdt/errors.ts). */
const STATUS: Record<string, number> = {
  InvalidRequestError: 400,
  InvalidInviteError: 400,
  InvalidNetworkKeyError: 400,
  InvalidMessageError: 400,
  UnauthorizedError: 401,
  NotAllowedError: 403,
  WrongPassphraseError: 403,
  UnknownGroupError: 404,
  UnknownPeerError: 404,
  UnknownFileError: 404,
  NoGroupKeyError: 409,
  FileNotReadyError: 409,
  PayloadTooLargeError: 413,
  FileTooLargeError: 413,
  NodeStoppedError: 503
}

export function statusOf (err: Error): number {
  return STATUS[err.name] ?? 500
}
