import { useEffect, useState } from 'preact/hooks'
import { api, type Message } from '../api.js'
import { formatTime } from '../i18n.js'
import { events, focusMessage } from '../state.js'
import { Composer, type Member } from './composer.js'
import { t } from './strings.js'

/** A message and the replies under it, with a composer that replies to it. */
export function ThreadPanel ({ groupId, messageId }: { groupId: string, messageId: string }) {
  const [thread, setThread] = useState<Message[]>([])
  const [members, setMembers] = useState<Member[]>([])
  useEffect(() => {
    const load = (): void => { api<Message[]>('GET', `/v1/groups/${groupId}/messages/${messageId}/thread`).then(setThread, console.error) }
    load()
    api<Member[]>('GET', `/v1/groups/${groupId}/members`).then(setMembers, () => {})
    return events.on(e => { if (e.type === 'message' && e.groupId === groupId) load() })
  }, [groupId, messageId])
  const parent = thread.find(m => m.id === messageId)
  return (
    <section class="thread-panel">
      <h2>{t('threadTitle')}</h2>
      <ol class="messages">
        {thread.map(m => (
          <li key={m.id} class={m.id === messageId ? 'message parent' : 'message'}>
            <div class="meta"><span class="author">{m.authorName}</span> <time>{formatTime(m.ts)}</time></div>
            <button class="link text" onClick={() => { focusMessage.value = { groupId, messageId: m.id } }}>{m.deleted ? t('deleted') : m.text}</button>
          </li>
        ))}
      </ol>
      {parent != null && <Composer groupId={groupId} members={members} replyTo={parent} label={t('replyInThread')} />}
    </section>
  )
}
