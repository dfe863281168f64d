/**
 * Builds the operator console (console/src, Preact) into console/dist, the Workers static-assets directory that
 * wrangler.toml declares: /console/console.js (bundled and minified by esbuild), index.html, the stylesheet, and
 * the `_headers` file the asset server applies (CSP and friends). Run by `npm start`, `npm test` and a deploy.
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
copyFileSync(`${ROOT}console/public/_headers`, `${out}/_headers`);
