import type { Message } from '../api.js'

/** Display order on every node: (timestamp, author, id), as the node sorts. */
export function compareMessages (a: Message, b: Message): number {
  return a.hlc.ms - b.hlc.ms || a.hlc.c - b.hlc.c || (a.author < b.author ? -1 : a.author > b.author ? 1 : 0) || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0)
}

/** Puts a new or changed message into a list kept in display order (most arrivals are the newest). */
export function upsert (list: Message[], message: Message): Message[] {
  for (let i = list.length - 1; i >= 0 && i >= list.length - 2000; i--) {
    if (list[i].id === message.id) return [...list.slice(0, i), message, ...list.slice(i + 1)]
  }
  const at = list.findIndex(m => m.id === message.id)
  if (at >= 0) return [...list.slice(0, at), message, ...list.slice(at + 1)]
  let i = list.length
  while (i > 0 && compareMessages(list[i - 1], message) > 0) i--
  return [...list.slice(0, i), message, ...list.slice(i)]
}

export function sameDay (a: number, b: number): boolean {
  const x = new Date(a)
  const y = new Date(b)
  return x.getFullYear() === y.getFullYear() && x.getMonth() === y.getMonth() && x.getDate() === y.getDate()
}

export function formatSize (bytes: number): string {
  if (bytes < 1024) return `${bytes} B`
  const units = ['KiB', 'MiB', 'GiB', 'TiB']
  let n = bytes / 1024
  let u = 0
  while (n >= 1024 && u < units.length - 1) { n /= 1024; u++ }
  return `${n < 10 ? n.toFixed(1) : Math.round(n)} ${units[u]}`
}

export function fileIcon (mime: string): string {
  if (mime.startsWith('image/')) return '🖼️'
  if (mime.startsWith('video/')) return '🎞️'
  if (mime.startsWith('audio/')) return '🎵'
  if (mime.includes('pdf')) return '📕'
  if (mime.includes('zip') || mime.includes('tar') || mime.includes('compressed')) return '📦'
  if (mime.startsWith('text/')) return '📄'
  return '📎'
}

export function preview (text: string, max = 80): string {
  const line = text.replace(/\s+/g, ' ').trim()
  return line.length > max ? line.slice(0, max - 1) + '…' : line
}
