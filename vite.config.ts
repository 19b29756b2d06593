import { fileURLToPath } from 'node:url';
import react from '@vitejs/plugin-react';
import { defineConfig, type Plugin } from 'vite';

/**
 * Module scripts loaded from file:// (the Electron window) fail a CORS check when they carry
 * `crossorigin`; the browser build is same-origin, so the attribute buys nothing there either.
 */
function withoutCrossorigin(): Plugin {
  return {
    name: 'llmeter:without-crossorigin',
    enforce: 'post',
    transformIndexHtml: (html) => html.replace(/\s+crossorigin(?=[\s>])/g, ''),
  };
}

// One build for both hosts: relative asset URLs (base './') load from file:// in Electron and
// from `/` of the headless server alike.
export default defineConfig({
  root: fileURLToPath(new URL('./renderer', import.meta.url)),
  base: './',
  plugins: [react(), withoutCrossorigin()],
  build: {
    outDir: fileURLToPath(new URL('./dist/renderer', import.meta.url)),
    emptyOutDir: true,
    target: 'es2022',
  },
});
