/**
 * Builds the operator console (console/src, Preact) into console/dist, the Workers static-assets directory that
 * wrangler.toml declares: /console/console.js (bundled and minified by esbuild), index.html and the stylesheet. Their
 * security headers (CSP and friends) are the Worker's to set (src/console.ts). Run by `npm start`, `npm test` and a
 * deploy.
 */
import { build } from "esbuild";
import { copyFileSync, mkdirSync, rmSync } from "node:fs";

const ROOT = new URL("../", import.meta.url).pathname;
const out = `${ROOT}console/dist`;

rmSync(out, { recursive: true, force: true });
mkdirSync(`${out}/console`, { recursive: true });
await build({
  entryPoints: [`${ROOT}console/src/main.tsx`],
  bundle: true,
  minify: true,
  format: "esm",
  target: "es2022",
  jsx: "automatic",
  jsxImportSource: "preact",
  outfile: `${out}/console/console.js`,
  logLevel: "warning",
  legalComments: "none",
});
copyFileSync(`${ROOT}console/src/index.html`, `${out}/console/index.html`);
copyFileSync(`${ROOT}console/src/console.css`, `${out}/console/console.css`);
