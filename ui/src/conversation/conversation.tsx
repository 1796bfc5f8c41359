import { useEffect, useState } from 'preact/hooks'
import { api, type Message } from '../api.js'
import { formatTime, strings } from '../i18n.js'
import { events } from '../state.js'

const t = strings({
  en: { placeholder: 'Message', send: 'Send' },
  zh: { placeholder: '输入消息', send: '发送' }
})

/** One conversation: its history, live, and the composer. */
export function Conversation ({ groupId }: { groupId: string }) {
  const [messages, setMessages] = useState<Message[]>([])
  const [draft, setDraft] = useState('')

  useEffect(() => {
    let live = true
    api<Message[]>('GET', `/v1/groups/${groupId}/messages?limit=100`).then(list => { if (live) setMessages(list) }, console.error)
    const off = events.on(e => {
      if (e.type !== 'message' || e.groupId !== groupId) return
      setMessages(list => {
        const at = list.findIndex(m => m.id === e.message.id)
        if (at >= 0) return [...list.slice(0, at), e.message, ...list.slice(at + 1)]
        return [...list, e.message]
      })
    })
    return () => { live = false; off() }
  }, [groupId])

  const send = async (): Promise<void> => {
    const text = draft.trim()
    if (text === '') return
    setDraft('')
    await api('POST', `/v1/groups/${groupId}/messages`, { text })
  }

  return (
    <section class="conversation">
      <ol class="messages" aria-live="polite">
        {messages.map(m => (
          <li key={m.id} class="message" data-id={m.id}>
            <span class="author">{m.authorName}</span> <time>{formatTime(m.ts)}</time>
            <div class="text">{m.text}</div>
          </li>
        ))}
      </ol>
      <form class="composer" onSubmit={e => { e.preventDefault(); send().catch(console.error) }}>
        <textarea aria-label={t('placeholder')} placeholder={t('placeholder')} value={draft} onInput={e => { setDraft(e.currentTarget.value) }}
          onKeyDown={e => { if (e.key === 'Enter' && !e.shiftKey) { e.preventDefault(); send().catch(console.error) } }} />
        <button type="submit">{t('send')}</button>
      </form>
    </section>
  )
}
