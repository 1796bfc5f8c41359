import { useEffect, useRef, useState } from 'preact/hooks'
import { api, type Message } from '../api.js'
import { formatDay, formatTime, strings } from '../i18n.js'
import { focusMessage, groups, selectedGroup } from '../state.js'
import { highlight } from './highlight.js'
import './search.css'

const t = strings({
  en: {
    title: 'Search',
    query: 'Search messages',
    search: 'Search',
    group: 'Group',
    anyGroup: 'All groups',
    author: 'Author (name or peer id)',
    since: 'From date',
    until: 'To date',
    hasFile: 'Only messages with a file',
    none: 'No messages found.',
    count: '{n} results',
    one: '1 result',
    open: 'Open in {group}: {author}, {text}'
  },
  zh: {
    title: '搜索',
    query: '搜索消息',
    search: '搜索',
    group: '群组',
    anyGroup: '全部群组',
    author: '发送者（名称或节点 ID）',
    since: '起始日期',
    until: '截止日期',
    hasFile: '仅含文件的消息',
    none: '没有找到消息。',
    count: '{n} 条结果',
    one: '1 条结果',
    open: '在 {group} 中打开：{author}，{text}'
  }
})

export interface SearchResult { groupId: string, groupName: string, message: Message, score: number, snippet: string }

/** The start of a local day given as YYYY-MM-DD, in ms; the end when `end`. */
function dayMs (value: string, end: boolean): number | undefined {
  if (value === '') return undefined
  const [y, m, d] = value.split('-').map(Number)
  const ms = end ? new Date(y, m - 1, d + 1).getTime() - 1 : new Date(y, m - 1, d).getTime()
  return Number.isFinite(ms) ? ms : undefined
}

/** Opens the conversation at the message: the conversation view loads around it. */
export function openResult (r: SearchResult): void {
  selectedGroup.value = r.groupId
  focusMessage.value = { groupId: r.groupId, messageId: r.message.id }
}

/** Full-text search over every group, with filters; a result opens the conversation there. */
export function SearchPanel () {
  const [q, setQ] = useState('')
  const [group, setGroup] = useState('')
  const [from, setFrom] = useState('')
  const [since, setSince] = useState('')
  const [until, setUntil] = useState('')
  const [hasFile, setHasFile] = useState(false)
  const [results, setResults] = useState<SearchResult[] | null>(null)
  const [asked, setAsked] = useState('')
  const [error, setError] = useState<string | null>(null)
  const input = useRef<HTMLInputElement>(null)
  useEffect(() => { input.current?.focus() }, [])

  const run = async (): Promise<void> => {
    const query = q.trim()
    if (query === '') return
    const params = new URLSearchParams({ q: query, limit: '50' })
    if (group !== '') params.set('group', group)
    if (from.trim() !== '') params.set('from', from.trim())
    const s = dayMs(since, false)
    const u = dayMs(until, true)
    if (s != null) params.set('since', String(s))
    if (u != null) params.set('until', String(u))
    if (hasFile) params.set('hasFile', 'true')
    setError(null)
    try {
      setResults(await api<SearchResult[]>('GET', `/v1/search?${params.toString()}`))
      setAsked(query)
    } catch (err) {
      setError((err as Error).message)
      setResults(null)
    }
  }

  return (
    <div class="panel-body search-panel">
      <h2>{t('title')}</h2>
      <form class="search-form" role="search" onSubmit={e => { e.preventDefault(); run().catch(console.error) }}>
        <div class="search-query">
          <input ref={input} type="search" aria-label={t('query')} placeholder={t('query')} value={q} onInput={e => { setQ(e.currentTarget.value) }} />
          <button class="button" type="submit">{t('search')}</button>
        </div>
        <div class="search-filters">
          <label>{t('group')}
            <select value={group} onChange={e => { setGroup(e.currentTarget.value) }}>
              <option value="">{t('anyGroup')}</option>
              {groups.value.map(g => <option key={g.groupId} value={g.groupId}>{g.name}</option>)}
            </select>
          </label>
          <label>{t('author')}<input value={from} onInput={e => { setFrom(e.currentTarget.value) }} /></label>
          <label>{t('since')}<input type="date" value={since} onInput={e => { setSince(e.currentTarget.value) }} /></label>
          <label>{t('until')}<input type="date" value={until} onInput={e => { setUntil(e.currentTarget.value) }} /></label>
          <label class="check"><input type="checkbox" checked={hasFile} onChange={e => { setHasFile(e.currentTarget.checked) }} />{t('hasFile')}</label>
        </div>
      </form>
      {error != null && <p class="error" role="alert">{error}</p>}
      {results != null && <p class="hint" role="status">{results.length === 0 ? t('none') : results.length === 1 ? t('one') : t('count', { n: results.length })}</p>}
      {results != null && results.length > 0 && (
        <ul class="results" aria-label={t('title')}>
          {results.map(r => (
            <li key={r.message.id}>
              <button class="result" data-result={r.message.id} aria-label={t('open', { group: r.groupName, author: r.message.authorName, text: r.snippet })}
                onClick={() => { openResult(r) }}>
                <span class="result-meta">
                  <span class="result-group">{r.groupName}</span>
                  <span>{r.message.authorName}</span>
                  <time dateTime={new Date(r.message.ts).toISOString()}>{formatDay(r.message.ts)} {formatTime(r.message.ts)}</time>
                </span>
                <span class="result-text">{highlight(r.snippet, asked)}</span>
              </button>
            </li>
          ))}
        </ul>
      )}
    </div>
  )
}
