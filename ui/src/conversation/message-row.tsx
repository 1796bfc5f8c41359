import { useRef, useState } from 'preact/hooks'
import { api, type Message } from '../api.js'
import { formatDay, formatTime, strings } from '../i18n.js'
import { EmojiPicker } from './emoji-picker.js'
import { FileCard } from './file-card.js'
import { preview, sameDay } from './format.js'
import { Icon } from '../icons.js'

const t = strings({
  en: {
    reply: 'Reply', react: 'Add reaction', thread: 'Open thread', edit: 'Edit', delete: 'Delete', pin: 'Pin', unpin: 'Unpin',
    edited: '(edited)', deleted: 'This message was deleted.', pinned: 'Pinned', replies: '{n} replies', oneReply: '1 reply',
    replyTo: 'Reply to {name}: {text}', originalMessage: 'an earlier message', save: 'Save', cancel: 'Cancel',
    confirmDelete: 'Delete this message for everyone?', actions: 'Message actions', editLabel: 'Edit message',
    reaction: '{emoji} {n}, reacted by {names}', editHint: 'Enter saves, Escape cancels'
  },
  zh: {
    reply: '回复', react: '添加表情回应', thread: '打开话题', edit: '编辑', delete: '删除', pin: '置顶', unpin: '取消置顶',
    edited: '（已编辑）', deleted: '此消息已删除。', pinned: '已置顶', replies: '{n} 条回复', oneReply: '1 条回复',
    replyTo: '回复 {name}：{text}', originalMessage: '之前的一条消息', save: '保存', cancel: '取消',
    confirmDelete: '要为所有人删除这条消息吗？', actions: '消息操作', editLabel: '编辑消息',
    reaction: '{emoji} {n}，来自 {names}', editHint: 'Enter 保存，Escape 取消'
  }
})

export interface RowContext {
  me: string
  /** a loaded message by id (for reply quotes) */
  lookup: (id: string) => Message | undefined
  nameOf: (peerId: string) => string
  onReply: (m: Message) => void
  onThread: (m: Message) => void
  onJump: (id: string) => void
  onChanged: (m: Message) => void
  /** in the thread panel: no reply quote, no thread button */
  inThread?: boolean
}

/** One message: day separator, author and time (once per run), body, reactions and actions. */
export function MessageRow ({ message: m, prev, ctx, highlighted, groupId }: { message: Message, prev?: Message, ctx: RowContext, highlighted: boolean, groupId: string }) {
  const [editing, setEditing] = useState(false)
  const [confirming, setConfirming] = useState(false)
  const [picker, setPicker] = useState<HTMLElement | null>(null)
  const reactButton = useRef<HTMLButtonElement>(null)
  const newDay = prev == null || !sameDay(prev.ts, m.ts)
  const continued = !newDay && prev != null && prev.author === m.author && !prev.deleted && m.ts - prev.ts < 5 * 60_000 && m.replyTo == null
  const mine = m.author === ctx.me
  const path = `/v1/groups/${groupId}/messages/${m.id}`

  const act = (promise: Promise<Message>): void => { promise.then(ctx.onChanged, console.error) }
  const react = (emoji: string): void => { act(api<Message>('POST', `${path}/react`, { emoji })) }
  const parent = m.replyTo != null ? ctx.lookup(m.replyTo) : undefined

  const classes = ['message', continued ? 'continued' : '', m.mentionsMe ? 'mention' : '', highlighted ? 'highlight' : '', m.deleted ? 'deleted' : ''].join(' ')
  return (
    <div class="message-slot">
      {newDay && <div class="day-separator" role="separator"><span>{formatDay(m.ts)}</span></div>}
      <article class={classes} data-id={m.id} tabIndex={0} aria-label={`${m.authorName} ${formatTime(m.ts)}`}>
        {!continued && (
          <header class="message-head">
            <span class="author">{m.authorName}</span>
            <time dateTime={new Date(m.ts).toISOString()} title={new Date(m.ts).toLocaleString()}>{formatTime(m.ts)}</time>
            {m.pinned && <span class="pinned-mark"><Icon name="pin" size={12} /> {t('pinned')}</span>}
          </header>
        )}
        {continued && m.pinned && <span class="pinned-mark"><Icon name="pin" size={12} /> {t('pinned')}</span>}
        {m.replyTo != null && ctx.inThread !== true && (
          <button type="button" class="reply-quote" onClick={() => { ctx.onJump(m.replyTo as string) }}>
            {parent != null
              ? t('replyTo', { name: parent.authorName, text: parent.deleted ? t('deleted') : preview(parent.text || parent.file?.name || '') })
              : t('replyTo', { name: '…', text: t('originalMessage') })}
          </button>
        )}
        {m.deleted
          ? <div class="text deleted-text">{t('deleted')}</div>
          : editing
            ? <InlineEditor text={m.text} onCancel={() => { setEditing(false) }}
                onSave={text => { setEditing(false); if (text.trim() !== '' && text !== m.text) act(api<Message>('POST', `${path}/edit`, { text })) }} />
            : (
              <div class="text">
                {m.text}
                {m.edits > 0 && <span class="edited"> {t('edited')}</span>}
              </div>
              )}
        {!m.deleted && m.file != null && <FileCard file={m.file} />}
        {!m.deleted && Object.keys(m.reactions).length > 0 && (
          <div class="reactions">
            {Object.entries(m.reactions).filter(([, by]) => by.length > 0).map(([emoji, by]) => (
              <button type="button" key={emoji} class={`reaction ${by.includes(ctx.me) ? 'mine' : ''}`} aria-pressed={by.includes(ctx.me)}
                aria-label={t('reaction', { emoji, n: by.length, names: by.map(ctx.nameOf).join(', ') })} title={by.map(ctx.nameOf).join(', ')}
                onClick={() => { react(emoji) }}>
                {emoji} <span class="count">{by.length}</span>
              </button>
            ))}
          </div>
        )}
        {m.replies > 0 && ctx.inThread !== true && (
          <button type="button" class="replies-link" onClick={() => { ctx.onThread(m) }}>{m.replies === 1 ? t('oneReply') : t('replies', { n: m.replies })}</button>
        )}
        {confirming && (
          <div class="confirm" role="alertdialog" aria-label={t('confirmDelete')} onKeyDown={e => { if (e.key === 'Escape') setConfirming(false) }}>
            <span>{t('confirmDelete')}</span>
            <button type="button" class="danger" ref={b => b?.focus()} onClick={() => { setConfirming(false); act(api<Message>('POST', `${path}/delete`)) }}>{t('delete')}</button>
            <button type="button" onClick={() => { setConfirming(false) }}>{t('cancel')}</button>
          </div>
        )}
        {!m.deleted && !editing && (
          <div class="actions" role="toolbar" aria-label={t('actions')}>
            <button type="button" class="icon-button" aria-label={t('react')} title={t('react')} ref={reactButton}
              onClick={() => { setPicker(picker == null ? reactButton.current : null) }}><Icon name="smile" /></button>
            <button type="button" class="icon-button" aria-label={t('reply')} title={t('reply')} onClick={() => { ctx.onReply(m) }}><Icon name="reply" /></button>
            {ctx.inThread !== true && <button type="button" class="icon-button" aria-label={t('thread')} title={t('thread')} onClick={() => { ctx.onThread(m) }}><Icon name="thread" /></button>}
            <button type="button" class="icon-button" aria-label={m.pinned ? t('unpin') : t('pin')} title={m.pinned ? t('unpin') : t('pin')}
              onClick={() => { act(api<Message>('POST', `${path}/pin`, { on: !m.pinned })) }}><Icon name="pin" /></button>
            {mine && m.file == null && <button type="button" class="icon-button" aria-label={t('edit')} title={t('edit')} onClick={() => { setEditing(true) }}><Icon name="edit" /></button>}
            {mine && <button type="button" class="icon-button" aria-label={t('delete')} title={t('delete')} onClick={() => { setConfirming(true) }}><Icon name="trash" /></button>}
          </div>
        )}
        {picker != null && <EmojiPicker anchor={picker} onPick={react} onClose={() => { setPicker(null) }} />}
      </article>
    </div>
  )
}

function InlineEditor ({ text, onSave, onCancel }: { text: string, onSave: (text: string) => void, onCancel: () => void }) {
  const [value, setValue] = useState(text)
  return (
    <div class="inline-editor">
      <textarea aria-label={t('editLabel')} value={value} ref={el => { if (el != null && document.activeElement !== el && el.dataset.focused == null) { el.dataset.focused = '1'; el.focus(); el.setSelectionRange(el.value.length, el.value.length) } }}
        onInput={e => { setValue(e.currentTarget.value) }}
        onKeyDown={e => {
          if (e.key === 'Escape') { e.preventDefault(); e.stopPropagation(); onCancel() }
          if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) { e.preventDefault(); onSave(value) }
        }} />
      <div class="inline-editor-buttons">
        <span class="hint">{t('editHint')}</span>
        <button type="button" onClick={onCancel}>{t('cancel')}</button>
        <button type="button" class="button" onClick={() => { onSave(value) }}>{t('save')}</button>
      </div>
    </div>
  )
}
