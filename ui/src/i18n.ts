import { signal } from '@preact/signals'

/**
 * The interface speaks English and Chinese. It follows the browser's language until the
 * person picks one (kept in localStorage). Each part of the UI keeps its own strings beside
 * it with `strings()`: the compiler checks that both languages have every key.
 */
export type Lang = 'en' | 'zh'

const STORAGE_KEY = 'outpost.lang'

function initialLang (): Lang {
  const saved = localStorage.getItem(STORAGE_KEY)
  if (saved === 'en' || saved === 'zh') return saved
  return navigator.language.toLowerCase().startsWith('zh') ? 'zh' : 'en'
}

export const lang = signal<Lang>(initialLang())

export function setLang (value: Lang): void {
  lang.value = value
  localStorage.setItem(STORAGE_KEY, value)
  document.documentElement.lang = value === 'zh' ? 'zh-CN' : 'en'
}

export type Vars = Record<string, string | number>

/** A dictionary in both languages; `{name}` in a string is replaced by vars.name. */
export function strings<K extends string> (dict: { en: Record<K, string>, zh: Record<K, string> }): (key: K, vars?: Vars) => string {
  return (key, vars) => {
    const text = dict[lang.value][key]
    return vars == null ? text : text.replace(/\{(\w+)\}/g, (whole, name: string) => String(vars[name] ?? whole))
  }
}

// Formatters are made once per language: making one per call costs more than a row's render.
const formatters = new Map<string, Intl.DateTimeFormat>()
function formatter (kind: 'time' | 'day'): Intl.DateTimeFormat {
  const key = `${lang.value}/${kind}`
  let f = formatters.get(key)
  if (f == null) {
    const locale = lang.value === 'zh' ? 'zh-CN' : 'en-GB'
    f = new Intl.DateTimeFormat(locale, kind === 'time' ? { hour: '2-digit', minute: '2-digit' } : { year: 'numeric', month: 'short', day: 'numeric', weekday: 'short' })
    formatters.set(key, f)
  }
  return f
}

/** Dates in the interface's language. */
export function formatTime (ms: number): string {
  return formatter('time').format(ms)
}

export function formatDay (ms: number): string {
  return formatter('day').format(ms)
}

/** A moment as its time today, or its date and time on another day. */
export function when (ms: number): string {
  const today = new Date(ms).toDateString() === new Date().toDateString()
  return today ? formatTime(ms) : `${formatDay(ms)} ${formatTime(ms)}`
}
