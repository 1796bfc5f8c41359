/** Offers `content` as a file download (made here: the page never leaves 127.0.0.1). */
export function download (name: string, content: string, mime: string): void {
  const url = URL.createObjectURL(new Blob([content], { type: mime }))
  const a = document.createElement('a')
  a.href = url
  a.download = name
  document.body.append(a)
  a.click()
  a.remove()
  setTimeout(() => { URL.revokeObjectURL(url) }, 10_000)
}

/** A file name made from a group's name. */
export function fileSafe (name: string): string {
  return name.replace(/[\\/:*?"<>|\s]+/g, '-').slice(0, 60) || 'group'
}
