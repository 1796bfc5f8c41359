import { strings } from '../i18n.js'
import { groups, me, selectedGroup } from '../state.js'

const t = strings({
  en: { groups: 'Groups' },
  zh: { groups: '群组' }
})

/** The list of conversations. */
export function Sidebar () {
  return (
    <nav class="sidebar" aria-label={t('groups')}>
      <div class="me">{me.value?.name}</div>
      <h2>{t('groups')}</h2>
      <ul class="group-list">
        {groups.value.map(g => (
          <li key={g.groupId}>
            <button class={g.groupId === selectedGroup.value ? 'group selected' : 'group'} aria-current={g.groupId === selectedGroup.value} onClick={() => { selectedGroup.value = g.groupId }}>
              {g.name}
            </button>
          </li>
        ))}
      </ul>
    </nav>
  )
}
