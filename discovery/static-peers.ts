import { readFile } from 'node:fs/promises'
import { multiaddr } from '@multiformats/multiaddr'

export class InvalidPeerAddressError extends Error {
  static readonly NAME = 'InvalidPeerAddressError'
  override name = InvalidPeerAddressError.NAME
}

/** Checks a static peer address given on the command line or in the peers file. */
export function parsePeerAddress (text: string, where = 'peer address'): string {
  try {
    return multiaddr(text.trim()).toString()
  } catch {
    throw new InvalidPeerAddressError(`${where}: '${text}' is not a multiaddr (expected e.g. /ip4/10.0.0.2/tcp/4600)`)
  }
}

/**
 * Reads the peers file of a data directory: one multiaddr per line, `#` starts a comment.
 * A missing file means no static peers.
 */
export async function readPeersFile (path: string): Promise<string[]> {
  let text: string
  try {
    text = await readFile(path, 'utf8')
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return []
    throw err
  }
  const addrs: string[] = []
  text.split('\n').forEach((raw, i) => {
    const line = raw.replace(/#.*/, '').trim()
    if (line !== '') addrs.push(parsePeerAddress(line, `${path} line ${i + 1}`))
  })
  return addrs
}
