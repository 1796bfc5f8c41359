import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { OutpostNode, type OutpostNodeInit } from '../../node/index.js'

/** Loopback only, random port: in-process tests never touch the real network. */
export const LOOPBACK_LISTEN = ['/ip4/127.0.0.1/tcp/0']

export async function tempDir (prefix = 'outpost-test-'): Promise<string> {
  return await mkdtemp(join(tmpdir(), prefix))
}

export async function removeDir (dir: string): Promise<void> {
  await rm(dir, { recursive: true, force: true })
}

/** A started node on loopback without mDNS; pass `dataDir` for LevelDB, else in memory. */
export async function startNode (init: OutpostNodeInit & { name: string }): Promise<OutpostNode> {
  const node = await OutpostNode.create({ listen: LOOPBACK_LISTEN, mdns: false, ...init })
  await node.start()
  return node
}

/** Polls until `check` returns true; fails with `what` after `timeoutMs`. */
export async function waitFor (what: string, check: () => boolean | Promise<boolean>, timeoutMs = 20_000, everyMs = 25): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)
    await new Promise(resolve => setTimeout(resolve, everyMs))
  }
}
