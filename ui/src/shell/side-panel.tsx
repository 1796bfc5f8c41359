import { panel } from '../state.js'

/** The panel beside the conversation: a thread, members, pins, search, the network, settings. */
export function SidePanel () {
  const p = panel.value
  if (p == null) return null
  return (
    <aside class="side-panel" aria-label={p.kind}>
      <button class="icon-button close" aria-label="close" onClick={() => { panel.value = null }}>×</button>
    </aside>
  )
}
