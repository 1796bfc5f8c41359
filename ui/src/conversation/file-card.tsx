import { useEffect, useRef, useState } from 'preact/hooks'
import { api, type FileSummary } from '../api.js'
import { strings } from '../i18n.js'
import { events } from '../state.js'
import { fileIcon, formatSize } from './format.js'

const t = strings({
  en: { download: 'Download', downloading: 'Downloading {name}', verifying: 'Checking…', waiting: 'Waiting for a member who has it…', failed: 'Download failed: {error}', preview: 'Preview of {name}', again: 'Download again' },
  zh: { download: '下载', downloading: '正在下载 {name}', verifying: '正在校验…', waiting: '正在等待持有该文件的成员…', failed: '下载失败：{error}', preview: '{name} 的预览', again: '重新下载' }
})

interface FileStatus { fileId: string, state: string, bytes?: { held: number, total: number }, error?: string }

function save (file: FileSummary): void {
  const a = document.createElement('a')
  a.href = `/v1/files/${file.id}/content`
  a.download = file.name
  a.style.display = 'none'
  document.body.append(a)
  a.click()
  a.remove()
}

/**
 * A file in a message: its type, name and size, the preview that rides in the post, and a
 * Download button. Downloading asks the node to fetch the file from the members who hold
 * it, follows the node's progress events, and saves the file once it is complete and checked.
 */
export function FileCard ({ file }: { file: FileSummary }) {
  const [status, setStatus] = useState<FileStatus | null>(null)
  const wanted = useRef(false)

  useEffect(() => {
    const off = events.on(e => {
      if (e.type !== 'file' || e.fileId !== file.id || !wanted.current) return
      const next = e as unknown as FileStatus
      setStatus(next)
      if (next.state === 'complete') { wanted.current = false; save(file) }
    })
    return off
  }, [file.id])

  // Events may be missed (a reconnecting socket): ask now and then while a download runs.
  useEffect(() => {
    if (status == null || status.state === 'complete' || status.state === 'failed') return
    const timer = setInterval(() => {
      api<FileStatus>('GET', `/v1/files/${file.id}`).then(s => {
        if (!wanted.current) return
        setStatus(s)
        if (s.state === 'complete') { wanted.current = false; save(file) }
      }, () => {})
    }, 1000)
    return () => { clearInterval(timer) }
  }, [status?.state, file.id])

  const download = async (): Promise<void> => {
    wanted.current = true
    const s = await api<FileStatus>('POST', `/v1/files/${file.id}/fetch`)
    if (!wanted.current) return
    setStatus(s)
    if (s.state === 'complete') { wanted.current = false; save(file) }
  }

  const busy = status != null && status.state !== 'complete' && status.state !== 'failed'
  const held = status?.bytes?.held ?? 0
  const total = status?.bytes?.total ?? file.size
  return (
    <div class="file-card">
      {file.thumbnail != null && (
        <img class="file-thumb" src={`/v1/files/${file.id}/thumbnail`} width={file.thumbnail.width} height={file.thumbnail.height}
          alt={t('preview', { name: file.name })} loading="lazy" />
      )}
      <div class="file-line">
        <span class="file-icon" aria-hidden="true">{fileIcon(file.mime)}</span>
        <span class="file-name">{file.name}</span>
        <span class="file-size">{formatSize(file.size)}</span>
        <button type="button" class="file-download" disabled={busy} onClick={() => { download().catch(err => { setStatus({ fileId: file.id, state: 'failed', error: String(err.message ?? err) }) }) }}>
          {status?.state === 'complete' ? t('again') : t('download')}
        </button>
      </div>
      {busy && (
        <div class="file-progress">
          <progress max={total} value={held} aria-label={t('downloading', { name: file.name })} />
          <span>{status.state === 'verifying' ? t('verifying') : status.state === 'waiting' ? t('waiting') : `${formatSize(held)} / ${formatSize(total)}`}</span>
        </div>
      )}
      {status?.state === 'failed' && <div class="file-error" role="alert">{t('failed', { error: status.error ?? '' })}</div>}
    </div>
  )
}
