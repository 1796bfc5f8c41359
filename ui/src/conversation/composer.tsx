import { useRef, useState } from 'preact/hooks'
import { api, type Message } from '../api.js'
import { strings } from '../i18n.js'
import { EmojiPicker } from './emoji-picker.js'
import { formatSize, preview } from './format.js'
import { useUploads, type Upload } from './uploads.js'
import { Icon } from '../icons.js'

const t = strings({
  en: {
    placeholder: 'Message', send: 'Send', attach: 'Attach a file', emoji: 'Insert an emoji', cancelReply: 'Cancel reply',
    replying: 'Replying to {name}: {text}', mentions: 'People to mention', all: 'everyone in this group',
    uploading: 'Uploading {name}', uploadFailed: '{name}: {error}', dismiss: 'Dismiss', threadPlaceholder: 'Reply in thread'
  },
  zh: {
    placeholder: '输入消息', send: '发送', attach: '添加文件', emoji: '插入表情', cancelReply: '取消回复',
    replying: '回复 {name}：{text}', mentions: '可提及的成员', all: '本群所有人',
    uploading: '正在上传 {name}', uploadFailed: '{name}：{error}', dismiss: '关闭', threadPlaceholder: '在话题中回复'
  }
})

export interface Member { peerId: string, name: string, self?: boolean }

/** How often "typing" is told to the node at most (it lasts 5 s there). */
const TYPING_EVERY_MS = 3000

/**
 * Where a message is written: Enter sends, Shift+Enter breaks the line; @ completes member
 * names; files come by the paperclip, paste or drop (see uploads.ts). With `replyTo` the
 * message (or file) answers that message.
 */
export function Composer ({ groupId, members, replyTo, onCancelReply, thread, uploads }: {
  groupId: string
  members: Member[]
  replyTo: Message | null
  onCancelReply?: () => void
  /** in the thread panel: the reply is fixed and the box is labelled so */
  thread?: boolean
  uploads: ReturnType<typeof useUploads>
}) {
  const [draft, setDraft] = useState('')
  const [mention, setMention] = useState<{ query: string, at: number, index: number } | null>(null)
  const [picker, setPicker] = useState<HTMLElement | null>(null)
  const box = useRef<HTMLTextAreaElement>(null)
  const fileInput = useRef<HTMLInputElement>(null)
  const emojiButton = useRef<HTMLButtonElement>(null)
  const lastTyping = useRef(0)
  const label = thread === true ? t('threadPlaceholder') : t('placeholder')

  const choices = mention == null
    ? []
    : [{ peerId: 'all', name: 'all', hint: t('all') }, ...members.filter(m => m.self !== true).map(m => ({ peerId: m.peerId, name: m.name, hint: '' }))]
        .filter(c => c.name.toLowerCase().startsWith(mention.query.toLowerCase()))
        .slice(0, 8)

  const send = async (): Promise<void> => {
    const text = draft.trim()
    if (text === '') return
    setDraft('')
    setMention(null)
    await api('POST', `/v1/groups/${groupId}/messages`, { text, ...(replyTo != null ? { replyTo: replyTo.id } : {}) })
    if (thread !== true) onCancelReply?.()
  }

  const insert = (text: string, from?: number): void => {
    const el = box.current
    const start = from ?? el?.selectionStart ?? draft.length
    const end = el?.selectionEnd ?? draft.length
    const next = draft.slice(0, start) + text + draft.slice(end)
    setDraft(next)
    requestAnimationFrame(() => {
      if (el == null) return
      el.focus()
      el.setSelectionRange(start + text.length, start + text.length)
    })
  }

  const onInput = (value: string, caret: number): void => {
    setDraft(value)
    const before = value.slice(0, caret)
    const match = /(^|\s)@([^\s@]*)$/.exec(before)
    setMention(match != null ? { query: match[2], at: caret - match[2].length - 1, index: 0 } : null)
    const now = Date.now()
    if (value.trim() !== '' && now - lastTyping.current > TYPING_EVERY_MS) {
      lastTyping.current = now
      api('POST', `/v1/groups/${groupId}/typing`).catch(() => {})
    }
  }

  const pick = (name: string): void => {
    if (mention == null) return
    const el = box.current
    const caret = el?.selectionStart ?? draft.length
    const next = draft.slice(0, mention.at) + `@${name} ` + draft.slice(caret)
    setDraft(next)
    setMention(null)
    const pos = mention.at + name.length + 2
    requestAnimationFrame(() => { el?.focus(); el?.setSelectionRange(pos, pos) })
  }

  const onKeyDown = (e: KeyboardEvent): void => {
    if (mention != null && choices.length > 0) {
      if (e.key === 'ArrowDown' || e.key === 'ArrowUp') {
        e.preventDefault()
        const step = e.key === 'ArrowDown' ? 1 : -1
        setMention({ ...mention, index: (mention.index + step + choices.length) % choices.length })
        return
      }
      if (e.key === 'Enter' || e.key === 'Tab') {
        e.preventDefault()
        pick(choices[Math.min(mention.index, choices.length - 1)].name)
        return
      }
    }
    if (e.key === 'Escape') {
      if (mention != null) { e.preventDefault(); setMention(null); return }
      if (replyTo != null && thread !== true) { e.preventDefault(); onCancelReply?.(); return }
    }
    if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) {
      e.preventDefault()
      send().catch(console.error)
    }
  }

  const attach = (files: FileList | File[] | null): void => {
    for (const file of Array.from(files ?? [])) uploads.start(file, replyTo?.id)
    if (replyTo != null && thread !== true) onCancelReply?.()
  }

  return (
    <div class="composer-wrap">
      <UploadList uploads={uploads.list} dismiss={uploads.dismiss} />
      {replyTo != null && thread !== true && (
        <div class="reply-preview">
          <span>{t('replying', { name: replyTo.authorName, text: preview(replyTo.text || replyTo.file?.name || '') })}</span>
          <button type="button" class="icon-button" aria-label={t('cancelReply')} onClick={() => { onCancelReply?.(); box.current?.focus() }}>×</button>
        </div>
      )}
      {mention != null && choices.length > 0 && (
        <ul class="mention-list" role="listbox" aria-label={t('mentions')}>
          {choices.map((c, i) => (
            <li key={c.peerId} role="option" aria-selected={i === mention.index} class={i === mention.index ? 'active' : ''}
              onMouseDown={e => { e.preventDefault(); pick(c.name) }}>
              @{c.name} {c.hint !== '' && <span class="hint">{c.hint}</span>}
            </li>
          ))}
        </ul>
      )}
      <form class="composer" onSubmit={e => { e.preventDefault(); send().catch(console.error) }}>
        <button type="button" class="icon-button" aria-label={t('attach')} title={t('attach')} onClick={() => fileInput.current?.click()}><Icon name="attach" /></button>
        <input type="file" multiple hidden ref={fileInput} aria-label={t('attach')} data-testid={thread === true ? 'thread-file-input' : 'file-input'}
          onChange={e => { attach(e.currentTarget.files); e.currentTarget.value = '' }} />
        <textarea ref={box} rows={1} aria-label={label} placeholder={label} value={draft}
          onInput={e => { onInput(e.currentTarget.value, e.currentTarget.selectionStart ?? e.currentTarget.value.length) }}
          onKeyDown={onKeyDown}
          onPaste={e => {
            const files = e.clipboardData?.files
            if (files != null && files.length > 0) { e.preventDefault(); attach(files) }
          }}
          onBlur={() => { setTimeout(() => { setMention(null) }, 150) }} />
        <button type="button" class="icon-button" aria-label={t('emoji')} title={t('emoji')} ref={emojiButton}
          onClick={() => { setPicker(picker == null ? emojiButton.current : null) }}><Icon name="smile" /></button>
        <button type="submit">{t('send')}</button>
      </form>
      {picker != null && <EmojiPicker anchor={picker} onPick={emoji => { insert(emoji) }} onClose={() => { setPicker(null) }} />}
    </div>
  )
}

function UploadList ({ uploads, dismiss }: { uploads: Upload[], dismiss: (id: number) => void }) {
  if (uploads.length === 0) return null
  return (
    <ul class="uploads">
      {uploads.map(u => (
        <li key={u.id} class="upload">
          {u.error == null
            ? (
              <>
                <span class="upload-name">{u.name}</span>
                <progress max={u.total} value={u.loaded} aria-label={t('uploading', { name: u.name })} />
                <span class="upload-size">{formatSize(u.loaded)} / {formatSize(u.total)}</span>
              </>
              )
            : (
              <>
                <span role="alert">{t('uploadFailed', { name: u.name, error: u.error })}</span>
                <button type="button" class="icon-button" aria-label={t('dismiss')} onClick={() => { dismiss(u.id) }}>×</button>
              </>
              )}
        </li>
      ))}
    </ul>
  )
}
