import { useEffect, useState } from 'preact/hooks'
import { api, type Message } from '../api.js'
import { strings } from '../i18n.js'
import { events, focusMessage, me } from '../state.js'
import { Composer, type Member } from './composer.js'
import './conversation.css'
import { upsert } from './format.js'
import { MessageRow, type RowContext } from './message-row.js'
import { useUploads } from './uploads.js'

const t = strings({
  en: { title: 'Thread', replies: 'Replies', none: 'No replies yet.', show: 'Show in conversation', gone: 'This message is not here any more.' },
  zh: { title: '话题', replies: '回复', none: '还没有回复。', show: '在会话中查看', gone: '这条消息已不存在。' }
})

/** A message and its replies, live, with a composer that replies to it. */
export function ThreadPanel ({ groupId, messageId }: { groupId: string, messageId: string }) {
  const [list, setList] = useState<Message[] | null>(null)
  const [failed, setFailed] = useState(false)
  const [members, setMembers] = useState<Member[]>([])
  const uploads = useUploads(groupId)
  const base = `/v1/groups/${groupId}`

  useEffect(() => {
    let live = true
    setList(null)
    api<Message[]>('GET', `${base}/messages/${messageId}/thread`).then(l => { if (live) setList(l) }, () => { if (live) setFailed(true) })
    api<Member[]>('GET', `${base}/members`).then(l => { if (live) setMembers(l) }, () => {})
    const off = events.on(e => {
      if (e.type !== 'message' || e.groupId !== groupId) return
      if (e.message.id === messageId || e.message.replyTo === messageId) setList(l => l == null ? l : upsert(l, e.message))
    })
    return () => { live = false; off() }
  }, [groupId, messageId])

  const parent = list?.find(m => m.id === messageId)
  const replies = list?.filter(m => m.id !== messageId) ?? []
  const ctx: RowContext = {
    me: me.value?.peerId ?? '',
    lookup: id => list?.find(m => m.id === id),
    nameOf: peerId => members.find(m => m.peerId === peerId)?.name ?? peerId.slice(-6),
    onReply: () => { (document.querySelector('.thread-panel textarea') as HTMLTextAreaElement | null)?.focus() },
    onThread: () => {},
    onJump: id => { focusMessage.value = { groupId, messageId: id } },
    onChanged: m => { setList(l => l == null ? l : upsert(l, m)) },
    inThread: true
  }

  return (
    <div class="thread-panel">
      <h2>{t('title')}</h2>
      {failed && <p>{t('gone')}</p>}
      {parent != null && (
        <>
          <div class="thread-parent">
            <MessageRow message={parent} ctx={ctx} highlighted={false} groupId={groupId} />
            <button type="button" class="link" onClick={() => { focusMessage.value = { groupId, messageId } }}>{t('show')}</button>
          </div>
          <h3>{t('replies')} ({replies.length})</h3>
          <div class="thread-replies" role="log" aria-label={t('replies')}>
            {replies.length === 0 && <p class="hint">{t('none')}</p>}
            {replies.map((m, i) => <MessageRow key={m.id} message={m} prev={i > 0 ? replies[i - 1] : parent} ctx={ctx} highlighted={false} groupId={groupId} />)}
          </div>
          <Composer groupId={groupId} members={members} replyTo={parent} thread uploads={uploads} />
        </>
      )}
    </div>
  )
}
