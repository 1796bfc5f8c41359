import { useEffect, useMemo, useRef, useState } from 'preact/hooks'
import { api, type Message } from '../api.js'
import { strings } from '../i18n.js'
import { events, focusMessage, groups, me, panel } from '../state.js'
import { Composer, type Member } from './composer.js'
import './conversation.css'
import { upsert } from './format.js'
import { MessageRow, type RowContext } from './message-row.js'
import { useUploads } from './uploads.js'
import { VirtualList } from './virtual-list.js'
import { Icon } from '../icons.js'

const t = strings({
  en: {
    history: 'Messages', pins: 'Pinned messages', latest: 'Jump to latest', loading: 'Loading earlier messages…', start: 'This is the start of the conversation.',
    typingOne: '{a} is typing…', typingTwo: '{a} and {b} are typing…', typingMany: 'Several people are typing…', seenBy: 'Seen by {names}',
    drop: 'Drop files to send them', empty: 'No messages yet. Say hello.'
  },
  zh: {
    history: '消息', pins: '置顶消息', latest: '跳到最新', loading: '正在加载更早的消息…', start: '这是会话的开始。',
    typingOne: '{a} 正在输入…', typingTwo: '{a} 和 {b} 正在输入…', typingMany: '多人正在输入…', seenBy: '{names} 已读',
    drop: '松开即可发送文件', empty: '还没有消息，打个招呼吧。'
  }
})

const PAGE = 200
/** How long a "typing" event counts (the node repeats it every 3 s while someone types). */
const TYPING_MS = 5000

interface Receipt { peerId: string, name?: string, upTo: string }

/** One conversation: its history (virtualized, paged, live), the composer and what goes around them. */
export function Conversation ({ groupId }: { groupId: string }) {
  const [messages, setMessages] = useState<Message[]>([])
  const [hasOlder, setHasOlder] = useState(true)
  const [hasNewer, setHasNewer] = useState(false)
  const [loadingOlder, setLoadingOlder] = useState(false)
  const [target, setTarget] = useState<{ key: string, token: number } | null>(null)
  const [highlight, setHighlight] = useState<string | null>(null)
  const [replyTo, setReplyTo] = useState<Message | null>(null)
  const [members, setMembers] = useState<Member[]>([])
  const [typing, setTyping] = useState<Map<string, { name: string, until: number }>>(new Map())
  const [receipts, setReceipts] = useState<Receipt[]>([])
  const [atBottom, setAtBottom] = useState(true)
  const [dragging, setDragging] = useState(false)
  const busy = useRef({ older: false, newer: false })
  const marked = useRef<string | null>(null)
  const state = useRef({ messages, hasOlder, hasNewer })
  state.current = { messages, hasOlder, hasNewer }
  const uploads = useUploads(groupId)
  const self = me.value?.peerId ?? ''
  const base = `/v1/groups/${groupId}`
  const group = groups.value.find(g => g.groupId === groupId)

  const refreshReceipts = (): void => { api<Receipt[]>('GET', `${base}/receipts`).then(setReceipts, () => {}) }

  const openLatest = async (): Promise<void> => {
    const list = await api<Message[]>('GET', `${base}/messages?limit=${PAGE}`)
    setMessages(list)
    setHasOlder(list.length === PAGE)
    setHasNewer(false)
  }

  const jump = async (messageId: string): Promise<void> => {
    let list = state.current.messages
    if (!list.some(m => m.id === messageId)) {
      list = await api<Message[]>('GET', `${base}/messages?around=${messageId}&limit=${PAGE}`)
      setMessages(list)
      setHasOlder(true)
      setHasNewer(true)
    }
    setTarget({ key: messageId, token: Date.now() })
    setHighlight(messageId)
    setTimeout(() => { setHighlight(h => h === messageId ? null : h) }, 2500)
  }

  useEffect(() => {
    let live = true
    const pending = focusMessage.peek()
    if (pending?.groupId === groupId) {
      focusMessage.value = null
      jump(pending.messageId).catch(() => { if (live) openLatest().catch(console.error) })
    } else {
      openLatest().catch(console.error)
    }
    api<Member[]>('GET', `${base}/members`).then(list => { if (live) setMembers(list) }, () => {})
    refreshReceipts()
    let receiptTimer: ReturnType<typeof setTimeout> | undefined
    const off = events.on(e => {
      if (e.type === 'message' && e.groupId === groupId) {
        const known = state.current.messages.some(m => m.id === e.message.id)
        // Past a jump, new messages wait below until the reader comes back to the latest.
        if (known || !state.current.hasNewer) setMessages(list => upsert(list, e.message))
        setTyping(map => { if (!map.has(e.message.author)) return map; const next = new Map(map); next.delete(e.message.author); return next })
        clearTimeout(receiptTimer)
        receiptTimer = setTimeout(refreshReceipts, 300)
      } else if (e.type === 'typing' && e.groupId === groupId && e.peerId !== me.value?.peerId) {
        setTyping(map => new Map(map).set(e.peerId, { name: e.name ?? nameOf(e.peerId), until: Date.now() + TYPING_MS }))
      }
    })
    // Receipts change when others read (no event for that): ask now and then.
    const poll = setInterval(() => { if (document.visibilityState === 'visible') refreshReceipts() }, 5000)
    return () => { live = false; off(); clearInterval(poll); clearTimeout(receiptTimer) }
  }, [groupId])

  // A search result (or a pin) chosen while this conversation is open.
  useEffect(() => {
    const f = focusMessage.value
    if (f == null || f.groupId !== groupId) return
    focusMessage.value = null
    jump(f.messageId).catch(console.error)
  }, [focusMessage.value])

  // Typing notes expire.
  useEffect(() => {
    if (typing.size === 0) return
    const timer = setInterval(() => {
      setTyping(map => {
        const now = Date.now()
        const next = new Map([...map].filter(([, v]) => v.until > now))
        return next.size === map.size ? map : next
      })
    }, 1000)
    return () => { clearInterval(timer) }
  }, [typing.size > 0])

  // Read receipts: the latest message, seen (at the bottom, window focused).
  const latest = messages.at(-1)
  useEffect(() => {
    const mark = (): void => {
      const last = state.current.messages.at(-1)
      if (last == null || state.current.hasNewer || !atBottom || !document.hasFocus() || marked.current === last.id) return
      marked.current = last.id
      api('POST', `${base}/read`, { upTo: last.id }).then(refreshReceipts, () => { marked.current = null })
    }
    mark()
    window.addEventListener('focus', mark)
    return () => { window.removeEventListener('focus', mark) }
  }, [latest?.id, atBottom, hasNewer])

  const loadOlder = (): void => {
    const first = state.current.messages[0]
    if (first == null || !state.current.hasOlder || busy.current.older) return
    busy.current.older = true
    setLoadingOlder(true)
    api<Message[]>('GET', `${base}/messages?before=${first.id}&limit=${PAGE}`).then(page => {
      setMessages(list => list[0]?.id === first.id ? [...page, ...list] : list)
      setHasOlder(page.length === PAGE)
    }, console.error).finally(() => { busy.current.older = false; setLoadingOlder(false) })
  }

  const loadNewer = (): void => {
    const last = state.current.messages.at(-1)
    if (last == null || !state.current.hasNewer || busy.current.newer) return
    busy.current.newer = true
    api<Message[]>('GET', `${base}/messages?after=${last.id}&limit=${PAGE}`).then(page => {
      setMessages(list => list.at(-1)?.id === last.id ? [...list, ...page] : list)
      if (page.length < PAGE) setHasNewer(false)
    }, console.error).finally(() => { busy.current.newer = false })
  }

  const toLatest = (): void => {
    if (state.current.hasNewer) {
      openLatest().then(() => { setTarget(null) }, console.error)
    }
    const last = state.current.messages.at(-1)
    if (last != null) setTarget({ key: last.id, token: Date.now() })
  }

  const byId = useMemo(() => {
    const map = new Map<string, Message>()
    for (const m of messages) map.set(m.id, m)
    return map
  }, [messages])

  function nameOf (peerId: string): string {
    return members.find(m => m.peerId === peerId)?.name ?? peerId.slice(-6)
  }

  const ctx: RowContext = {
    me: self,
    lookup: id => byId.get(id),
    nameOf,
    onReply: m => {
      setReplyTo(m)
      requestAnimationFrame(() => { (document.querySelector('.conversation .composer textarea') as HTMLTextAreaElement | null)?.focus() })
    },
    onThread: m => { panel.value = { kind: 'thread', groupId, messageId: m.id } },
    onJump: id => { jump(id).catch(console.error) },
    onChanged: m => { setMessages(list => list.some(x => x.id === m.id) ? upsert(list, m) : list) }
  }

  const seenBy = latest == null || hasNewer ? [] : receipts.filter(r => r.upTo === latest.id && r.peerId !== self && r.peerId !== latest.author).map(r => r.name ?? nameOf(r.peerId))
  const typers = [...typing.values()].map(v => v.name)
  const typingText = typers.length === 0 ? '' : typers.length === 1 ? t('typingOne', { a: typers[0] }) : typers.length === 2 ? t('typingTwo', { a: typers[0], b: typers[1] }) : t('typingMany')

  const footer = (
    <div class="history-footer">
      {seenBy.length > 0 && <div class="seen-by">{t('seenBy', { names: seenBy.join(', ') })}</div>}
    </div>
  )

  return (
    <section class="conversation"
      onDragOver={e => { if (e.dataTransfer?.types.includes('Files') === true) { e.preventDefault(); setDragging(true) } }}
      onDragLeave={e => { if (e.currentTarget === e.target) setDragging(false) }}
      onDrop={e => {
        const files = e.dataTransfer?.files
        setDragging(false)
        if (files == null || files.length === 0) return
        e.preventDefault()
        for (const file of Array.from(files)) uploads.start(file, replyTo?.id)
        setReplyTo(null)
      }}>
      <header class="conversation-head">
        <h2>{group?.name ?? ''}</h2>
        <button type="button" class="icon-button" aria-label={t('pins')} title={t('pins')} onClick={() => { panel.value = { kind: 'pins', groupId } }}><Icon name="pin" /></button>
      </header>
      {loadingOlder && <div class="history-status" role="status">{t('loading')}</div>}
      {messages.length === 0 && <div class="history-empty">{t('empty')}</div>}
      <VirtualList
        items={messages}
        keyOf={m => m.id}
        label={t('history')}
        target={target}
        followBottom={!hasNewer}
        onNearTop={loadOlder}
        onNearBottom={loadNewer}
        onAtBottom={setAtBottom}
        footer={footer}
        render={(m, i) => (
          <>
            {i === 0 && !hasOlder && <div class="history-start">{t('start')}</div>}
            <MessageRow message={m} prev={i > 0 ? messages[i - 1] : undefined} ctx={ctx} highlighted={highlight === m.id} groupId={groupId} />
          </>
        )} />
      {(hasNewer || !atBottom) && messages.length > 0 && (
        <button type="button" class="jump-latest" onClick={toLatest}>{t('latest')} <Icon name="down" size={14} /></button>
      )}
      <div class="typing" aria-live="polite">{typingText}</div>
      <Composer groupId={groupId} members={members} replyTo={replyTo} onCancelReply={() => { setReplyTo(null) }} uploads={uploads} />
      {dragging && <div class="drop-overlay" aria-hidden="true">{t('drop')}</div>}
    </section>
  )
}
