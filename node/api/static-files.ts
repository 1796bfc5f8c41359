import { createReadStream } from 'node:fs'
import { stat } from 'node:fs/promises'
import type { ServerResponse } from 'node:http'
import { extname, join, normalize, sep } from 'node:path'
import { fileURLToPath } from 'node:url'

/** The built UI (`vite build ui`), beside the node's own build in dist/. */
export const UI_DIR = fileURLToPath(new URL('../../ui', import.meta.url))

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.woff2': 'font/woff2',
  '.woff': 'font/woff',
  '.json': 'application/json',
  '.map': 'application/json',
  '.ico': 'image/x-icon',
  '.webp': 'image/webp'
}

/**
 * Serves a file of the built UI; any path that is not a file gets index.html (the page
 * routes itself). Hashed assets are cached for good; index.html never is.
 */
export async function serveUi (pathname: string, res: ServerResponse, dir = UI_DIR): Promise<void> {
  let decoded: string
  try {
    decoded = decodeURIComponent(pathname)
  } catch {
    decoded = '/'
  }
  const wanted = normalize(join(dir, decoded))
  const index = join(dir, 'index.html')
  // A path outside the folder, or not a file there, is a page route: index.html.
  let file = wanted.startsWith(dir + sep) ? wanted : index
  let size = await fileSize(file)
  if (size == null && file !== index) size = await fileSize(file = index)
  if (size == null) {
    res.writeHead(503, { 'content-type': 'text/plain; charset=utf-8' })
    res.end('The UI is not built: run `npm run build` (npm install does it).\n')
    return
  }
  const immutable = file.includes(`${sep}assets${sep}`)
  res.writeHead(200, {
    'content-type': TYPES[extname(file)] ?? 'application/octet-stream',
    'content-length': size,
    'cache-control': immutable ? 'public, max-age=31536000, immutable' : 'no-store',
    'x-content-type-options': 'nosniff',
    'referrer-policy': 'no-referrer',
    'x-frame-options': 'DENY'
  })
  createReadStream(file).pipe(res)
}

/** The size of a regular file; undefined when there is none at `path`. */
async function fileSize (path: string): Promise<number | undefined> {
  try {
    const s = await stat(path)
    return s.isFile() ? s.size : undefined
  } catch {
    return undefined
  }
}
