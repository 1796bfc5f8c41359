import { PinsPanel } from '../conversation/pins-panel.js'
import { ThreadPanel } from '../conversation/thread-panel.js'
import { MembersPanel } from '../groups/members-panel.js'
import { NetworkPanel } from '../network/network-panel.js'
import { SearchPanel } from '../search/search-panel.js'
import { panel } from '../state.js'
import { SettingsPanel } from './settings-panel.js'
import { strings } from '../i18n.js'

const t = strings({
  en: { close: 'Close panel', thread: 'Thread', members: 'Members', pins: 'Pins', search: 'Search', network: 'Network', settings: 'Settings' },
  zh: { close: '关闭面板', thread: '话题', members: '成员', pins: '置顶消息', search: '搜索', network: '网络', settings: '设置' }
})

/** The panel beside the conversation: a thread, members, pins, search, the network, settings. */
export function SidePanel () {
  const p = panel.value
  if (p == null) return null
  return (
    <aside class="side-panel" aria-label={t(p.kind)}>
      <button class="icon-button close" aria-label={t('close')} onClick={() => { panel.value = null }}>×</button>
      {p.kind === 'thread' && <ThreadPanel groupId={p.groupId} messageId={p.messageId} />}
      {p.kind === 'pins' && <PinsPanel groupId={p.groupId} />}
      {p.kind === 'members' && <MembersPanel groupId={p.groupId} />}
      {p.kind === 'search' && <SearchPanel />}
      {p.kind === 'network' && <NetworkPanel />}
      {p.kind === 'settings' && <SettingsPanel />}
    </aside>
  )
}
