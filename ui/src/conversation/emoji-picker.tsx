import { createPortal } from 'preact/compat'
import { useEffect, useRef } from 'preact/hooks'
import { strings } from '../i18n.js'
import { EMOJI } from './emoji.js'

const t = strings({
  en: { label: 'Pick an emoji' },
  zh: { label: '选择表情' }
})

/**
 * The emoji grid, fixed over the page next to the button that opened it (a row of the
 * virtual list would clip it). Escape or a click elsewhere closes it; focus goes back.
 */
export function EmojiPicker ({ anchor, onPick, onClose }: { anchor: HTMLElement, onPick: (emoji: string) => void, onClose: () => void }) {
  const box = useRef<HTMLDivElement>(null)
  const rect = anchor.getBoundingClientRect()
  const width = 268
  const height = 180
  const left = Math.max(8, Math.min(window.innerWidth - width - 8, rect.right - width))
  const top = rect.top - height - 6 > 8 ? rect.top - height - 6 : Math.min(window.innerHeight - height - 8, rect.bottom + 6)

  useEffect(() => {
    box.current?.querySelector('button')?.focus()
    const away = (e: MouseEvent): void => { if (box.current != null && !box.current.contains(e.target as Node) && !anchor.contains(e.target as Node)) onClose() }
    document.addEventListener('mousedown', away)
    return () => { document.removeEventListener('mousedown', away) }
  }, [])

  const close = (): void => { onClose(); anchor.focus() }
  // In a portal: a row of the virtual list is transformed, which would make `fixed` relative to it.
  return createPortal(
    <div class="emoji-picker" ref={box} role="dialog" aria-label={t('label')} style={{ left: `${left}px`, top: `${top}px`, width: `${width}px` }}
      onKeyDown={e => { if (e.key === 'Escape') { e.preventDefault(); e.stopPropagation(); close() } }}>
      {EMOJI.map(emoji => (
        <button type="button" key={emoji} class="emoji-choice" aria-label={emoji} onClick={() => { onPick(emoji); close() }}>{emoji}</button>
      ))}
    </div>,
    document.body
  )
}
