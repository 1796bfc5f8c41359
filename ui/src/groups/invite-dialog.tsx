import QRCode from 'qrcode'
import { useEffect, useState } from 'preact/hooks'
import { api } from '../api.js'
import { strings } from '../i18n.js'
import { Dialog } from '../shell/dialog.js'
import './groups.css'

const t = strings({
  en: {
    title: 'Invite to {name}',
    invite: 'Invite text',
    copy: 'Copy invite',
    copied: 'Copied',
    qr: 'QR code of the invite',
    hint: 'Send the text (or show the code) to the person you invite; they paste it under “Join a group”. It works for 7 days.',
    role: 'Joins as',
    member: 'member',
    admin: 'admin',
    close: 'Close',
    tooLong: 'Too long for a QR code; copy the text instead.'
  },
  zh: {
    title: '邀请加入 {name}',
    invite: '邀请文本',
    copy: '复制邀请',
    copied: '已复制',
    qr: '邀请的二维码',
    hint: '把文本发给（或把二维码出示给）受邀人，对方在“加入群组”中粘贴即可。7 天内有效。',
    role: '加入身份',
    member: '成员',
    admin: '管理员',
    close: '关闭',
    tooLong: '内容过长，无法生成二维码；请复制文本。'
  }
})

/** The invite as text with a copy button, and as a QR code drawn here (nothing leaves the page). */
export function InviteView ({ invite }: { invite: string }) {
  const [svg, setSvg] = useState<string | null>(null)
  const [failed, setFailed] = useState(false)
  const [copied, setCopied] = useState(false)
  useEffect(() => {
    let live = true
    setSvg(null)
    setFailed(false)
    QRCode.toString(invite, { type: 'svg', errorCorrectionLevel: 'L', margin: 1 })
      .then(s => { if (live) setSvg(s) }, () => { if (live) setFailed(true) })
    return () => { live = false }
  }, [invite])
  const copy = async (): Promise<void> => {
    try {
      await navigator.clipboard.writeText(invite)
    } catch {
      // Without clipboard permission, select the text so Ctrl+C copies it.
      const area = document.querySelector<HTMLTextAreaElement>('.invite-text')
      area?.select()
      document.execCommand('copy')
    }
    setCopied(true)
    setTimeout(() => { setCopied(false) }, 2000)
  }
  return (
    <>
      {svg != null && <div class="qr" role="img" aria-label={t('qr')} dangerouslySetInnerHTML={{ __html: svg }} />}
      {failed && <p class="hint">{t('tooLong')}</p>}
      <label>{t('invite')}<textarea class="invite-text" readOnly value={invite} onFocus={e => { e.currentTarget.select() }} /></label>
      <div class="copy-row">
        <button class="button" onClick={() => { copy().catch(console.error) }}>{t('copy')}</button>
        <span class="copied" role="status">{copied ? t('copied') : ''}</span>
      </div>
      <p class="hint">{t('hint')}</p>
    </>
  )
}

/** Fetches a fresh invite for the group (as member or admin) and shows it. */
export function InviteDialog ({ groupId, name, onClose, canInviteAdmins }: { groupId: string, name: string, onClose: () => void, canInviteAdmins: boolean }) {
  const [role, setRole] = useState<'member' | 'admin'>('member')
  const [invite, setInvite] = useState<string | null>(null)
  const [error, setError] = useState<string | null>(null)
  useEffect(() => {
    api<{ invite: string }>('GET', `/v1/groups/${groupId}/invite?role=${role}`).then(r => { setInvite(r.invite) }, err => { setError((err as Error).message) })
  }, [groupId, role])
  return (
    <Dialog title={t('title', { name })} onClose={onClose} wide>
      {canInviteAdmins && (
        <label>{t('role')}
          <select value={role} onChange={e => { setRole(e.currentTarget.value as 'member' | 'admin') }}>
            <option value="member">{t('member')}</option>
            <option value="admin">{t('admin')}</option>
          </select>
        </label>
      )}
      {invite != null && <InviteView invite={invite} />}
      {error != null && <p class="error" role="alert">{error}</p>}
      <div class="dialog-actions"><button class="button secondary" onClick={onClose}>{t('close')}</button></div>
    </Dialog>
  )
}
