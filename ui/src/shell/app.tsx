import { useEffect } from 'preact/hooks'
import type { Status } from '../api.js'
import { Conversation } from '../conversation/conversation.js'
import { strings } from '../i18n.js'
import { PartitionBanner } from '../network/partition-banner.js'
import { connected, me, panel, selectedGroup, session } from '../state.js'
import { FirstRun } from './first-run.js'
import './notifications.js'
import { SidePanel } from './side-panel.js'
import { Sidebar } from './sidebar.js'
import { Unlock } from './unlock.js'
import './shell.css'

const t = strings({
  en: {
    loading: 'Connecting to your node…',
    signedOutTitle: 'Not signed in',
    signedOut: 'Open the link that `outpost start` (or `npm start`) printed, or run `outpost ui` for a new one.',
    offline: 'Lost contact with your node; reconnecting…',
    noGroup: 'Create or join a group to start.',
    conversation: 'Conversation'
  },
  zh: {
    loading: '正在连接本机节点…',
    signedOutTitle: '尚未登录',
    signedOut: '请打开 `outpost start`（或 `npm start`）打印的链接，或运行 `outpost ui` 获取新链接。',
    offline: '与本机节点的连接中断，正在重连…',
    noGroup: '创建或加入一个群组即可开始。',
    conversation: '会话'
  }
})

/** Escape closes the side panel (dialogs catch their own Escape first). */
function useEscapeClosesPanel (): void {
  useEffect(() => {
    const onKey = (e: KeyboardEvent): void => {
      if (e.key !== 'Escape' || e.defaultPrevented || panel.value == null) return
      if (document.querySelector('[role="dialog"]') != null) return
      panel.value = null
    }
    document.addEventListener('keydown', onKey)
    return () => { document.removeEventListener('keydown', onKey) }
  }, [])
}

export function App () {
  useEscapeClosesPanel()
  if (session.value === 'checking') return <div class="splash" role="status">{t('loading')}</div>
  if (session.value === 'locked') return <Unlock />
  if (session.value === 'signed-out') {
    return (
      <div class="splash">
        <h1>{t('signedOutTitle')}</h1>
        <p>{t('signedOut')}</p>
      </div>
    )
  }
  const status = me.value as (Status & { named?: boolean }) | null
  if (status != null && status.named === false) return <FirstRun suggested={status.name} />
  const groupId = selectedGroup.value
  return (
    <div class="app">
      <div class="banners">
        {!connected.value && <div class="banner banner-offline" role="alert">{t('offline')}</div>}
        <PartitionBanner />
      </div>
      <Sidebar />
      <main class="main" aria-label={t('conversation')}>
        {groupId == null ? <div class="empty">{t('noGroup')}</div> : <Conversation key={groupId} groupId={groupId} />}
      </main>
      <SidePanel />
    </div>
  )
}
