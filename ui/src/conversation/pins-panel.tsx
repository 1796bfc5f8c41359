/** Placeholder until this panel is built. */
export function PinsPanel (_props: Record<string, unknown>) {
  return <p class="panel-todo">…</p>
}
