import { tokenize } from './tokenize.js'

/**
 * A short excerpt of `text` around the first place a query term occurs (compared folded,
 * as indexed), with an ellipsis where it was cut. Pure; the caller holds the text.
 */
export function snippet (text: string, query: string, width = 80): string {
  const folded = text.normalize('NFKC').toLowerCase()
  let at = -1
  for (const term of tokenize(query)) {
    const i = folded.indexOf(term)
    if (i >= 0 && (at < 0 || i < at)) at = i
  }
  if (text.length <= width) return text
  // NFKC may change lengths; the position is close enough for an excerpt.
  const start = Math.max(0, Math.min(at < 0 ? 0 : at - Math.floor(width / 3), text.length - width))
  const end = Math.min(text.length, start + width)
  return (start > 0 ? '…' : '') + text.slice(start, end) + (end < text.length ? '…' : '')
}
