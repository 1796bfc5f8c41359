import { useEffect, useState } from 'preact/hooks'
import { api, type Message } from '../api.js'
import { formatTime } from '../i18n.js'
import { events, focusMessage } from '../state.js'
import { t } from './strings.js'

/** The group's pinned messages; choosing one shows it in the conversation. */
export function PinsPanel ({ groupId }: { groupId: string }) {
  const [pins, setPins] = useState<Message[]>([])
  useEffect(() => {
    const load = (): void => { api<Message[]>('GET', `/v1/groups/${groupId}/pins`).then(setPins, console.error) }
    load()
    return events.on(e => { if (e.type === 'message' && e.groupId === groupId) load() })
  }, [groupId])
  return (
    <section class="pins-panel">
      <h2>{t('pinnedMessages')}</h2>
      {pins.length === 0 && <p class="muted">{t('noPins')}</p>}
      <ul class="plain">
        {pins.map(m => (
          <li key={m.id}>
            <button class="result" onClick={() => { focusMessage.value = { groupId, messageId: m.id } }}>
              <span class="author">{m.authorName}</span> <time>{formatTime(m.ts)}</time>
              <div class="text">{m.text}</div>
            </button>
          </li>
        ))}
      </ul>
    </section>
  )
}
