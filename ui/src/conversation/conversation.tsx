import { Fragment } from 'preact'
import { useCallback, useEffect, useLayoutEffect, useMemo, useRef, useState } from 'preact/hooks'
import { api, type Message } from '../api.js'
import { formatDay } from '../i18n.js'
import { events, focusMessage, groups, me, panel } from '../state.js'
import { Composer, type Member } from './composer.js'
import { useHistory } from './history.js'
import { MessageRow } from './message-row.js'
import { t } from './strings.js'
import { dismiss, sendFiles, uploads } from './uploads.js'
import './conversation.css'

const TYPING_SHOWN_MS = 5_000
/** Older history is asked for when the view is this close to the top. */
const NEAR_TOP_PX = 300

/** One conversation: its history (paged, live), who is typing, who has seen what, and the composer. */
export function Conversation ({ groupId }: { groupId: string }) {
  const { messages, atStart, atEnd, loadOlder, loadLatest, jumpTo } = useHistory(groupId)
  const [members, setMembers] = useState<Member[]>([])
  const [replyTo, setReplyTo] = useState<Message | null>(null)
  const [typing, setTyping] = useState<Map<string, number>>(new Map())
  const [receipts, setReceipts] = useState<Array<{ peerId: string, name?: string, upTo: string, ts: number }>>([])
  const [highlight, setHighlight] = useState<string | null>(null)
  const [dragging, setDragging] = useState(false)
  const list = useRef<HTMLDivElement>(null)
  /** distance from the bottom before a change, to keep the view still when older pages arrive */
  const anchor = useRef<{ fromBottom: number, first: string | undefined } | null>(null)
  const stick = useRef(true)
  const lastRead = useRef<string | null>(null)
  const summary = groups.value.find(g => g.groupId === groupId)
  const moderator = summary?.role === 'owner' || summary?.role === 'admin'
  const nameOf = useCallback((peerId: string): string => members.find(m => m.peerId === peerId)?.name ?? peerId.slice(-6), [members])

  useEffect(() => {
    api<Member[]>('GET', `/v1/groups/${groupId}/members`).then(setMembers, console.error)
    const loadReceipts = (): void => { api<typeof receipts>('GET', `/v1/groups/${groupId}/receipts`).then(setReceipts, () => {}) }
    loadReceipts()
    const off = events.on(e => {
      if (e.type === 'typing' && e.groupId === groupId && e.peerId !== me.value?.peerId) {
        setTyping(m => new Map(m).set(e.peerId, Date.now() + TYPING_SHOWN_MS))
      }
      if (e.type === 'message' && e.groupId === groupId) {
        setTyping(m => { const n = new Map(m); n.delete(e.message.author); return n })
        loadReceipts()
      }
    })
    const timer = setInterval(() => { setTyping(m => new Map([...m].filter(([, until]) => until > Date.now()))) }, 1_000)
    return () => { off(); clearInterval(timer) }
  }, [groupId])

  // Keep the view where it was: at the bottom when it was there, still when older pages come in.
  useLayoutEffect(() => {
    const el = list.current
    if (el == null) return
    const a = anchor.current
    if (a != null && a.first !== messages[0]?.id) el.scrollTop = el.scrollHeight - a.fromBottom
    else if (stick.current) el.scrollTop = el.scrollHeight
    anchor.current = null
  }, [messages])

  // A search result (or another jump) asks for a message: load around it and show it.
  useEffect(() => {
    const f = focusMessage.value
    if (f == null || f.groupId !== groupId) return
    stick.current = false
    jumpTo(f.messageId).then(found => {
      if (!found) return
      setHighlight(f.messageId)
      focusMessage.value = null
      requestAnimationFrame(() => {
        const row = list.current?.querySelector<HTMLElement>(`[data-id="${f.messageId}"]`)
        row?.scrollIntoView({ block: 'center' })
        row?.focus({ preventScroll: true })
      })
      setTimeout(() => { setHighlight(h => h === f.messageId ? null : h) }, 3_000)
    }).catch(console.error)
  }, [focusMessage.value, groupId, messages.length > 0])

  // Read receipt: the latest message, once it is on screen in a focused window.
  useEffect(() => {
    const last = messages[messages.length - 1]
    if (last == null || !atEnd || !stick.current || lastRead.current === last.id || !document.hasFocus()) return
    lastRead.current = last.id
    api('POST', `/v1/groups/${groupId}/read`, { upTo: last.id }).catch(() => {})
  }, [messages, atEnd])

  const onScroll = (): void => {
    const el = list.current
    if (el == null) return
    stick.current = atEnd && el.scrollHeight - el.scrollTop - el.clientHeight < 40
    if (el.scrollTop < NEAR_TOP_PX && !atStart) {
      anchor.current = { fromBottom: el.scrollHeight - el.scrollTop, first: messages[0]?.id }
      loadOlder().catch(console.error)
    }
  }

  const jump = useCallback((id: string): void => { focusMessage.value = { groupId, messageId: id } }, [groupId])

  // Keyboard: arrows move between messages (a focused message shows its actions, reached by
  // Tab); Home and End go to the loaded ends; Escape goes back to the composer.
  const onKeyDown = (e: KeyboardEvent): void => {
    const rows = [...(list.current?.querySelectorAll<HTMLElement>('li.message') ?? [])]
    if (rows.length === 0) return
    const current = rows.findIndex(r => r.contains(document.activeElement))
    let next: number | null = null
    if (e.key === 'ArrowDown') next = current < 0 ? rows.length - 1 : Math.min(rows.length - 1, current + 1)
    else if (e.key === 'ArrowUp') next = current < 0 ? rows.length - 1 : Math.max(0, current - 1)
    else if (e.key === 'Home') next = 0
    else if (e.key === 'End') next = rows.length - 1
    else if (e.key === 'Escape') {
      list.current?.closest('.conversation')?.querySelector<HTMLElement>('.composer textarea')?.focus()
      return
    }
    if (next == null || (e.target as HTMLElement).closest('textarea, input') != null) return
    e.preventDefault()
    rows[next].focus()
    rows[next].scrollIntoView({ block: 'nearest' })
  }
  const byId = useMemo(() => new Map(messages.map(m => [m.id, m])), [messages])
  const last = messages[messages.length - 1]
  const seen = last == null ? [] : receipts.filter(r => r.peerId !== me.value?.peerId && r.peerId !== last.author && (r.upTo === last.id || r.ts >= last.ts))
  const typers = [...typing.keys()].map(nameOf)
  const mine = uploads.value.filter(u => u.groupId === groupId)

  return (
    <section class={dragging ? 'conversation dragging' : 'conversation'}
      onDragOver={e => { if (e.dataTransfer?.types.includes('Files') === true) { e.preventDefault(); setDragging(true) } }}
      onDragLeave={e => { if (e.currentTarget === e.target) setDragging(false) }}
      onDrop={e => {
        e.preventDefault()
        setDragging(false)
        const files = [...(e.dataTransfer?.files ?? [])]
        if (files.length > 0) sendFiles(groupId, files, { replyTo: replyTo?.id })
      }}>
      <header class="conversation-head">
        <h1>{summary?.dm != null ? `@ ${summary.name}` : `# ${summary?.name ?? ''}`}</h1>
        <button class="icon-button" aria-label={t('pinnedMessages')} title={t('pinnedMessages')} onClick={() => { panel.value = { kind: 'pins', groupId } }}>📌</button>
      </header>
      <div class="history" ref={list} data-testid="history" role="log" aria-label={t('history')} tabIndex={0} onScroll={onScroll} onKeyDown={onKeyDown}>
        <p class="history-edge">{atStart ? t('beginning') : t('olderLoading')}</p>
        <ol class="messages">
          {messages.map((m, i) => (
            <Fragment key={m.id}>
              {(i === 0 || formatDay(messages[i - 1].ts) !== formatDay(m.ts)) && <li class="day" role="separator" key={`day-${m.id}`}>{formatDay(m.ts)}</li>}
              <MessageRow groupId={groupId} message={m} parent={m.replyTo != null ? byId.get(m.replyTo) : undefined} moderator={moderator} nameOf={nameOf}
                onReply={setReplyTo} onJump={jump} highlighted={highlight === m.id} />
            </Fragment>
          ))}
        </ol>
        {seen.length > 0 && atEnd && <p class="seen-by">{t('seenBy', { names: seen.map(r => r.name ?? nameOf(r.peerId)).join(', ') })}</p>}
      </div>
      {!atEnd && <button class="button jump-latest" onClick={() => { stick.current = true; loadLatest().catch(console.error) }}>{t('jumpLatest')}</button>}
      <div class="typing" aria-live="polite">{typers.length === 0 ? '' : typers.length > 2 ? t('typingMany') : t('typing', { names: typers.join(', ') })}</div>
      {mine.map(u => (
        <div key={u.id} class="upload" role="progressbar" aria-label={u.name} aria-valuemin={0} aria-valuemax={100} aria-valuenow={u.size === 0 ? 100 : Math.floor(100 * u.sent / u.size)}>
          <div class="bar" style={{ width: `${u.size === 0 ? 100 : Math.floor(100 * u.sent / u.size)}%` }} />
          <span>{u.error ?? t('uploading', { name: u.name, pct: u.size === 0 ? 100 : Math.floor(100 * u.sent / u.size) })}</span>
          {u.error != null && <button class="icon-button" aria-label={t('cancel')} onClick={() => { dismiss(u.id) }}>×</button>}
        </div>
      ))}
      {dragging && <div class="drop-zone" aria-hidden="true">{t('dropHere')}</div>}
      <Composer groupId={groupId} members={members} replyTo={replyTo} onCancelReply={() => { setReplyTo(null) }} />
    </section>
  )
}
