import { useState } from 'preact/hooks'
import { api } from '../api.js'
import { lang, setLang, strings } from '../i18n.js'
import { refresh } from '../state.js'
import './shell.css'

const t = strings({
  en: {
    title: 'Welcome to Outpost',
    intro: 'Choose the name your team sees. It travels with your key to everyone you share a group with; you can change it later.',
    name: 'Your name',
    go: 'Continue',
    other: '中文'
  },
  zh: {
    title: '欢迎使用 Outpost',
    intro: '请设置团队成员看到的名字。它会随你的密钥告知与你同群的每个人；之后可以修改。',
    name: '你的名字',
    go: '继续',
    other: 'English'
  }
})

/** Asked once, before the main window, when this node's display name was never chosen. */
export function FirstRun ({ suggested }: { suggested: string }) {
  const [name, setName] = useState(suggested)
  const [error, setError] = useState<string | null>(null)
  const save = async (): Promise<void> => {
    try {
      await api('POST', '/v1/profile', { name: name.trim() })
      await refresh()
    } catch (err) {
      setError((err as Error).message)
    }
  }
  return (
    <main class="splash">
      <form class="first-run" onSubmit={e => { e.preventDefault(); save().catch(console.error) }}>
        <h1>{t('title')}</h1>
        <p>{t('intro')}</p>
        <label class="field">{t('name')}
          <input autofocus value={name} maxLength={128} onInput={e => { setName(e.currentTarget.value) }} />
        </label>
        {error != null && <p class="error" role="alert">{error}</p>}
        <button class="button" type="submit" disabled={name.trim() === ''}>{t('go')}</button>
        <button type="button" class="button secondary" onClick={() => { setLang(lang.value === 'en' ? 'zh' : 'en') }}>{t('other')}</button>
      </form>
    </main>
  )
}
