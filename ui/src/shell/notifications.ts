import { signal } from '@preact/signals'
import { events, focusMessage, groups, me, selectedGroup } from '../state.js'

/**
 * Desktop notifications for messages that mention me and for direct messages, when the page
 * is hidden or that conversation is not open. Off until the person turns them on (which
 * asks the browser's permission); the choice is kept in localStorage.
 */
const STORAGE_KEY = 'outpost.notifications'
const supported = typeof Notification !== 'undefined'

export const notificationsOn = signal(supported && localStorage.getItem(STORAGE_KEY) === 'on' && Notification.permission === 'granted')
export const notificationsBlocked = signal(supported && Notification.permission === 'denied')
export const notificationsSupported = supported

/** Turns notifications on (asking permission) or off; false when the browser refused. */
export async function setNotifications (on: boolean): Promise<boolean> {
  if (!on || !supported) {
    notificationsOn.value = false
    localStorage.setItem(STORAGE_KEY, 'off')
    return !on
  }
  const permission = Notification.permission === 'granted' ? 'granted' : await Notification.requestPermission()
  notificationsBlocked.value = permission === 'denied'
  notificationsOn.value = permission === 'granted'
  localStorage.setItem(STORAGE_KEY, notificationsOn.value ? 'on' : 'off')
  return notificationsOn.value
}

events.on(e => {
  if (e.type !== 'message' || !notificationsOn.value || e.origin !== 'remote') return
  const m = e.message
  if (m.author === me.value?.peerId || m.deleted || m.edits > 0) return
  const group = groups.value.find(g => g.groupId === e.groupId)
  const direct = group?.dm != null
  if (!m.mentionsMe && !direct) return
  if (!document.hidden && selectedGroup.value === e.groupId) return
  const title = direct ? m.authorName : `${m.authorName} · ${group?.name ?? ''}`
  const n = new Notification(title, { body: m.text.slice(0, 200), tag: m.id })
  n.onclick = () => {
    window.focus()
    selectedGroup.value = e.groupId
    focusMessage.value = { groupId: e.groupId, messageId: m.id }
    n.close()
  }
})
