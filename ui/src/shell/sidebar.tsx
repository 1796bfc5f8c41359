import { signal } from '@preact/signals'
import { useState } from 'preact/hooks'
import { api, type GroupSummary } from '../api.js'
import { CreateGroupDialog } from '../groups/create-dialog.js'
import { DirectMessageDialog } from '../groups/dm-dialog.js'
import { JoinGroupDialog } from '../groups/join-dialog.js'
import { strings } from '../i18n.js'
import { events, groups, me, panel, selectedGroup, type Panel } from '../state.js'
import './shell.css'
import { Icon } from '../icons.js'

const t = strings({
  en: {
    conversations: 'Conversations',
    groups: 'Groups',
    directMessages: 'Direct messages',
    noGroups: 'No groups yet',
    noDms: 'No direct messages yet',
    unread: '{n} unread',
    mentions: '{n} mention',
    mentionsMany: '{n} mentions',
    online: 'Online',
    away: 'Away',
    presenceLabel: 'Your status: {state}. Switch to {other}',
    search: 'Search',
    network: 'Network',
    settings: 'Settings',
    newGroup: 'New group',
    joinGroup: 'Join a group',
    newDm: 'New direct message',
    members: 'Group members',
    tools: 'Tools'
  },
  zh: {
    conversations: '会话',
    groups: '群组',
    directMessages: '私信',
    noGroups: '还没有群组',
    noDms: '还没有私信',
    unread: '{n} 条未读',
    mentions: '{n} 条提及',
    mentionsMany: '{n} 条提及',
    online: '在线',
    away: '离开',
    presenceLabel: '你的状态：{state}。切换为{other}',
    search: '搜索',
    network: '网络',
    settings: '设置',
    newGroup: '新建群组',
    joinGroup: '加入群组',
    newDm: '发起私信',
    members: '群组成员',
    tools: '工具'
  }
})

/** This user's presence as last set from this page (the node has no read-back for it). */
export const myPresence = signal<'online' | 'away'>('online')

let timer: ReturnType<typeof setTimeout> | null = null
/** Reloads the group list soon; many messages in a burst cost one request. */
export function refreshGroupsSoon (delayMs = 250): void {
  if (timer != null) return
  timer = setTimeout(() => {
    timer = null
    api<GroupSummary[]>('GET', '/v1/groups').then(list => { groups.value = list }, () => {})
  }, delayMs)
}

events.on(e => {
  if (e.type === 'message') refreshGroupsSoon()
})
// Reading a conversation changes its unread count; the view that marks it read is elsewhere.
selectedGroup.subscribe(() => { refreshGroupsSoon(600) })

/** The accessible name of a conversation: its name, unread count and mentions. */
export function groupLabel (g: GroupSummary): string {
  const unread = Number(g.unread ?? 0)
  const mentions = Number(g.mentions ?? 0)
  const parts = [g.name]
  if (unread > 0) parts.push(t('unread', { n: unread }))
  if (mentions > 0) parts.push(t(mentions === 1 ? 'mentions' : 'mentionsMany', { n: mentions }))
  return parts.join(', ')
}

function togglePanel (next: Panel): void {
  const p = panel.value
  panel.value = p != null && p.kind === next.kind && (!('groupId' in next) || ('groupId' in p && p.groupId === next.groupId)) ? null : next
}

/** Up/Down (and Home/End) move between the conversations of the list. */
function onListKey (e: KeyboardEvent): void {
  if (!['ArrowDown', 'ArrowUp', 'Home', 'End'].includes(e.key)) return
  const nav = (e.currentTarget as HTMLElement).closest('nav')
  if (nav == null) return
  const items = [...nav.querySelectorAll<HTMLButtonElement>('button.group')]
  const at = items.indexOf(document.activeElement as HTMLButtonElement)
  let next = at
  if (e.key === 'ArrowDown') next = Math.min(items.length - 1, at + 1)
  if (e.key === 'ArrowUp') next = Math.max(0, at - 1)
  if (e.key === 'Home') next = 0
  if (e.key === 'End') next = items.length - 1
  e.preventDefault()
  items[next]?.focus()
}

function GroupItem ({ g }: { g: GroupSummary }) {
  const selected = g.groupId === selectedGroup.value
  const unread = Number(g.unread ?? 0)
  const mentions = Number(g.mentions ?? 0)
  return (
    <li class="group-row" key={g.groupId}>
      <button class={`group${selected ? ' selected' : ''}${unread > 0 ? ' unread' : ''}`} aria-current={selected ? 'true' : undefined}
        aria-label={groupLabel(g)} data-group={g.groupId} onClick={() => { selectedGroup.value = g.groupId }} onKeyDown={onListKey}>
        <span class="group-name">{g.dm != null ? '@ ' : '# '}{g.name}</span>
        {mentions > 0 && <span class="badge mention" aria-hidden="true">@{mentions}</span>}
        {unread > 0 && <span class="badge" aria-hidden="true">{unread}</span>}
      </button>
      {selected && (
        <button class="group-info" aria-label={t('members')} title={t('members')}
          onClick={() => { togglePanel({ kind: 'members', groupId: g.groupId }) }}><Icon name="info" size={16} /></button>
      )}
    </li>
  )
}

async function setPresence (state: 'online' | 'away'): Promise<void> {
  await api('POST', '/v1/presence', { state })
  myPresence.value = state
}

/** The header (who I am, presence, tools) and the list of conversations. */
export function Sidebar () {
  const [dialog, setDialog] = useState<'create' | 'join' | 'dm' | null>(null)
  const list = groups.value
  const rooms = list.filter(g => g.dm == null)
  const dms = list.filter(g => g.dm != null)
  const state = myPresence.value
  const other = state === 'online' ? 'away' : 'online'
  const kind = panel.value?.kind
  return (
    <nav class="sidebar" aria-label={t('conversations')}>
      <div class="sidebar-header">
        <div class="me-row">
          <span class="me-name">{me.value?.name}</span>
          <button class="presence-toggle" aria-label={t('presenceLabel', { state: t(state), other: t(other) })}
            onClick={() => { setPresence(other).catch(console.error) }}>
            <span class={`dot ${state}`} aria-hidden="true" />{t(state)}
          </button>
        </div>
        <div class="header-tools" role="toolbar" aria-label={t('tools')}>
          <button class="tool" aria-pressed={kind === 'search'} onClick={() => { togglePanel({ kind: 'search' }) }}><Icon name="search" size={14} /> {t('search')}</button>
          <button class="tool" aria-pressed={kind === 'network'} onClick={() => { togglePanel({ kind: 'network' }) }}><Icon name="network" size={14} /> {t('network')}</button>
          <button class="tool" aria-pressed={kind === 'settings'} onClick={() => { togglePanel({ kind: 'settings' }) }}><Icon name="settings" size={14} /> {t('settings')}</button>
        </div>
      </div>
      <div class="section-head">
        <h2>{t('groups')}</h2>
        <button class="section-add" aria-label={t('newGroup')} title={t('newGroup')} onClick={() => { setDialog('create') }}>+</button>
      </div>
      <ul class="group-list" aria-label={t('groups')}>
        {rooms.map(g => <GroupItem key={g.groupId} g={g} />)}
        {rooms.length === 0 && <li class="sidebar-empty">{t('noGroups')}</li>}
      </ul>
      <div class="section-head">
        <h2>{t('directMessages')}</h2>
        <button class="section-add" aria-label={t('newDm')} title={t('newDm')} onClick={() => { setDialog('dm') }}>+</button>
      </div>
      <ul class="group-list" aria-label={t('directMessages')}>
        {dms.map(g => <GroupItem key={g.groupId} g={g} />)}
        {dms.length === 0 && <li class="sidebar-empty">{t('noDms')}</li>}
      </ul>
      <div class="sidebar-actions">
        <button onClick={() => { setDialog('create') }}>+ {t('newGroup')}</button>
        <button onClick={() => { setDialog('join') }}><Icon name="join" size={14} /> {t('joinGroup')}</button>
        <button onClick={() => { setDialog('dm') }}><Icon name="mail" size={14} /> {t('newDm')}</button>
      </div>
      {dialog === 'create' && <CreateGroupDialog onClose={() => { setDialog(null) }} />}
      {dialog === 'join' && <JoinGroupDialog onClose={() => { setDialog(null) }} />}
      {dialog === 'dm' && <DirectMessageDialog onClose={() => { setDialog(null) }} />}
    </nav>
  )
}
