import { useCallback, useEffect, useRef, useState } from 'preact/hooks'
import { api, type Message } from '../api.js'
import { events } from '../state.js'

export const PAGE = 50

/**
 * One conversation's messages as the view holds them: a window of the history (the latest
 * page to start with; older pages prepended as the person scrolls up; or a page around a
 * message they jumped to), kept live from the event stream. Only loaded pages are in the
 * DOM, so a group of 100,000 messages costs what the person has scrolled through.
 */
export function useHistory (groupId: string) {
  const [messages, setMessages] = useState<Message[]>([])
  /** whether the window reaches the first message / the latest one */
  const [atStart, setAtStart] = useState(false)
  const [atEnd, setAtEnd] = useState(true)
  const loading = useRef(false)
  const atEndRef = useRef(true)
  atEndRef.current = atEnd

  const loadLatest = useCallback(async () => {
    const list = await api<Message[]>('GET', `/v1/groups/${groupId}/messages?limit=${PAGE}`)
    setMessages(list)
    setAtStart(list.length < PAGE)
    setAtEnd(true)
  }, [groupId])

  useEffect(() => {
    setMessages([])
    loadLatest().catch(console.error)
    return events.on(e => {
      if (e.type !== 'message' || e.groupId !== groupId) return
      setMessages(list => {
        const at = list.findIndex(m => m.id === e.message.id)
        if (at >= 0) return [...list.slice(0, at), e.message, ...list.slice(at + 1)]
        // A new message belongs at the end only when the window shows the end.
        if (!atEndRef.current) return list
        const next = [...list, e.message]
        // Arrivals merged from a healed partition may be older than the latest: keep order.
        next.sort((a, b) => a.hlc.ms - b.hlc.ms || a.hlc.c - b.hlc.c || (a.author < b.author ? -1 : a.author > b.author ? 1 : 0))
        return next
      })
    })
  }, [groupId])

  /** Prepends the page before the first loaded message; false when there is none. */
  const loadOlder = useCallback(async (): Promise<boolean> => {
    if (loading.current || atStart || messages.length === 0) return false
    loading.current = true
    try {
      const page = await api<Message[]>('GET', `/v1/groups/${groupId}/messages?limit=${PAGE}&before=${messages[0].id}`)
      if (page.length < PAGE) setAtStart(true)
      if (page.length > 0) setMessages(list => [...page, ...list.filter(m => !page.some(p => p.id === m.id))])
      return page.length > 0
    } finally {
      loading.current = false
    }
  }, [groupId, atStart, messages])

  /** Replaces the window with a page around `id` (a search result, a reply's parent). */
  const jumpTo = useCallback(async (id: string): Promise<boolean> => {
    if (messages.some(m => m.id === id)) return true
    const page = await api<Message[]>('GET', `/v1/groups/${groupId}/messages?limit=${PAGE}&around=${id}`)
    setMessages(page)
    setAtStart(false)
    const latest = await api<Message[]>('GET', `/v1/groups/${groupId}/messages?limit=1`)
    setAtEnd(latest.length === 0 || page.some(m => m.id === latest[0].id))
    return page.some(m => m.id === id)
  }, [groupId, messages])

  return { messages, atStart, atEnd, loadOlder, loadLatest, jumpTo }
}
