import { signal } from '@preact/signals'

export interface Upload { id: number, groupId: string, name: string, sent: number, size: number, error?: string }

/** Files being sent, with their progress (shown above the composer). */
export const uploads = signal<Upload[]>([])
let next = 1

function update (id: number, change: Partial<Upload>): void {
  uploads.value = uploads.value.map(u => u.id === id ? { ...u, ...change } : u)
}

/**
 * Sends each file into the group: its bytes are the body of POST /v1/groups/ID/files
 * (XMLHttpRequest, for upload progress); the node seals and stores it and posts the message.
 */
export function sendFiles (groupId: string, files: Iterable<File>, options: { replyTo?: string } = {}): void {
  for (const file of files) {
    const id = next++
    uploads.value = [...uploads.value, { id, groupId, name: file.name, sent: 0, size: file.size }]
    const query = new URLSearchParams({ name: file.name })
    if (options.replyTo != null) query.set('replyTo', options.replyTo)
    const xhr = new XMLHttpRequest()
    xhr.open('POST', `/v1/groups/${groupId}/files?${query.toString()}`)
    xhr.setRequestHeader('content-type', file.type !== '' ? file.type : 'application/octet-stream')
    xhr.upload.onprogress = e => { update(id, { sent: e.loaded }) }
    xhr.onload = () => {
      if (xhr.status === 201) {
        uploads.value = uploads.value.filter(u => u.id !== id)
        return
      }
      let message = `HTTP ${xhr.status}`
      try { message = JSON.parse(xhr.responseText).error.message } catch {}
      update(id, { error: message })
    }
    xhr.onerror = () => { update(id, { error: 'the node did not answer' }) }
    xhr.send(file)
  }
}

export function dismiss (id: number): void {
  uploads.value = uploads.value.filter(u => u.id !== id)
}
