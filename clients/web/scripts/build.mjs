// Bundle the client with esbuild into dist/: app.js (ES module), captcha-worker.js (classic worker),
// app.css, and the static files from public/. No inline script or style anywhere (strict CSP).
import { build } from "esbuild";
import { cpSync, mkdirSync, rmSync } from "node:fs";

const dist = new URL("../dist/", import.meta.url).pathname;
rmSync(dist, { recursive: true, force: true });
mkdirSync(dist, { recursive: true });

const common = { bundle: true, minify: true, target: "es2022", legalComments: "none", logLevel: "warning" };
await build({ ...common, entryPoints: { app: "src/main.ts" }, format: "esm", outdir: dist });
await build({ ...common, entryPoints: { "captcha-worker": "src/captcha-worker.ts" }, format: "iife", outdir: dist });
await build({ ...common, entryPoints: { app: "src/styles.css" }, outdir: dist });
cpSync(new URL("../public/", import.meta.url).pathname, dist, { recursive: true });
console.log(`built ${dist}`);
