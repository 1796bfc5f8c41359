import { logger } from '@libp2p/logger'
import { MAX_THUMBNAIL_BYTES } from '../../crdt/index.js'

const log = logger('outpost:files:thumbnail')

/** Images larger than this are not decoded for a thumbnail (memory). */
export const MAX_THUMBNAIL_SOURCE_BYTES = 64 * 1024 * 1024
/** Types sharp (libvips) decodes. */
const DECODABLE = new Set(['image/jpeg', 'image/png', 'image/gif', 'image/webp', 'image/avif', 'image/tiff', 'image/svg+xml', 'image/heic'])

export interface Thumbnail { mime: string, width: number, height: number, data: Buffer }

export const canThumbnail = (mime: string, size: number): boolean => DECODABLE.has(mime) && size <= MAX_THUMBNAIL_SOURCE_BYTES

/**
 * A small WebP preview (at most 320 pixels on the long side) that rides inside the post, so
 * members see the picture before they fetch the file. Smaller and rougher until it fits
 * MAX_THUMBNAIL_BYTES; undefined when the image does not decode.
 */
export async function makeThumbnail (image: Buffer): Promise<Thumbnail | undefined> {
  // Loaded on first use: nodes that never see an image never load libvips.
  const { default: sharp } = await import('sharp')
  for (const [side, quality] of [[320, 70], [240, 50], [160, 40], [96, 30]] as const) {
    try {
      const { data, info } = await sharp(image, { failOn: 'none', limitInputPixels: 100_000_000 })
        .rotate()
        .resize(side, side, { fit: 'inside', withoutEnlargement: true })
        .webp({ quality })
        .toBuffer({ resolveWithObject: true })
      if (data.length <= MAX_THUMBNAIL_BYTES) return { mime: 'image/webp', width: info.width, height: info.height, data }
    } catch (err) {
      log('no thumbnail: %s', (err as Error).message)
      return undefined
    }
  }
  return undefined
}
