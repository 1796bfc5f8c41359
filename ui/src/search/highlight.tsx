import type { ComponentChildren } from 'preact'

/**
 * `text` with the query's terms marked. The node's index folds case, width and accents; a
 * plain case-insensitive match is close enough to show where the hit is.
 */
export function highlight (text: string, query: string): ComponentChildren[] {
  const terms = query.normalize('NFKC').split(/\s+/).map(s => s.trim()).filter(s => s.length > 0)
  if (terms.length === 0) return [text]
  const escaped = terms.sort((a, b) => b.length - a.length).map(s => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))
  const re = new RegExp(`(${escaped.join('|')})`, 'giu')
  return text.split(re).map((part, i) => i % 2 === 1 ? <mark key={i}>{part}</mark> : part)
}
