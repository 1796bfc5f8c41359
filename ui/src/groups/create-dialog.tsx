import { useState } from 'preact/hooks'
import { api } from '../api.js'
import { strings } from '../i18n.js'
import { Dialog } from '../shell/dialog.js'
import { refresh, selectedGroup } from '../state.js'
import { InviteView } from './invite-dialog.js'
import './groups.css'

const t = strings({
  en: { title: 'New group', name: 'Group name', create: 'Create', cancel: 'Cancel', done: 'Done', created: 'Group “{name}” created. Invite people:' },
  zh: { title: '新建群组', name: '群组名称', create: '创建', cancel: '取消', done: '完成', created: '群组“{name}”已创建。邀请成员：' }
})

/** Names a new group, creates it, then shows its invite. */
export function CreateGroupDialog ({ onClose }: { onClose: () => void }) {
  const [name, setName] = useState('')
  const [error, setError] = useState<string | null>(null)
  const [created, setCreated] = useState<{ groupId: string, invite: string, name: string } | null>(null)
  const create = async (): Promise<void> => {
    const trimmed = name.trim()
    if (trimmed === '') return
    try {
      const res = await api<{ groupId: string, invite: string }>('POST', '/v1/groups', { name: trimmed })
      await refresh()
      selectedGroup.value = res.groupId
      setCreated({ ...res, name: trimmed })
    } catch (err) {
      setError((err as Error).message)
    }
  }
  if (created != null) {
    return (
      <Dialog title={t('title')} onClose={onClose} wide>
        <p>{t('created', { name: created.name })}</p>
        <InviteView invite={created.invite} />
        <div class="dialog-actions"><button class="button" onClick={onClose}>{t('done')}</button></div>
      </Dialog>
    )
  }
  return (
    <Dialog title={t('title')} onClose={onClose}>
      <form class="dialog-form" onSubmit={e => { e.preventDefault(); create().catch(console.error) }}>
        <label>{t('name')}<input autofocus value={name} maxLength={100} onInput={e => { setName(e.currentTarget.value) }} /></label>
        {error != null && <p class="error" role="alert">{error}</p>}
        <div class="dialog-actions">
          <button type="button" class="button secondary" onClick={onClose}>{t('cancel')}</button>
          <button type="submit" class="button" disabled={name.trim() === ''}>{t('create')}</button>
        </div>
      </form>
    </Dialog>
  )
}
