import { effect, signal } from '@preact/signals'

/** Light, dark, or whatever the system says; kept in localStorage. */
export type Theme = 'light' | 'dark' | 'system'

const STORAGE_KEY = 'outpost.theme'
const saved = localStorage.getItem(STORAGE_KEY)
export const theme = signal<Theme>(saved === 'light' || saved === 'dark' ? saved : 'system')

const dark = matchMedia('(prefers-color-scheme: dark)')
const systemDark = signal(dark.matches)
dark.addEventListener('change', () => { systemDark.value = dark.matches })

export function setTheme (value: Theme): void {
  theme.value = value
  localStorage.setItem(STORAGE_KEY, value)
}

effect(() => {
  const resolved = theme.value === 'system' ? (systemDark.value ? 'dark' : 'light') : theme.value
  document.documentElement.dataset.theme = resolved
})
