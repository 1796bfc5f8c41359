import { Conversation } from '../conversation/conversation.js'
import { strings } from '../i18n.js'
import { connected, selectedGroup, session } from '../state.js'
import { SidePanel } from './side-panel.js'
import { Sidebar } from './sidebar.js'
import { Unlock } from './unlock.js'

const t = strings({
  en: {
    loading: 'Connecting to your node…',
    signedOutTitle: 'Not signed in',
    signedOut: 'Open the link that `outpost start` (or `npm start`) printed, or run `outpost ui` for a new one.',
    offline: 'Lost contact with your node; reconnecting…',
    noGroup: 'Create or join a group to start.'
  },
  zh: {
    loading: '正在连接本机节点…',
    signedOutTitle: '尚未登录',
    signedOut: '请打开 `outpost start`（或 `npm start`）打印的链接，或运行 `outpost ui` 获取新链接。',
    offline: '与本机节点的连接中断，正在重连…',
    noGroup: '创建或加入一个群组即可开始。'
  }
})

export function App () {
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
  const groupId = selectedGroup.value
  return (
    <div class="app">
      {!connected.value && <div class="banner banner-offline" role="alert">{t('offline')}</div>}
      <Sidebar />
      <main class="main" aria-label="conversation">
        {groupId == null ? <div class="empty">{t('noGroup')}</div> : <Conversation key={groupId} groupId={groupId} />}
      </main>
      <SidePanel />
    </div>
  )
}
