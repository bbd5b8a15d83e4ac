import { sveltekit } from '@sveltejs/kit/vite';
import { defineConfig } from 'vite';

// @temporalio/ui reads VITE_API at build time; empty means "same origin, /api/v1".
process.env.VITE_API = '';

export default defineConfig({
  plugins: [sveltekit()],
  optimizeDeps: { include: ['date-fns', 'date-fns-tz'] },
  build: { chunkSizeWarningLimit: 8000, reportCompressedSize: false },
  logLevel: 'warn',
});
