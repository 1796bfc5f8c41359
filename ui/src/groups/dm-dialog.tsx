import { useEffect, useState } from 'preact/hooks'
import { api } from '../api.js'
import { strings } from '../i18n.js'
import { Dialog } from '../shell/dialog.js'
import { refresh, selectedGroup } from '../state.js'
import './groups.css'

const t = strings({
  en: {
    title: 'New direct message',
    to: 'To',
    none: 'No known peers yet: they appear once this node has met them.',
    message: 'First message',
    send: 'Send',
    cancel: 'Cancel',
    online: 'connected',
    offline: 'not connected'
  },
  zh: {
    title: '发起私信',
    to: '发给',
    none: '还没有已知的节点：本机遇到对方后才会列出。',
    message: '第一条消息',
    send: '发送',
    cancel: '取消',
    online: '已连接',
    offline: '未连接'
  }
})

interface Peer { peerId: string, name?: string, connected: boolean }

/** Picks a known peer and sends the first message, which creates the conversation. */
export function DirectMessageDialog ({ onClose }: { onClose: () => void }) {
  const [peers, setPeers] = useState<Peer[] | null>(null)
  const [peer, setPeer] = useState<string | null>(null)
  const [text, setText] = useState('')
  const [error, setError] = useState<string | null>(null)
  useEffect(() => {
    api<Peer[]>('GET', '/v1/peers').then(setPeers, err => { setError((err as Error).message) })
  }, [])
  const send = async (): Promise<void> => {
    if (peer == null || text.trim() === '') return
    try {
      const res = await api<{ groupId: string }>('POST', '/v1/dm', { peer, text: text.trim() })
      await refresh()
      selectedGroup.value = res.groupId
      onClose()
    } catch (err) {
      setError((err as Error).message)
    }
  }
  return (
    <Dialog title={t('title')} onClose={onClose}>
      <form onSubmit={e => { e.preventDefault(); send().catch(console.error) }}>
        <fieldset class="field" style="border:0;padding:0;margin:0">
          <legend>{t('to')}</legend>
          {peers != null && peers.length === 0 && <p class="hint">{t('none')}</p>}
          <ul class="peer-pick">
            {peers?.map(p => (
              <li key={p.peerId}>
                <label>
                  <input type="radio" name="peer" value={p.peerId} checked={peer === p.peerId} onChange={() => { setPeer(p.peerId) }} />
                  <span class={`dot ${p.connected ? 'online' : 'offline'}`} aria-hidden="true" />
                  <span>{p.name ?? p.peerId.slice(-8)}</span>
                  <span class="hint">({p.connected ? t('online') : t('offline')})</span>
                </label>
              </li>
            ))}
          </ul>
        </fieldset>
        <label>{t('message')}<textarea value={text} onInput={e => { setText(e.currentTarget.value) }} /></label>
        {error != null && <p class="error" role="alert">{error}</p>}
        <div class="dialog-actions">
          <button type="button" class="button secondary" onClick={onClose}>{t('cancel')}</button>
          <button type="submit" class="button" disabled={peer == null || text.trim() === ''}>{t('send')}</button>
        </div>
      </form>
    </Dialog>
  )
}
