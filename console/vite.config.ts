import { defineConfig } from "vite";
import react from "@vitejs/plugin-react";

// The bundle is served by `bihuan serve` at `/` (same origin as /api/v1). Relative asset
// URLs keep it working behind a reverse proxy under a sub-path. Routes are hash routes
// (#/inbox, #/cases/2026-000123), so the server needs no SPA fallback.
export default defineConfig({
  base: "./",
  plugins: [react()],
  build: {
    outDir: "dist",
    emptyOutDir: true,
    assetsDir: "assets",
    sourcemap: false,
    chunkSizeWarningLimit: 2000,
    target: "es2022",
  },
  server: {
    proxy: {
      "/api": "http://127.0.0.1:8000",
    },
  },
});
