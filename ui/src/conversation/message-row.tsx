import { memo } from 'preact/compat'
import { useState } from 'preact/hooks'
import { api, type Message } from '../api.js'
import { formatTime } from '../i18n.js'
import { me, panel } from '../state.js'
import { EMOJI } from './emoji.js'
import { FileCard } from './file-card.js'
import { t } from './strings.js'

interface Props {
  groupId: string
  message: Message
  /** the message it replies to, when loaded */
  parent?: Message
  /** whether this node's user may delete others' messages (an admin or owner) */
  moderator: boolean
  nameOf: (peerId: string) => string
  onReply: (m: Message) => void
  onJump: (id: string) => void
  highlighted: boolean
}

/**
 * One message: its text or file, its reactions, and what can be done with it. Rendered
 * again only when its props change: a page of older messages coming in leaves the rows
 * already shown alone (see `same`).
 */
export const MessageRow = memo(MessageRowView, same)

function same (a: Props, b: Props): boolean {
  return a.message === b.message && a.parent === b.parent && a.highlighted === b.highlighted && a.moderator === b.moderator &&
    a.groupId === b.groupId && a.nameOf === b.nameOf && a.onReply === b.onReply && a.onJump === b.onJump
}

function MessageRowView ({ groupId, message: m, parent, moderator, nameOf, onReply, onJump, highlighted }: Props) {
  const [editing, setEditing] = useState(false)
  const [draft, setDraft] = useState(m.text)
  const [picking, setPicking] = useState(false)
  const mine = m.author === me.value?.peerId
  const base = `/v1/groups/${groupId}/messages/${m.id}`
  const act = (path: string, body: object = {}): void => { api('POST', `${base}/${path}`, body).catch(err => { alert((err as Error).message) }) }
  const react = (emoji: string): void => { setPicking(false); act('react', { emoji }) }
  const saveEdit = (): void => {
    setEditing(false)
    if (draft.trim() !== '' && draft !== m.text) act('edit', { text: draft })
  }
  const classes = ['message', m.mentionsMe ? 'mentions-me' : '', highlighted ? 'highlighted' : '', m.deleted ? 'deleted' : ''].filter(Boolean).join(' ')

  return (
    <li class={classes} data-id={m.id} tabIndex={-1}>
      <div class="meta">
        <span class="author">{m.authorName}</span>
        <time dateTime={new Date(m.ts).toISOString()}>{formatTime(m.ts)}</time>
        {m.edits > 0 && !m.deleted && <span class="edited">{t('edited')}</span>}
        {m.pinned && <span class="pin-mark" title={t('pinned')}>📌</span>}
      </div>
      {m.replyTo != null && (
        <button class="reply-quote" onClick={() => { onJump(m.replyTo as string) }}>
          ↪ {parent != null ? `${parent.authorName}: ${parent.deleted ? t('deleted') : parent.text.slice(0, 120)}` : '…'}
        </button>
      )}
      {m.deleted
        ? <div class="text muted">{t('deleted')}</div>
        : editing
          ? (
            <form class="edit-form" onSubmit={e => { e.preventDefault(); saveEdit() }}>
              <textarea aria-label={t('edit')} value={draft} autoFocus onInput={e => { setDraft(e.currentTarget.value) }}
                onKeyDown={e => {
                  if (e.key === 'Escape') { setEditing(false); setDraft(m.text) }
                  if (e.key === 'Enter' && !e.shiftKey) { e.preventDefault(); saveEdit() }
                }} />
              <button class="button small" type="submit">{t('save')}</button>
              <button class="button small secondary" type="button" onClick={() => { setEditing(false); setDraft(m.text) }}>{t('cancel')}</button>
            </form>
            )
          : m.text !== '' && <div class="text">{m.text}</div>}
      {!m.deleted && m.file != null && <FileCard file={m.file} />}
      {!m.deleted && Object.keys(m.reactions).length > 0 && (
        <div class="reactions">
          {Object.entries(m.reactions).map(([emoji, who]) => {
            const label = t('reactedWith', { emoji, names: who.map(nameOf).join(', ') })
            return (
              <button key={emoji} class={who.includes(me.value?.peerId ?? '') ? 'chip mine' : 'chip'} title={label} aria-label={label} aria-pressed={who.includes(me.value?.peerId ?? '')} onClick={() => { react(emoji) }}>
                {emoji} {who.length}
              </button>
            )
          })}
        </div>
      )}
      {m.replies > 0 && (
        <button class="link" onClick={() => { panel.value = { kind: 'thread', groupId, messageId: m.id } }}>
          {m.replies === 1 ? t('oneReply') : t('replies', { n: m.replies })}
        </button>
      )}
      {!m.deleted && (
        <div class="actions" role="toolbar" aria-label={t('actions')}>
          <button class="icon-button" aria-label={t('reply')} title={t('reply')} onClick={() => { onReply(m) }}>↩</button>
          <button class="icon-button" aria-label={t('react')} title={t('react')} aria-expanded={picking} onClick={() => { setPicking(!picking) }}>☺</button>
          <button class="icon-button" aria-label={t('thread')} title={t('thread')} onClick={() => { panel.value = { kind: 'thread', groupId, messageId: m.id } }}>💬</button>
          <button class="icon-button" aria-label={m.pinned ? t('unpin') : t('pin')} title={m.pinned ? t('unpin') : t('pin')} onClick={() => { act('pin', { on: !m.pinned }) }}>📌</button>
          {mine && m.file == null && <button class="icon-button" aria-label={t('edit')} title={t('edit')} onClick={() => { setDraft(m.text); setEditing(true) }}>✎</button>}
          {(mine || moderator) && <button class="icon-button danger" aria-label={t('delete')} title={t('delete')} onClick={() => { if (confirm(t('confirmDelete'))) act('delete') }}>🗑</button>}
        </div>
      )}
      {picking && (
        <div class="emoji-picker" role="menu" aria-label={t('react')} onKeyDown={e => { if (e.key === 'Escape') setPicking(false) }}>
          {EMOJI.map(e => <button key={e} role="menuitem" class="emoji" aria-label={e} onClick={() => { react(e) }}>{e}</button>)}
        </div>
      )}
    </li>
  )
}
