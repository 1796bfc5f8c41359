import { fileURLToPath } from 'node:url'
import { defineConfig } from 'vite'

// The UI is built into dist/ui beside the node's own build; the node serves it on 127.0.0.1.
// Nothing is fetched at run time: every asset (icons, emoji, fonts) is in the bundle.
export default defineConfig({
  root: fileURLToPath(new URL('.', import.meta.url)),
  base: '/',
  build: {
    outDir: fileURLToPath(new URL('../dist/ui', import.meta.url)),
    emptyOutDir: true,
    assetsInlineLimit: 0,
    sourcemap: true,
    target: 'es2022'
  },
  oxc: {
    jsx: { runtime: 'automatic', importSource: 'preact' }
  }
})
