/// <reference types="vitest/config" />
import { defineConfig } from 'vite';
import preact from '@preact/preset-vite';
import { VitePWA } from 'vite-plugin-pwa';

// `pos serve` serves dist/ with an index.html fallback; the API is on the same origin.
export default defineConfig({
  plugins: [
    preact(),
    VitePWA({
      registerType: 'autoUpdate',
      injectRegister: false, // registered in src/pwa.ts, after first paint
      manifest: {
        name: 'pos',
        short_name: 'pos',
        description: 'Point of sale, kitchen display and order board',
        start_url: '/',
        display: 'fullscreen',
        background_color: '#111827',
        theme_color: '#111827',
        icons: [{ src: '/icon.svg', sizes: 'any', type: 'image/svg+xml', purpose: 'any' }],
      },
      workbox: {
        // The app shell: every built file, so a terminal reloading during an outage opens.
        globPatterns: ['**/*.{js,css,html,svg,webmanifest}'],
        navigateFallback: '/index.html',
        navigateFallbackDenylist: [/^\/api\//, /^\/pos-images\//],
        clientsClaim: true,
        skipWaiting: true,
        runtimeCaching: [
          {
            // The menu and the floor: fresh when the server answers, the last copy when not.
            urlPattern: ({ url }) => url.pathname === '/api/menu' || url.pathname === '/api/tables',
            handler: 'NetworkFirst',
            options: { cacheName: 'pos-menu', networkTimeoutSeconds: 4, expiration: { maxEntries: 8 } },
          },
          {
            urlPattern: ({ url }) => url.pathname.startsWith('/pos-images/'),
            handler: 'CacheFirst',
            options: { cacheName: 'pos-images', expiration: { maxEntries: 400, maxAgeSeconds: 7 * 24 * 3600 } },
          },
        ],
      },
    }),
  ],
  build: { outDir: 'dist', emptyOutDir: true, target: 'es2022' },
  server: { proxy: { '/api': 'http://127.0.0.1:3000', '/pos-images': 'http://127.0.0.1:3000' } },
  test: {
    environment: 'happy-dom',
    environmentOptions: { happyDOM: { url: 'http://127.0.0.1:3000/' } },
    include: ['src/**/*.test.{ts,tsx}'],
  },
});
