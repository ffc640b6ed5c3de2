// The build tests/test_vite.py reads and tests/e2e/test_vite.py serves with Flask.
// Built by tests/vite_build.py into a temporary folder (`vite build --outDir ...`).
import { defineConfig } from "vite";

export default defineConfig({
  // Relative URLs between the built files: chunks and fonts are found from wherever
  // the folder is served (a script root, a CDN), so Flask decides the prefix.
  base: "./",
  build: {
    manifest: true,
    rollupOptions: {
      input: ["src/main.ts", "src/admin.ts"],
    },
  },
});
