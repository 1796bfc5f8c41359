/**
 * The last step of `npm run build`: bundles the compiled CLI (dist/node/cli/main.js) and
 * the signature worker into dist/node/bundled/, which `npm start`, `npx outpost` and the
 * lab run. Loading the ~1,000 separate modules of the daemon and its libp2p stack took
 * 0.5-0.7 s of every start on these machines; the bundle loads in about 0.15 s (Node 20 has
 * no module compile cache to do it for us).
 *
 * The bundle sits two folders below the repository root, as every compiled module does,
 * so the paths the code builds from `import.meta.url` (the UI in dist/ui, the shipped lab
 * scenarios, the worker beside its pool) resolve the same from both. Native packages stay
 * outside it and load from node_modules.
 */
import { chmod, rm } from 'node:fs/promises'
import { fileURLToPath } from 'node:url'
import { build } from 'rolldown'

const dist = (path: string): string => fileURLToPath(new URL(`../../${path}`, import.meta.url))

async function main (): Promise<void> {
  // chunk names carry a hash: clear the last build's
  await rm(dist('node/bundled'), { recursive: true, force: true })
  await build({
    input: {
      outpost: dist('node/cli/main.js'),
      // verify-pool.ts starts it as new URL('./verify-worker.js', import.meta.url)
      'verify-worker': dist('node/trust/verify-worker.js')
    },
    platform: 'node',
    // native addons, loaded by their own packages from node_modules
    external: [/^classic-level(\/|$)/, /^sharp(\/|$)/, /^node:/],
    output: {
      dir: dist('node/bundled'),
      format: 'esm',
      entryFileNames: '[name].js',
      chunkFileNames: '[name]-[hash].js',
      sourcemap: true
    },
    logLevel: 'warn'
  })
  await chmod(dist('node/bundled/outpost.js'), 0o755)
}

main().catch((err: unknown) => {
  console.error('bundle:', err instanceof Error ? err.message : err)
  process.exit(1)
})
