import { useEffect, useState } from 'preact/hooks'
import { api, type FileSummary } from '../api.js'
import { events } from '../state.js'
import { t } from './strings.js'

interface FileStatus { state: string, chunks?: { held: number, total: number }, error?: string }

export function formatSize (bytes: number): string {
  if (bytes < 1024) return `${bytes} B`
  const units = ['KiB', 'MiB', 'GiB', 'TiB']
  let n = bytes / 1024
  let i = 0
  while (n >= 1024 && i < units.length - 1) { n /= 1024; i++ }
  return `${n.toFixed(n < 10 ? 1 : 0)} ${units[i]}`
}

/**
 * A file in a message: its name, size and (for images) thumbnail, which travel with the
 * message; the file itself is fetched from the members that hold it when asked, with
 * progress, and saved once it is complete and verified.
 */
export function FileCard ({ file }: { file: FileSummary }) {
  const [status, setStatus] = useState<FileStatus | null>(null)
  const [wantSave, setWantSave] = useState(false)

  useEffect(() => events.on(e => {
    if (e.type === 'file' && e.fileId === file.id) setStatus(e as unknown as FileStatus)
  }), [file.id])

  useEffect(() => {
    if (!wantSave || status?.state !== 'complete') return
    setWantSave(false)
    const a = document.createElement('a')
    a.href = `/v1/files/${file.id}/content`
    a.download = file.name
    document.body.append(a)
    a.click()
    a.remove()
  }, [wantSave, status?.state])

  const download = async (): Promise<void> => {
    setWantSave(true)
    const now = await api<FileStatus>('GET', `/v1/files/${file.id}`)
    setStatus(now)
    if (now.state !== 'complete') setStatus(await api<FileStatus>('POST', `/v1/files/${file.id}/fetch`))
  }

  const pct = status?.chunks != null && status.chunks.total > 0 ? Math.floor(100 * status.chunks.held / status.chunks.total) : 0
  const busy = wantSave && status != null && status.state !== 'complete' && status.state !== 'failed'
  return (
    <div class="file-card">
      {file.thumbnail != null && (
        <img class="thumb" src={`/v1/files/${file.id}/thumbnail`} width={file.thumbnail.width} height={file.thumbnail.height} alt={file.name} loading="lazy" />
      )}
      <div class="file-line">
        <span class="file-icon" aria-hidden="true">{file.mime.startsWith('image/') ? '🖼' : '📄'}</span>
        <span class="file-name">{file.name}</span>
        <span class="file-size">{formatSize(file.size)}</span>
        <button class="button small" aria-label={`${t('download')} ${file.name}`} disabled={busy} onClick={() => { download().catch(console.error) }}>{t('download')}</button>
      </div>
      {busy && (
        <div class="progress" role="progressbar" aria-label={file.name} aria-valuemin={0} aria-valuemax={100} aria-valuenow={pct}>
          <div class="bar" style={{ width: `${pct}%` }} />
          <span>{status?.state === 'verifying' ? t('verifying') : t('fetching', { pct })}</span>
        </div>
      )}
      {status?.state === 'failed' && <p class="error" role="alert">{t('failed', { why: status.error ?? '' })}</p>}
    </div>
  )
}
