import { InvalidRequestError } from '../errors.js'
import type { SearchResult } from '../search-service.js'
import { api, intOption, str, time, type Command } from './shared.js'

/** Full-text search (issue 4, item 5). */

/** A date (2024-05-01, or any form Date.parse reads) or ms since the epoch, in ms. */
function dateOption (value: unknown, name: string): number | undefined {
  const text = str(value)
  if (text == null) return undefined
  const ms = /^\d+$/.test(text) ? Number(text) : Date.parse(text)
  if (!Number.isSafeInteger(ms) || ms < 0) throw new InvalidRequestError(`--${name} takes a date like 2024-05-01 or ms since the epoch`)
  return ms
}

export const searchCommands: Record<string, Command> = {
  search: {
    usage: 'search QUERY [--group G] [--from PEER] [--since DATE] [--until DATE] [--has-file] [--limit N]',
    summary: 'search every conversation this node holds (English, Chinese, Japanese, ...), best matches first',
    options: ['group', 'from', 'since', 'until', 'has-file', 'limit'],
    args: 1,
    run: async ({ args, values, dataDir }) => {
      const query = new URLSearchParams({ q: args[0] })
      if (str(values.group) != null) query.set('group', str(values.group) as string)
      if (str(values.from) != null) query.set('from', str(values.from) as string)
      const since = dateOption(values.since, 'since')
      if (since != null) query.set('since', String(since))
      const until = dateOption(values.until, 'until')
      if (until != null) query.set('until', String(until))
      if (values['has-file'] === true) query.set('hasFile', 'true')
      const limit = intOption(values.limit, 'limit')
      if (limit != null) query.set('limit', String(limit))
      const results = await (await api(dataDir)).get<SearchResult[]>(`/v1/search?${query.toString()}`)
      const text = results.length === 0
        ? 'no messages found'
        : results.map(r => `[${time(r.message.ts)}] ${r.groupName} · ${r.message.authorName}: ${r.snippet}  (${r.groupId} ${r.message.id})`).join('\n')
      return { json: results, text }
    }
  }
}
