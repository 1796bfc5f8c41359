import { PinsPanel } from '../conversation/pins-panel.js'
import { ThreadPanel } from '../conversation/thread-panel.js'
import { MembersPanel } from '../groups/members-panel.js'
import { NetworkPanel } from '../network/network-panel.js'
import { SearchPanel } from '../search/search-panel.js'
import { panel } from '../state.js'
import { SettingsPanel } from './settings-panel.js'

/** The panel beside the conversation: a thread, members, pins, search, the network, settings. */
export function SidePanel () {
  const p = panel.value
  if (p == null) return null
  return (
    <aside class="side-panel" aria-label={p.kind}>
      <button class="icon-button close" aria-label="close" onClick={() => { panel.value = null }}>×</button>
      {p.kind === 'thread' && <ThreadPanel groupId={p.groupId} messageId={p.messageId} />}
      {p.kind === 'pins' && <PinsPanel groupId={p.groupId} />}
      {p.kind === 'members' && <MembersPanel groupId={p.groupId} />}
      {p.kind === 'search' && <SearchPanel />}
      {p.kind === 'network' && <NetworkPanel />}
      {p.kind === 'settings' && <SettingsPanel />}
    </aside>
  )
}
