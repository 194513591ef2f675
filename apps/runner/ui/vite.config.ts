import { defineConfig } from 'vite';

// Built by the runner's `build` script (run from apps/runner) into dist/ui, served by the API under /ui.
export default defineConfig({
  root: 'ui',
  base: '/ui/',
  publicDir: false,
  logLevel: 'warn',
  oxc: { jsx: { runtime: 'automatic', importSource: 'preact' } },
  build: {
    outDir: '../dist/ui',
    emptyOutDir: true,
    target: 'es2022',
    // Small enough to read in the browser's tools without a map, and nothing to serve beside it.
    sourcemap: false,
    reportCompressedSize: false,
  },
});
