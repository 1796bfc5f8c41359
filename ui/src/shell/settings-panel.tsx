import { useState } from 'preact/hooks'
import { lang, setLang, strings, type Lang } from '../i18n.js'
import { setTheme, theme, type Theme } from '../theme.js'
import { notificationsBlocked, notificationsOn, notificationsSupported, setNotifications } from './notifications.js'
import './shell.css'

const t = strings({
  en: {
    title: 'Settings',
    theme: 'Theme',
    light: 'Light',
    dark: 'Dark',
    system: 'Same as the system',
    language: 'Language',
    notifications: 'Notifications',
    notify: 'Desktop notifications for mentions and direct messages',
    blocked: 'The browser blocks notifications for this page; allow them in its site settings.',
    unsupported: 'This browser has no desktop notifications.'
  },
  zh: {
    title: '设置',
    theme: '主题',
    light: '浅色',
    dark: '深色',
    system: '跟随系统',
    language: '语言',
    notifications: '通知',
    notify: '有人提及我或收到私信时显示桌面通知',
    blocked: '浏览器已禁止本页通知；请在网站设置中允许。',
    unsupported: '此浏览器不支持桌面通知。'
  }
})

const THEMES: Theme[] = ['light', 'dark', 'system']
const LANGS: Array<[Lang, string]> = [['en', 'English'], ['zh', '中文']]

/** Theme, language and notifications. */
export function SettingsPanel (_props: Record<string, unknown>) {
  const [busy, setBusy] = useState(false)
  return (
    <div class="panel-body settings-panel">
      <h2>{t('title')}</h2>
      <h3 id="settings-theme">{t('theme')}</h3>
      <div class="choice-row" role="group" aria-labelledby="settings-theme">
        {THEMES.map(value => <button key={value} aria-pressed={theme.value === value} onClick={() => { setTheme(value) }}>{t(value)}</button>)}
      </div>
      <h3 id="settings-lang">{t('language')}</h3>
      <div class="choice-row" role="group" aria-labelledby="settings-lang">
        {LANGS.map(([value, label]) => <button key={value} lang={value === 'zh' ? 'zh-CN' : 'en'} aria-pressed={lang.value === value} onClick={() => { setLang(value) }}>{label}</button>)}
      </div>
      <h3>{t('notifications')}</h3>
      {notificationsSupported
        ? (
          <label class="switch">
            <input type="checkbox" role="switch" checked={notificationsOn.value} disabled={busy}
              onChange={e => {
                const on = e.currentTarget.checked
                setBusy(true)
                setNotifications(on).finally(() => { setBusy(false) }).catch(console.error)
              }} />
            {t('notify')}
          </label>
          )
        : <p class="hint">{t('unsupported')}</p>}
      {notificationsBlocked.value && <p class="hint" role="status">{t('blocked')}</p>}
    </div>
  )
}
