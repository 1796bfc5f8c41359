import { useEffect, useRef, useState } from 'preact/hooks'
import { api, type Message } from '../api.js'
import { EMOJI } from './emoji.js'
import { t } from './strings.js'
import { sendFiles } from './uploads.js'

export interface Member { peerId: string, name?: string }

const TYPING_EVERY_MS = 3_000

/**
 * Writing a message: Enter sends, Shift+Enter is a new line; @ offers the group's members
 * (and @all); files come from the paperclip or a paste. Others see "typing…" while keys
 * are pressed.
 */
export function Composer ({ groupId, members, replyTo, onCancelReply, label }: { groupId: string, members: Member[], replyTo?: Message | null, onCancelReply?: () => void, label?: string }) {
  const [draft, setDraft] = useState('')
  const [picking, setPicking] = useState(false)
  const [mention, setMention] = useState<{ query: string, at: number } | null>(null)
  const [choice, setChoice] = useState(0)
  const box = useRef<HTMLTextAreaElement>(null)
  const fileInput = useRef<HTMLInputElement>(null)
  const lastTyping = useRef(0)

  useEffect(() => { if (replyTo != null) box.current?.focus() }, [replyTo?.id])

  const options = mention == null
    ? []
    : [...members.filter(m => m.name != null && m.name.toLowerCase().startsWith(mention.query.toLowerCase())).map(m => ({ label: m.name as string, insert: m.name as string })),
        ...('all'.startsWith(mention.query.toLowerCase()) ? [{ label: `all — ${t('mentionAll')}`, insert: 'all' }] : [])].slice(0, 8)

  const send = async (): Promise<void> => {
    const text = draft.trim()
    if (text === '') return
    setDraft('')
    setMention(null)
    await api('POST', `/v1/groups/${groupId}/messages`, { text, ...(replyTo != null ? { replyTo: replyTo.id } : {}) })
    onCancelReply?.()
  }

  const onInput = (value: string, caret: number): void => {
    setDraft(value)
    const before = value.slice(0, caret)
    const m = /(^|\s)@([^\s@]*)$/.exec(before)
    setMention(m == null ? null : { query: m[2], at: caret - m[2].length - 1 })
    setChoice(0)
    if (Date.now() - lastTyping.current > TYPING_EVERY_MS && value !== '') {
      lastTyping.current = Date.now()
      api('POST', `/v1/groups/${groupId}/typing`, {}).catch(() => {})
    }
  }

  const complete = (insert: string): void => {
    if (mention == null) return
    const end = mention.at + 1 + mention.query.length
    const next = `${draft.slice(0, mention.at)}@${insert} ${draft.slice(end)}`
    setDraft(next)
    setMention(null)
    box.current?.focus()
  }

  return (
    <div class="composer-wrap">
      {replyTo != null && (
        <div class="reply-preview">
          <span>{t('replyingTo', { name: replyTo.authorName })}: {replyTo.text.slice(0, 80)}</span>
          <button class="icon-button" aria-label={t('cancel')} onClick={onCancelReply}>×</button>
        </div>
      )}
      {options.length > 0 && (
        <ul class="mention-list" role="listbox" aria-label="@">
          {options.map((o, i) => (
            <li key={o.insert} role="option" aria-selected={i === choice} class={i === choice ? 'selected' : ''} onMouseDown={e => { e.preventDefault(); complete(o.insert) }}>@{o.label}</li>
          ))}
        </ul>
      )}
      {picking && (
        <div class="emoji-picker" role="menu" aria-label={t('emoji')} onKeyDown={e => { if (e.key === 'Escape') setPicking(false) }}>
          {EMOJI.map(e => <button key={e} role="menuitem" class="emoji" aria-label={e} onClick={() => { setDraft(draft + e); setPicking(false); box.current?.focus() }}>{e}</button>)}
        </div>
      )}
      <form class="composer" onSubmit={e => { e.preventDefault(); send().catch(err => { alert((err as Error).message) }) }}>
        <button type="button" class="icon-button" aria-label={t('attach')} title={t('attach')} onClick={() => fileInput.current?.click()}>📎</button>
        <input ref={fileInput} type="file" multiple hidden data-testid="file-input" onChange={e => {
          const files = e.currentTarget.files
          if (files != null) sendFiles(groupId, [...files], { replyTo: replyTo?.id })
          e.currentTarget.value = ''
        }} />
        <textarea ref={box} aria-label={label ?? t('message')} placeholder={label ?? t('message')} value={draft} rows={1}
          onInput={e => { onInput(e.currentTarget.value, e.currentTarget.selectionStart ?? e.currentTarget.value.length) }}
          onPaste={e => {
            const files = [...(e.clipboardData?.files ?? [])]
            if (files.length > 0) { e.preventDefault(); sendFiles(groupId, files, { replyTo: replyTo?.id }) }
          }}
          onKeyDown={e => {
            if (options.length > 0 && (e.key === 'ArrowDown' || e.key === 'ArrowUp')) {
              e.preventDefault()
              setChoice((choice + (e.key === 'ArrowDown' ? 1 : options.length - 1)) % options.length)
            } else if (options.length > 0 && (e.key === 'Enter' || e.key === 'Tab')) {
              e.preventDefault()
              complete(options[choice].insert)
            } else if (e.key === 'Escape') {
              if (mention != null) setMention(null)
              else onCancelReply?.()
            } else if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) {
              e.preventDefault()
              send().catch(err => { alert((err as Error).message) })
            }
          }} />
        <button type="button" class="icon-button" aria-label={t('emoji')} title={t('emoji')} aria-expanded={picking} onClick={() => { setPicking(!picking) }}>😊</button>
        <button type="submit" class="button">{t('send')}</button>
      </form>
    </div>
  )
}
