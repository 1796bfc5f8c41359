import { useEffect, useRef, useState } from 'preact/hooks'

export interface Upload { id: number, name: string, loaded: number, total: number, done: boolean, error?: string }

/** How long a finished upload stays listed (full bar), so the sender sees it went. */
const SHOWN_AFTER_MS = 2000

let nextId = 1

/**
 * Files sent into a group: each is one raw POST of its bytes, by XMLHttpRequest because
 * only it reports upload progress. The message appears through the event stream.
 */
export function useUploads (groupId: string): { list: Upload[], start: (file: File, replyTo?: string) => void, dismiss: (id: number) => void } {
  const [list, setList] = useState<Upload[]>([])
  const live = useRef(new Set<XMLHttpRequest>())
  useEffect(() => () => { for (const xhr of live.current) xhr.abort() }, [groupId])

  const update = (id: number, patch: Partial<Upload>): void => { setList(l => l.map(u => u.id === id ? { ...u, ...patch } : u)) }
  const dismiss = (id: number): void => { setList(l => l.filter(u => u.id !== id)) }

  const start = (file: File, replyTo?: string): void => {
    const id = nextId++
    setList(l => [...l, { id, name: file.name, loaded: 0, total: file.size, done: false }])
    const query = new URLSearchParams({ name: file.name })
    if (replyTo != null) query.set('replyTo', replyTo)
    const xhr = new XMLHttpRequest()
    live.current.add(xhr)
    xhr.open('POST', `/v1/groups/${groupId}/files?${query.toString()}`)
    xhr.setRequestHeader('content-type', file.type !== '' ? file.type : 'application/octet-stream')
    xhr.upload.onprogress = e => { update(id, { loaded: e.loaded, total: e.lengthComputable ? e.total : file.size }) }
    xhr.onload = () => {
      live.current.delete(xhr)
      if (xhr.status >= 200 && xhr.status < 300) {
        update(id, { loaded: file.size, done: true })
        setTimeout(() => { dismiss(id) }, SHOWN_AFTER_MS)
      } else {
        let message = `HTTP ${xhr.status}`
        try { message = JSON.parse(xhr.responseText).error.message ?? message } catch {}
        update(id, { error: message })
      }
    }
    xhr.onerror = () => { live.current.delete(xhr); update(id, { error: 'network error' }) }
    xhr.send(file)
  }

  return { list, start, dismiss }
}
