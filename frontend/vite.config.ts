// Builds the single-page app into dist/, which the registry worker serves as
// static assets (wrangler.toml [assets]). `npm run dev` proxies the worker's
// routes to a running `make dev`.
import react from "@vitejs/plugin-react";
import { defineConfig } from "vitest/config";

const worker = process.env.TOLLGATE_URL ?? "http://localhost:8787";

export default defineConfig({
  plugins: [react()],
  build: { outDir: "dist", emptyOutDir: true, sourcemap: false },
  server: { proxy: { "/api": worker, "/v2": worker, "/token": worker } },
  test: {
    environment: "jsdom",
    globals: true,
    include: ["src/**/*.test.tsx", "src/**/*.test.ts"],
    setupFiles: ["src/test-setup.ts"],
  },
});
