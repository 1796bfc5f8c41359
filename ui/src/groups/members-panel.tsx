import { useCallback, useEffect, useState } from 'preact/hooks'
import { api, type GroupSummary } from '../api.js'
import { strings, when } from '../i18n.js'
import { Dialog } from '../shell/dialog.js'
import { events, groups, refresh } from '../state.js'
import { download, fileSafe } from './download.js'
import { InviteDialog } from './invite-dialog.js'
import './groups.css'

const t = strings({
  en: {
    title: 'Members',
    count: '{n} members',
    you: 'you',
    owner: 'owner', admin: 'admin', member: 'member', 'read-only': 'read-only',
    online: 'online', away: 'away', offline: 'offline',
    lastSeen: 'last seen {when}',
    neverSeen: 'not seen yet',
    lastSync: 'last synced {when}',
    noSync: 'not synced since this node started',
    safety: 'Safety number',
    safetyHint: 'Compare it with theirs, in person or by phone: if both match, nobody is in between.',
    role: 'Role of {name}',
    remove: 'Remove',
    removeLabel: 'Remove {name} from the group',
    confirmTitle: 'Remove {name}?',
    confirmText: '{name} will no longer receive this group\'s messages; the group key is rotated.',
    cancel: 'Cancel',
    invite: 'Invite people',
    retention: 'Keep messages',
    forever: 'Forever',
    day: '1 day', week: '7 days', month: '30 days', year: '1 year',
    retentionSet: 'Messages are kept: {what}',
    audit: 'Audit trail',
    showAudit: 'Show audit trail',
    hideAudit: 'Hide audit trail',
    exportAudit: 'Export audit trail',
    exportHistory: 'Export history',
    html: 'HTML page',
    json: 'JSON',
    exported: 'Exported {file}',
    erased: '{n} old messages erased'
  },
  zh: {
    title: '成员',
    count: '{n} 名成员',
    you: '你',
    owner: '所有者', admin: '管理员', member: '成员', 'read-only': '只读',
    online: '在线', away: '离开', offline: '离线',
    lastSeen: '最后在线 {when}',
    neverSeen: '尚未见过',
    lastSync: '上次同步 {when}',
    noSync: '本节点启动后尚未同步',
    safety: '安全码',
    safetyHint: '当面或电话与对方核对：两边一致，说明中间没有人冒充。',
    role: '{name} 的角色',
    remove: '移除',
    removeLabel: '将 {name} 移出群组',
    confirmTitle: '移除 {name}？',
    confirmText: '{name} 将不再收到本群消息；群组密钥会随之轮换。',
    cancel: '取消',
    invite: '邀请成员',
    retention: '消息保留',
    forever: '永久',
    day: '1 天', week: '7 天', month: '30 天', year: '1 年',
    retentionSet: '消息保留：{what}',
    audit: '审计记录',
    showAudit: '查看审计记录',
    hideAudit: '隐藏审计记录',
    exportAudit: '导出审计记录',
    exportHistory: '导出聊天记录',
    html: 'HTML 页面',
    json: 'JSON',
    exported: '已导出 {file}',
    erased: '已清除 {n} 条过期消息'
  }
})

type Role = 'owner' | 'admin' | 'member' | 'read-only'
interface Member { peerId: string, name?: string, role: Role, since: number, connected: boolean, self: boolean, safetyNumber: string, lastSync?: number }
interface Presence { peerId: string, state: 'online' | 'away' | 'offline', lastSeen?: number }

const RETENTION: Array<[number, 'forever' | 'day' | 'week' | 'month' | 'year']> = [[0, 'forever'], [86400, 'day'], [7 * 86400, 'week'], [30 * 86400, 'month'], [365 * 86400, 'year']]

function retentionName (seconds: number): string {
  const known = RETENTION.find(([s]) => s === seconds)
  return known != null ? t(known[1]) : `${Math.round(seconds / 86400)} d`
}

/** Who is in the group, how to reach and verify them, and what admins may change. */
export function MembersPanel ({ groupId }: { groupId: string }) {
  const [members, setMembers] = useState<Member[]>([])
  const [presence, setPresence] = useState<Map<string, Presence>>(new Map())
  const [audit, setAudit] = useState<string[] | null>(null)
  const [confirm, setConfirm] = useState<Member | null>(null)
  const [inviting, setInviting] = useState(false)
  const [note, setNote] = useState<string | null>(null)
  const [error, setError] = useState<string | null>(null)
  const group = groups.value.find(g => g.groupId === groupId) as GroupSummary | undefined
  const myRole = (group?.role ?? null) as Role | null
  const manager = myRole === 'owner' || myRole === 'admin'

  const load = useCallback(async () => {
    const [list, pres] = await Promise.all([
      api<Member[]>('GET', `/v1/groups/${groupId}/members`),
      api<Presence[]>('GET', `/v1/groups/${groupId}/presence`)
    ])
    setMembers(list)
    setPresence(new Map(pres.map(p => [p.peerId, p])))
  }, [groupId])

  useEffect(() => {
    load().catch(err => { setError((err as Error).message) })
    const off = events.on(e => { if (e.type === 'presence') load().catch(() => {}) })
    const timer = setInterval(() => { load().catch(() => {}) }, 5000)
    return () => { off(); clearInterval(timer) }
  }, [load])

  const act = async (work: () => Promise<unknown>): Promise<void> => {
    setError(null)
    try {
      await work()
      await load()
      await refresh()
    } catch (err) {
      setError((err as Error).message)
    }
  }
  const setRole = (m: Member, role: Role): void => {
    act(async () => await api('POST', `/v1/groups/${groupId}/members/${m.peerId}/role`, { role })).catch(console.error)
  }
  const remove = (m: Member): void => {
    setConfirm(null)
    act(async () => await api('POST', `/v1/groups/${groupId}/members/${m.peerId}/remove`)).catch(console.error)
  }
  const setRetention = (seconds: number): void => {
    act(async () => {
      const r = await api<{ erased: number }>('POST', `/v1/groups/${groupId}/retention`, { seconds })
      setNote(t('retentionSet', { what: retentionName(seconds) }) + (r.erased > 0 ? ` · ${t('erased', { n: r.erased })}` : ''))
    }).catch(console.error)
  }
  const loadAudit = async (): Promise<string[]> => (await api<{ lines: string[] }>('GET', `/v1/groups/${groupId}/audit`)).lines
  const exportAudit = async (): Promise<void> => {
    const lines = await loadAudit()
    const file = `${fileSafe(group?.name ?? groupId)}-audit.jsonl`
    download(file, lines.join('\n') + '\n', 'application/x-ndjson')
    setNote(t('exported', { file }))
  }
  const exportHistory = async (format: 'html' | 'json'): Promise<void> => {
    const { content } = await api<{ content: unknown }>('GET', `/v1/groups/${groupId}/export?format=${format}`)
    const file = `${fileSafe(group?.name ?? groupId)}.${format}`
    download(file, typeof content === 'string' ? content : JSON.stringify(content, null, 2), format === 'html' ? 'text/html' : 'application/json')
    setNote(t('exported', { file }))
  }
  const name = (m: Member): string => m.name ?? m.peerId.slice(-8)
  const assignable = (m: Member): Role[] => myRole === 'owner' ? ['admin', 'member', 'read-only'] : m.role === 'owner' || m.role === 'admin' ? [] : ['member', 'read-only']

  return (
    <div class="panel-body members-panel">
      <h2>{group?.name ?? ''} · {t('title')}</h2>
      <p class="hint">{t('count', { n: members.length })}</p>
      {manager && group?.dm == null && <button class="button" onClick={() => { setInviting(true) }}>{t('invite')}</button>}
      <ul class="member-list" aria-label={t('title')}>
        {members.map(m => {
          const p = presence.get(m.peerId)
          const state = m.self ? 'online' : (p?.state ?? (m.connected ? 'online' : 'offline'))
          const roles = assignable(m)
          return (
            <li key={m.peerId} class="member" data-peer={m.peerId} aria-label={`${name(m)}, ${t(m.role)}, ${t(state)}`}>
              <div class="member-head">
                <span class={`dot ${state}`} aria-hidden="true" />
                <span class="member-name">{name(m)}{m.self ? ` (${t('you')})` : ''}</span>
                <span class="role">{t(m.role)}</span>
              </div>
              {!m.self && (
                <div class="member-meta">
                  {t(state)}{state !== 'online' && ` · ${p?.lastSeen != null ? t('lastSeen', { when: when(p.lastSeen) }) : t('neverSeen')}`}
                  {' · '}{m.lastSync != null ? t('lastSync', { when: when(m.lastSync) }) : t('noSync')}
                </div>
              )}
              <div class="safety" title={t('safetyHint')}><span class="hint">{t('safety')}: </span>{m.safetyNumber}</div>
              {manager && !m.self && m.role !== 'owner' && (
                <div class="member-actions">
                  {roles.length > 0 && (
                    <select aria-label={t('role', { name: name(m) })} value={m.role} onChange={e => { setRole(m, e.currentTarget.value as Role) }}>
                      {[...new Set([m.role, ...roles])].map(r => <option key={r} value={r}>{t(r)}</option>)}
                    </select>
                  )}
                  {(myRole === 'owner' || m.role !== 'admin') && (
                    <button class="button danger small" aria-label={t('removeLabel', { name: name(m) })} onClick={() => { setConfirm(m) }}>{t('remove')}</button>
                  )}
                </div>
              )}
            </li>
          )
        })}
      </ul>
      {error != null && <p class="error" role="alert">{error}</p>}
      {note != null && <p class="hint" role="status">{note}</p>}
      <h3>{t('retention')}</h3>
      <div class="choice-row" role="group" aria-label={t('retention')}>
        {RETENTION.map(([seconds, key]) => (
          <button key={key} aria-pressed={Number(group?.retentionSeconds ?? 0) === seconds} disabled={!manager} onClick={() => { setRetention(seconds) }}>{t(key)}</button>
        ))}
      </div>
      <h3>{t('audit')}</h3>
      <div class="choice-row">
        <button onClick={() => { if (audit != null) setAudit(null); else loadAudit().then(setAudit, err => { setError((err as Error).message) }) }}>{audit == null ? t('showAudit') : t('hideAudit')}</button>
        <button onClick={() => { exportAudit().catch(err => { setError((err as Error).message) }) }}>{t('exportAudit')}</button>
      </div>
      {audit != null && <pre class="audit" tabIndex={0} aria-label={t('audit')}>{audit.join('\n')}</pre>}
      <h3>{t('exportHistory')}</h3>
      <div class="choice-row">
        <button aria-label={`${t('exportHistory')}: ${t('html')}`} onClick={() => { exportHistory('html').catch(err => { setError((err as Error).message) }) }}>{t('html')}</button>
        <button aria-label={`${t('exportHistory')}: ${t('json')}`} onClick={() => { exportHistory('json').catch(err => { setError((err as Error).message) }) }}>{t('json')}</button>
      </div>
      {confirm != null && (
        <Dialog title={t('confirmTitle', { name: name(confirm) })} onClose={() => { setConfirm(null) }}>
          <p>{t('confirmText', { name: name(confirm) })}</p>
          <div class="dialog-actions">
            <button class="button secondary" autofocus onClick={() => { setConfirm(null) }}>{t('cancel')}</button>
            <button class="button danger" onClick={() => { remove(confirm) }}>{t('remove')}</button>
          </div>
        </Dialog>
      )}
      {inviting && group != null && <InviteDialog groupId={groupId} name={group.name} canInviteAdmins={myRole === 'owner'} onClose={() => { setInviting(false) }} />}
    </div>
  )
}
