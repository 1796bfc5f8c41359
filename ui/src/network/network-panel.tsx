import { useEffect } from 'preact/hooks'
import { strings, when } from '../i18n.js'
import { connected } from '../state.js'
import { loadNetwork, network, watchNetwork } from './network-state.js'
import './network.css'

const t = strings({
  en: {
    title: 'Network',
    summary: '{reachable} of {total} members reachable',
    none: 'Nobody else is in your groups yet.',
    reachable: 'Reachable now',
    unreachable: 'Not reachable',
    connected: 'connected',
    lastSeen: 'last seen {when}',
    neverSeen: 'never seen by this node',
    sync: 'Last sync per group',
    group: 'Group',
    member: 'Member',
    lastSync: 'Last sync',
    never: 'not since this node started',
    nodeDown: 'Your own node does not answer.',
    refresh: 'Refresh'
  },
  zh: {
    title: '网络',
    summary: '{total} 名成员中 {reachable} 名可达',
    none: '你的群组里还没有其他人。',
    reachable: '当前可达',
    unreachable: '不可达',
    connected: '已连接',
    lastSeen: '最后在线 {when}',
    neverSeen: '本节点从未见过',
    sync: '各群组最近同步',
    group: '群组',
    member: '成员',
    lastSync: '最近同步',
    never: '本节点启动后尚未同步',
    nodeDown: '本机节点没有响应。',
    refresh: '刷新'
  }
})

/** Who is reachable now, who is not and since when, and when each group last synced with whom. */
export function NetworkPanel () {
  useEffect(() => { watchNetwork(); loadNetwork().catch(() => {}) }, [])
  const net = network.value
  const names = new Map(net?.members.map(m => [m.peerId, m.name ?? m.peerId.slice(-8)]) ?? [])
  const up = net?.members.filter(m => m.connected) ?? []
  const down = net?.members.filter(m => !m.connected) ?? []
  return (
    <div class="panel-body network-panel">
      <h2>{t('title')}</h2>
      {!connected.value && <p class="error" role="alert">{t('nodeDown')}</p>}
      {net != null && net.total === 0 && <p class="hint">{t('none')}</p>}
      {net != null && net.total > 0 && <p class="net-summary" role="status">{t('summary', { reachable: net.reachable, total: net.total })}</p>}
      <button class="button secondary small" onClick={() => { loadNetwork().catch(() => {}) }}>{t('refresh')}</button>
      {up.length > 0 && <h3>{t('reachable')}</h3>}
      {up.length > 0 && (
        <ul class="net-list" aria-label={t('reachable')}>
          {up.map(m => (
            <li key={m.peerId} class="net-peer" data-peer={m.peerId}>
              <span class="net-peer-head"><span class="dot online" aria-hidden="true" />{names.get(m.peerId)}</span>
              <span class="net-meta">{t('connected')}</span>
            </li>
          ))}
        </ul>
      )}
      {down.length > 0 && <h3>{t('unreachable')}</h3>}
      {down.length > 0 && (
        <ul class="net-list" aria-label={t('unreachable')}>
          {down.map(m => (
            <li key={m.peerId} class="net-peer" data-peer={m.peerId}>
              <span class="net-peer-head"><span class="dot offline" aria-hidden="true" />{names.get(m.peerId)}</span>
              <span class="net-meta">{m.lastSeen != null ? t('lastSeen', { when: when(m.lastSeen) }) : t('neverSeen')}</span>
              {m.problem != null && <span class="net-problem">{m.problem}</span>}
            </li>
          ))}
        </ul>
      )}
      {net != null && net.groups.some(g => g.members.length > 0) && (
        <>
          <h3>{t('sync')}</h3>
          <table class="sync-table">
            <thead><tr><th scope="col">{t('group')}</th><th scope="col">{t('member')}</th><th scope="col">{t('lastSync')}</th></tr></thead>
            <tbody>
              {net.groups.flatMap(g => g.members.map((m, i) => (
                <tr key={`${g.groupId}-${m.peerId}`}>
                  <th scope="row">{i === 0 ? g.name : ''}</th>
                  <td>{names.get(m.peerId) ?? m.peerId.slice(-8)}</td>
                  <td>{m.lastSync != null ? when(m.lastSync) : <span class="stale">{t('never')}</span>}</td>
                </tr>
              )))}
            </tbody>
          </table>
        </>
      )}
    </div>
  )
}
