import { useEffect } from 'preact/hooks'
import { strings } from '../i18n.js'
import { panel } from '../state.js'
import { network, watchNetwork } from './network-state.js'
import './network.css'

const t = strings({
  en: {
    split: '{reachable} of {total} members reachable: messages from the others arrive when the network heals.',
    alone: 'No member reachable: you are cut off; messages are kept and sync when the network heals.',
    details: 'Details'
  },
  zh: {
    split: '{total} 名成员中 {reachable} 名可达：其余成员的消息将在网络恢复后送达。',
    alone: '没有可达的成员：本机已与团队断开；消息已保存，网络恢复后自动同步。',
    details: '详情'
  }
})

/**
 * Shown whenever some members of my groups cannot be reached, so that nobody mistakes a
 * partition for silence.
 */
export function PartitionBanner () {
  useEffect(() => { watchNetwork() }, [])
  const net = network.value
  if (net == null || net.total === 0 || net.reachable >= net.total) return null
  return (
    <div class="banner banner-partition" role="status" aria-live="polite" data-testid="partition-banner">
      <span>{net.reachable === 0 ? t('alone') : t('split', { reachable: net.reachable, total: net.total })}</span>
      <button onClick={() => { panel.value = { kind: 'network' } }}>{t('details')}</button>
    </div>
  )
}
