import type { ComponentChildren } from 'preact'
import { useEffect, useRef } from 'preact/hooks'
import './shell.css'

const FOCUSABLE = 'a[href], button:not([disabled]), input:not([disabled]), select:not([disabled]), textarea:not([disabled]), [tabindex]:not([tabindex="-1"])'

/** The controls inside `root` that Tab can reach, in order. */
export function focusables (root: HTMLElement): HTMLElement[] {
  return [...root.querySelectorAll<HTMLElement>(FOCUSABLE)].filter(el => el.offsetParent !== null || el === document.activeElement)
}

/**
 * A modal dialog: focus moves into it, Tab cycles inside it, Escape (or the backdrop)
 * closes it, and focus goes back to whatever opened it.
 */
export function Dialog ({ title, onClose, children, wide }: { title: string, onClose: () => void, children: ComponentChildren, wide?: boolean }) {
  const box = useRef<HTMLDivElement>(null)
  useEffect(() => {
    const opener = document.activeElement as HTMLElement | null
    const root = box.current
    if (root != null) {
      const first = root.querySelector<HTMLElement>('[autofocus]') ?? focusables(root)[0]
      first?.focus()
    }
    return () => { opener?.focus?.() }
  }, [])
  const onKeyDown = (e: KeyboardEvent): void => {
    if (e.key === 'Escape') {
      e.stopPropagation()
      onClose()
      return
    }
    if (e.key !== 'Tab' || box.current == null) return
    const items = focusables(box.current)
    if (items.length === 0) return
    const first = items[0]
    const last = items[items.length - 1]
    if (e.shiftKey && document.activeElement === first) {
      e.preventDefault()
      last.focus()
    } else if (!e.shiftKey && document.activeElement === last) {
      e.preventDefault()
      first.focus()
    }
  }
  return (
    <div class="dialog-backdrop" onMouseDown={e => { if (e.target === e.currentTarget) onClose() }}>
      <div ref={box} class={wide === true ? 'dialog wide' : 'dialog'} role="dialog" aria-modal="true" aria-label={title} onKeyDown={onKeyDown}>
        <h2 class="dialog-title">{title}</h2>
        {children}
      </div>
    </div>
  )
}
