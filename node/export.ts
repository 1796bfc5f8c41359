import type { FileSummary, HistoryEntry, MemberSummary } from './node-types.js'

/**
 * A group's history written for people and records systems, readable without Outpost:
 * JSON (one document) or a single self-contained HTML page (no scripts, no external
 * resources). Deleted messages keep their place, marked, without their text.
 */
export interface GroupExport {
  format: 'outpost-export/1'
  group: { groupId: string, name: string }
  exportedAt: string
  exportedBy: { peerId: string, name: string }
  members: MemberSummary[]
  messages: ExportedMessage[]
}

/**
 * A message as exported: its file, if any, says where the export put it (`path`, relative
 * to the export) or that this node did not hold it when the export was made.
 */
export type ExportedMessage = Omit<HistoryEntry, 'file'> & { file?: FileSummary & { path?: string } }

/** Where an export's files go, relative to it: "<dir>/<first 12 of the id>-<name, made safe>". */
export function exportedFilePath (dir: string, file: { id: string, name: string }): string {
  return `${dir}/${file.id.slice(0, 12)}-${file.name.replace(/[^\p{L}\p{N}._ -]/gu, '_')}`
}

export type ExportFormat = 'json' | 'html'

export function isExportFormat (value: unknown): value is ExportFormat {
  return value === 'json' || value === 'html'
}

const escape = (text: string): string => text.replace(/[&<>"']/g, c => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] as string)

function when (ms: number): string {
  return new Date(ms).toISOString().replace('T', ' ').slice(0, 19) + ' UTC'
}

function fileHtml (f: FileSummary & { path?: string }, thumbnail: string | undefined): string {
  const label = `${escape(f.name)} (${f.size.toLocaleString('en')} bytes, ${escape(f.mime)})`
  const preview = thumbnail != null ? `<img alt="${escape(f.name)}" src="${thumbnail}" width="${f.thumbnail?.width ?? ''}" height="${f.thumbnail?.height ?? ''}"><br>` : ''
  const body = f.path != null ? `<a href="${escape(encodeURI(f.path))}">${preview}${label}</a>` : `${preview}${label} — <i>not on the exporting node</i>`
  return `<p class="file">📎 ${body}<br><small>SHA-256 <code>${escape(f.sha256)}</code></small></p>`
}

export function exportJson (data: GroupExport): string {
  return JSON.stringify(data, null, 2) + '\n'
}

/** `thumbnails`: fileId -> a data: URI of the image's preview, shown inline (the page stays one file). */
export function exportHtml (data: GroupExport, thumbnails: ReadonlyMap<string, string> = new Map()): string {
  const names = new Map(data.members.map(m => [m.peerId, m.name ?? m.peerId]))
  const byId = new Map(data.messages.map(m => [m.id, m]))
  let day = ''
  const rows: string[] = []
  for (const m of data.messages) {
    const d = new Date(m.ts).toISOString().slice(0, 10)
    if (d !== day) {
      day = d
      rows.push(`<h2>${d}</h2>`)
    }
    const parent = m.replyTo != null ? byId.get(m.replyTo) : undefined
    const marks = [
      m.edits > 0 ? `edited ${m.edits}×` : '',
      m.pinned ? 'pinned' : '',
      ...Object.entries(m.reactions).map(([emoji, by]) => `${emoji} ${by.map(p => names.get(p) ?? p).join(', ')}`)
    ].filter(x => x !== '')
    rows.push([
      `<article id="m${m.id}" class="${m.deleted ? 'deleted' : ''}${m.replyTo != null ? ' reply' : ''}">`,
      `<header><b>${escape(m.authorName !== '' ? m.authorName : names.get(m.author) ?? m.author)}</b> <time datetime="${new Date(m.ts).toISOString()}">${when(m.ts)}</time></header>`,
      parent != null ? `<p class="ctx">↳ in reply to <a href="#m${parent.id}">${escape(parent.deleted ? '(deleted)' : parent.text.slice(0, 80))}</a></p>` : '',
      m.deleted ? '<p><i>(message deleted)</i></p>' : m.text !== '' ? `<p>${escape(m.text).replace(/\n/g, '<br>')}</p>` : '',
      m.file != null ? fileHtml(m.file, thumbnails.get(m.file.id)) : '',
      marks.length > 0 ? `<footer>${escape(marks.join(' · '))}</footer>` : '',
      '</article>'
    ].join(''))
  }
  const members = data.members.map(m => `<li>${escape(m.name ?? '?')} — ${escape(m.role)} — <code>${escape(m.peerId)}</code> — safety number <code>${escape(m.safetyNumber)}</code></li>`).join('')
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width">
<title>${escape(data.group.name)} — Outpost export</title>
<style>body{font:15px/1.45 system-ui,sans-serif;max-width:48rem;margin:2rem auto;padding:0 1rem;color:#1b1b1b}
article{border-left:3px solid #d8dde3;padding:.2rem .8rem;margin:.6rem 0}article.reply{margin-left:1.5rem}
article.deleted{color:#777}header time{color:#666;font-size:.85em}footer{color:#555;font-size:.85em}
.ctx{color:#666;font-size:.85em;margin:.1rem 0}h2{font-size:1rem;color:#444;border-bottom:1px solid #eee}</style></head>
<body><h1>${escape(data.group.name)}</h1>
<p>Group <code>${escape(data.group.groupId)}</code>, exported ${when(Date.parse(data.exportedAt))} by ${escape(data.exportedBy.name)} (<code>${escape(data.exportedBy.peerId)}</code>), ${data.messages.length} messages.</p>
<details><summary>${data.members.length} members</summary><ul>${members}</ul></details>
${rows.join('\n')}
</body></html>
`
}
