/**
 * Files in conversations: sealed, content-addressed chunks kept on disk, served and fetched
 * over `/outpost/file/1` from every member that holds them. See file-service.ts.
 */
export { FileService, type FileServiceComponents, type FileServiceInit, type FileState, type FileStatus, type SendFileOptions } from './file-service.js'
export type { SourceStats } from './download.js'
export { mimeOf } from './mime.js'
export { CHUNK_STRIDE, CHUNKS_FILE } from './file-store.js'
