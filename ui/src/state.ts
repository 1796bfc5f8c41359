import { signal } from '@preact/signals'
import { api, ApiError, Events, type GroupSummary, type Status } from './api.js'

/**
 * What the whole page shares: who this node is, its conversations, which one is open, the
 * side panel, and whether the event stream is up. Each part of the UI reads these signals
 * and re-renders when they change; it loads its own details through the API.
 */
export const me = signal<Status | null>(null)
/**
 * 'checking' until the first answer; 'signed-out' when the node refused (no session);
 * 'locked' while an encrypted data directory waits for its passphrase (shell/unlock.tsx).
 */
export const session = signal<'checking' | 'signed-in' | 'signed-out' | 'locked'>('checking')
export const groups = signal<GroupSummary[]>([])
export const selectedGroup = signal<string | null>(null)
export const connected = signal(false)

export type Panel =
  | { kind: 'thread', groupId: string, messageId: string }
  | { kind: 'members', groupId: string }
  | { kind: 'pins', groupId: string }
  | { kind: 'search' }
  | { kind: 'network' }
  | { kind: 'settings' }
export const panel = signal<Panel | null>(null)

/** A message to show in context (search results jump here); the conversation view scrolls to it. */
export const focusMessage = signal<{ groupId: string, messageId: string } | null>(null)

export const events = new Events(up => { connected.value = up }, () => { refresh().catch(() => {}) })

export async function refresh (): Promise<void> {
  try {
    const [status, list] = await Promise.all([api<Status>('GET', '/v1/status'), api<GroupSummary[]>('GET', '/v1/groups')])
    me.value = status
    groups.value = list
    session.value = 'signed-in'
    if (selectedGroup.value == null && list.length > 0) selectedGroup.value = list[0].groupId
  } catch (err) {
    if (err instanceof ApiError && err.status === 401) session.value = 'signed-out'
    else if (err instanceof ApiError && err.status === 423) session.value = 'locked'
    else throw err
  }
}
