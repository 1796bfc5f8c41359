import { useEffect, useState } from 'preact/hooks'
import { api, type Message } from '../api.js'
import { formatDay, formatTime, strings } from '../i18n.js'
import { events, focusMessage } from '../state.js'
import './conversation.css'
import { preview } from './format.js'

const t = strings({
  en: { title: 'Pinned messages', none: 'Nothing is pinned in this group. Pin a message from its actions (the pin button).', open: 'Show {name}\'s message from {when}' },
  zh: { title: '置顶消息', none: '本群还没有置顶消息。可在消息操作中点击置顶按钮。', open: '查看 {name} 于 {when} 的消息' }
})

/** The group's pinned messages, live; choosing one shows it in the conversation. */
export function PinsPanel ({ groupId }: { groupId: string }) {
  const [pins, setPins] = useState<Message[] | null>(null)

  useEffect(() => {
    let live = true
    const load = (): void => { api<Message[]>('GET', `/v1/groups/${groupId}/pins`).then(l => { if (live) setPins(l) }, () => {}) }
    load()
    let timer: ReturnType<typeof setTimeout> | undefined
    const off = events.on(e => {
      if (e.type !== 'message' || e.groupId !== groupId) return
      clearTimeout(timer)
      timer = setTimeout(load, 200)
    })
    return () => { live = false; off(); clearTimeout(timer) }
  }, [groupId])

  return (
    <div class="pins-panel">
      <h2>{t('title')}</h2>
      {pins != null && pins.length === 0 && <p class="hint">{t('none')}</p>}
      <ul class="pin-list">
        {(pins ?? []).map(m => (
          <li key={m.id}>
            <button type="button" class="pin" aria-label={t('open', { name: m.authorName, when: `${formatDay(m.ts)} ${formatTime(m.ts)}` })}
              onClick={() => { focusMessage.value = { groupId, messageId: m.id } }}>
              <span class="author">{m.authorName}</span> <time>{formatDay(m.ts)} {formatTime(m.ts)}</time>
              <span class="pin-text">{preview(m.text || m.file?.name || '', 140)}</span>
            </button>
          </li>
        ))}
      </ul>
    </div>
  )
}
