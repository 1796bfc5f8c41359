import type { ComponentChildren } from 'preact'
import { useEffect, useLayoutEffect, useMemo, useRef, useState } from 'preact/hooks'

/** Rows are measured once shown; until then they count as this tall. */
const ESTIMATE = 64
/** How far beyond the viewport rows are kept in the DOM, in pixels. */
const OVERSCAN = 800
/** How close to an end counts as reaching it (loads the next page before it shows). */
const EDGE = 1200

export interface VirtualListProps<T> {
  items: readonly T[]
  keyOf: (item: T) => string
  render: (item: T, index: number) => ComponentChildren
  /** a row to bring into view (centred); a new token scrolls again */
  target?: { key: string, token: number } | null
  /** keeps the newest row in view as rows arrive, while the reader is at the bottom */
  followBottom: boolean
  onNearTop?: () => void
  onNearBottom?: () => void
  onAtBottom?: (atBottom: boolean) => void
  footer?: ComponentChildren
  label: string
}

/**
 * A scrolling list that keeps only the rows near the viewport in the DOM. Heights are
 * measured (ResizeObserver) and remembered by key; the reader's place is kept by an anchor
 * (the first visible row and its distance from the top), so rows measured or pages
 * prepended above do not move what the reader is looking at.
 */
export function VirtualList<T> (props: VirtualListProps<T>) {
  const { items, keyOf } = props
  const scroller = useRef<HTMLDivElement>(null)
  const heights = useRef(new Map<string, number>())
  const [measured, setMeasured] = useState(0)
  const [view, setView] = useState({ top: 0, height: 800 })
  const anchor = useRef<{ key: string, delta: number } | null>(null)
  const atBottom = useRef(true)
  const lastTarget = useRef<number | null>(null)
  const observer = useRef<ResizeObserver | null>(null)
  const observed = useRef(new Set<HTMLElement>())
  const pending = useRef(false)
  const callbacks = useRef(props)
  callbacks.current = props

  const offsets = useMemo(() => {
    const out = new Float64Array(items.length + 1)
    for (let i = 0; i < items.length; i++) out[i + 1] = out[i] + (heights.current.get(keyOf(items[i])) ?? ESTIMATE)
    return out
  }, [items, measured])
  const total = offsets[items.length]

  const indexAt = (y: number): number => {
    let lo = 0
    let hi = items.length
    while (lo < hi) {
      const mid = (lo + hi) >>> 1
      if (offsets[mid + 1] <= y) lo = mid + 1
      else hi = mid
    }
    return lo
  }

  const first = Math.max(0, indexAt(view.top - OVERSCAN))
  const last = Math.min(items.length, indexAt(view.top + view.height + OVERSCAN) + 1)

  if (observer.current == null && typeof ResizeObserver !== 'undefined') {
    observer.current = new ResizeObserver(entries => {
      let changed = false
      for (const entry of entries) {
        const el = entry.target as HTMLElement
        const key = el.dataset.key
        if (key == null || !el.isConnected) continue
        const h = Math.ceil(el.getBoundingClientRect().height)
        if (h > 0 && heights.current.get(key) !== h) {
          heights.current.set(key, h)
          changed = true
        }
      }
      if (changed) setMeasured(n => n + 1)
    })
  }
  useEffect(() => () => observer.current?.disconnect(), [])

  const record = (): void => {
    const el = scroller.current
    if (el == null) return
    atBottom.current = el.scrollHeight - el.scrollTop - el.clientHeight < 8
    const i = indexAt(el.scrollTop)
    anchor.current = i < items.length ? { key: keyOf(items[i]), delta: offsets[i] - el.scrollTop } : null
  }

  const onScroll = (): void => {
    record()
    callbacks.current.onAtBottom?.(atBottom.current)
    if (pending.current) return
    pending.current = true
    requestAnimationFrame(() => {
      pending.current = false
      const el = scroller.current
      if (el == null) return
      setView({ top: el.scrollTop, height: el.clientHeight })
      if (el.scrollTop < EDGE) callbacks.current.onNearTop?.()
      if (el.scrollHeight - el.scrollTop - el.clientHeight < EDGE) callbacks.current.onNearBottom?.()
    })
  }

  // Rows scrolled out of the DOM are no longer watched.
  useLayoutEffect(() => {
    for (const el of observed.current) {
      if (!el.isConnected) {
        observer.current?.unobserve(el)
        observed.current.delete(el)
      }
    }
  })

  // After every change of rows or heights: put the reader back where they were.
  useLayoutEffect(() => {
    const el = scroller.current
    if (el == null) return
    const target = props.target
    if (target != null && target.token !== lastTarget.current) {
      const i = items.findIndex(item => keyOf(item) === target.key)
      if (i >= 0) {
        lastTarget.current = target.token
        const h = offsets[i + 1] - offsets[i]
        el.scrollTop = Math.max(0, offsets[i] - (el.clientHeight - h) / 2)
        atBottom.current = false
        record()
        setView({ top: el.scrollTop, height: el.clientHeight })
        return
      }
    }
    if (atBottom.current && props.followBottom) {
      el.scrollTop = el.scrollHeight
    } else if (anchor.current != null) {
      const key = anchor.current.key
      const i = indexOfKey(items, keyOf, key, first)
      if (i >= 0) el.scrollTop = offsets[i] - anchor.current.delta
    }
    record()
    if (el.scrollTop !== view.top || el.clientHeight !== view.height) setView({ top: el.scrollTop, height: el.clientHeight })
    // A short history (or a tall window) never scrolls: ask for more at once.
    if (el.scrollHeight <= el.clientHeight + EDGE) {
      if (el.scrollTop < EDGE) callbacks.current.onNearTop?.()
      callbacks.current.onNearBottom?.()
    }
  }, [offsets, props.target])

  useEffect(() => {
    const el = scroller.current
    if (el == null) return
    const resize = new ResizeObserver(() => { setView({ top: el.scrollTop, height: el.clientHeight }) })
    resize.observe(el)
    return () => { resize.disconnect() }
  }, [])

  const rows: ComponentChildren[] = []
  for (let i = first; i < last; i++) {
    const item = items[i]
    const key = keyOf(item)
    rows.push(
      <div key={key} data-key={key} class="vrow" style={{ transform: `translateY(${offsets[i]}px)` }}
        ref={el => { if (el != null && !observed.current.has(el)) { observed.current.add(el); observer.current?.observe(el) } }}>
        {props.render(item, i)}
      </div>
    )
  }

  return (
    <div class="history" ref={scroller} data-testid="history" role="log" aria-label={props.label} aria-live="polite" tabIndex={0} onScroll={onScroll}>
      <div class="vspace" style={{ height: `${total}px` }}>{rows}</div>
      {props.footer}
    </div>
  )
}

/** The row's index, looked for near where it was first (most changes are small). */
function indexOfKey<T> (items: readonly T[], keyOf: (item: T) => string, key: string, near: number): number {
  for (let d = 0; d < 400; d++) {
    if (near + d < items.length && keyOf(items[near + d]) === key) return near + d
    if (near - d >= 0 && d > 0 && keyOf(items[near - d]) === key) return near - d
  }
  return items.findIndex(item => keyOf(item) === key)
}
