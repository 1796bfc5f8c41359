import { useState } from 'preact/hooks'
import { api } from '../api.js'
import { strings } from '../i18n.js'
import { Dialog } from '../shell/dialog.js'
import { refresh, selectedGroup } from '../state.js'
import './groups.css'

const t = strings({
  en: {
    title: 'Join a group',
    invite: 'Paste the invite',
    join: 'Join',
    joining: 'Joining… (waiting for a member to let you in)',
    cancel: 'Cancel',
    waiting: 'Joined “{name}”. No member has let you in yet: it opens once one is reachable.'
  },
  zh: {
    title: '加入群组',
    invite: '粘贴邀请文本',
    join: '加入',
    joining: '正在加入…（等待成员放行）',
    cancel: '取消',
    waiting: '已加入“{name}”。尚无成员放行：有成员在线后即可打开。'
  }
})

/** Joins a group by its invite text. */
export function JoinGroupDialog ({ onClose }: { onClose: () => void }) {
  const [invite, setInvite] = useState('')
  const [busy, setBusy] = useState(false)
  const [error, setError] = useState<string | null>(null)
  const [note, setNote] = useState<string | null>(null)
  const join = async (): Promise<void> => {
    setBusy(true)
    setError(null)
    try {
      const res = await api<{ groupId: string, name: string, admitted: boolean }>('POST', '/v1/groups/join', { invite: invite.trim() })
      await refresh()
      selectedGroup.value = res.groupId
      if (res.admitted) onClose()
      else setNote(t('waiting', { name: res.name }))
    } catch (err) {
      setError((err as Error).message)
    } finally {
      setBusy(false)
    }
  }
  return (
    <Dialog title={t('title')} onClose={onClose}>
      <form onSubmit={e => { e.preventDefault(); join().catch(console.error) }}>
        <label>{t('invite')}<textarea autofocus class="invite-text" value={invite} onInput={e => { setInvite(e.currentTarget.value) }} /></label>
        {busy && <p class="hint" role="status">{t('joining')}</p>}
        {note != null && <p class="hint" role="status">{note}</p>}
        {error != null && <p class="error" role="alert">{error}</p>}
        <div class="dialog-actions">
          <button type="button" class="button secondary" onClick={onClose}>{t('cancel')}</button>
          <button type="submit" class="button" disabled={busy || invite.trim() === ''}>{t('join')}</button>
        </div>
      </form>
    </Dialog>
  )
}
