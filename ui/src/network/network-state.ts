import { signal } from '@preact/signals'
import { api } from '../api.js'
import { events, session } from '../state.js'

/** GET /v1/network: the members of this node's groups (not itself) and how they are reached. */
export interface NetworkSummary {
  reachable: number
  total: number
  members: Array<{ peerId: string, name?: string, connected: boolean, lastSeen?: number, problem?: string }>
  groups: Array<{ groupId: string, name: string, dm?: string, members: Array<{ peerId: string, lastSync?: number }> }>
}

export const network = signal<NetworkSummary | null>(null)

/** How often the page asks again when nothing happened; a partition shows no event of its own. */
const POLL_MS = 3000

let inFlight = false
export async function loadNetwork (): Promise<void> {
  if (inFlight || session.value !== 'signed-in') return
  inFlight = true
  try {
    network.value = await api<NetworkSummary>('GET', '/v1/network')
  } catch {
    // The offline banner covers a node that does not answer.
  } finally {
    inFlight = false
  }
}

let started = false
/** Keeps `network` current: on presence events and every few seconds. */
export function watchNetwork (): void {
  if (started) return
  started = true
  loadNetwork().catch(() => {})
  events.on(e => { if (e.type === 'presence' || e.type === 'hello') loadNetwork().catch(() => {}) })
  setInterval(() => { loadNetwork().catch(() => {}) }, POLL_MS)
}
