import { useState } from 'preact/hooks'
import { api, ApiError } from '../api.js'
import { strings } from '../i18n.js'
import { events, refresh, session } from '../state.js'

const t = strings({
  en: {
    title: 'Unlock Outpost',
    explain: 'This node keeps its data encrypted. Enter the passphrase to start it.',
    passphrase: 'Passphrase',
    unlock: 'Unlock',
    starting: 'Starting the node…',
    wrong: 'That passphrase does not unlock this data directory.'
  },
  zh: {
    title: '解锁 Outpost',
    explain: '本节点的数据已加密。请输入口令以启动节点。',
    passphrase: '口令',
    unlock: '解锁',
    starting: '正在启动节点…',
    wrong: '该口令无法解锁此数据目录。'
  }
})

/** The first screen when the node waits for its data directory's passphrase (`start --unlock-in-browser`). */
export function Unlock () {
  const [passphrase, setPassphrase] = useState('')
  const [state, setState] = useState<'idle' | 'busy' | 'starting'>('idle')
  const [error, setError] = useState<string | null>(null)

  const submit = async (): Promise<void> => {
    setState('busy')
    setError(null)
    try {
      await api('POST', '/v1/unlock', { passphrase })
    } catch (err) {
      setState('idle')
      setError(err instanceof ApiError && err.status === 403 ? t('wrong') : (err as Error).message)
      return
    }
    setPassphrase('')
    setState('starting')
    // The node now opens its data and takes over the same address: wait for it.
    for (let i = 0; i < 120 && session.value === 'locked'; i++) {
      await new Promise(resolve => setTimeout(resolve, 500))
      await refresh().catch(() => {})
    }
    if (session.value === 'signed-in') events.start()
  }

  return (
    <div class="splash">
      <form class="unlock" onSubmit={e => { e.preventDefault(); submit().catch(console.error) }}>
        <h1>{t('title')}</h1>
        <p>{t('explain')}</p>
        <label>
          {t('passphrase')}
          <input type="password" autoFocus autoComplete="current-password" value={passphrase} disabled={state !== 'idle'} onInput={e => { setPassphrase(e.currentTarget.value) }} />
        </label>
        {error != null && <p class="error" role="alert">{error}</p>}
        <button class="button" type="submit" disabled={state !== 'idle' || passphrase === ''}>{state === 'starting' ? t('starting') : t('unlock')}</button>
      </form>
    </div>
  )
}
