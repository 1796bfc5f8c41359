import type { ChatMessage, FileRef } from '../../crdt/index.js'

/** A message that carries a file. */
export interface FileMention { groupId: string, messageId: string, file: FileRef }

/**
 * Which messages carry which file, across every group this node holds. A file is kept
 * while at least one of them is; several may name one file (a file forwarded, or a false
 * description by a member: see FileService's verification).
 */
export class FileCatalog {
  /** fileId -> the messages that carry it, by "group/message" */
  private readonly mentions = new Map<string, Map<string, FileMention>>()
  private readonly fileOfMessage = new Map<string, string>()

  /**
   * Takes in a message as it is now. Answers the id of a file that no message names any
   * more (this one was deleted, or lost its file), else undefined.
   */
  note (groupId: string, m: ChatMessage): string | undefined {
    if (m.file == null || m.deleted) return this.drop(groupId, m.id)
    const key = `${groupId}/${m.id}`
    if (this.fileOfMessage.get(key) === m.file.id) return undefined
    this.fileOfMessage.set(key, m.file.id)
    let mentions = this.mentions.get(m.file.id)
    if (mentions == null) this.mentions.set(m.file.id, mentions = new Map())
    mentions.set(key, { groupId, messageId: m.id, file: m.file })
    return undefined
  }

  /** A message is gone; answers the id of its file if no other message names it now. */
  drop (groupId: string, messageId: string): string | undefined {
    const key = `${groupId}/${messageId}`
    const fileId = this.fileOfMessage.get(key)
    if (fileId == null) return undefined
    this.fileOfMessage.delete(key)
    const mentions = this.mentions.get(fileId)
    mentions?.delete(key)
    if (mentions != null && mentions.size > 0) return undefined
    this.mentions.delete(fileId)
    return fileId
  }

  has (fileId: string): boolean {
    return this.mentions.has(fileId)
  }

  /** The messages that carry a file, the first known first. */
  of (fileId: string): FileMention[] {
    return [...this.mentions.get(fileId)?.values() ?? []]
  }

  /** The files named in a group (or in any group). */
  fileIds (groupId?: string): string[] {
    return [...this.mentions].filter(([, m]) => groupId == null || [...m.values()].some(x => x.groupId === groupId)).map(([id]) => id)
  }
}
