/**
 * The import rules of src/ (README.md, "Layout"), checked by `npm run lint:deps` (part of `npm test` and CI).
 *
 * Type-only imports (`import type`) count like any other: they are erased from the Worker, but they still tie one
 * module to another's shape, so an engine's types are as private to it as its code.
 *
 * - Engines: src/engines/<name>/ holds all of one engine. The registry (src/engines/index.ts) lists them, with
 *   their hooks and configuration pieces: it is the only way in from outside.
 * - Shared code: everything else under src/. It may use the registry, never an engine's files; the engines reach
 *   shared code through what it exports (the Engine contract in src/engine.ts, the pipeline, the config...).
 */
/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: "no-circular",
      severity: "error",
      comment: "Modules that import each other, directly or through others: layers must point one way.",
      from: {},
      to: { circular: true },
    },
    {
      name: "no-engine-to-engine",
      severity: "error",
      comment: "An engine imports no other engine (nor the registry, which imports every engine): what two share belongs to shared code.",
      from: { path: "^src/engines/([^/]+)/" },
      to: { path: "^src/engines/", pathNot: "^src/engines/$1/" },
    },
    {
      name: "no-shared-to-engine",
      severity: "error",
      comment: "Shared code imports no engine's file: an engine hands it hooks through the registry (src/engines/index.ts).",
      from: { path: "^src/", pathNot: "^src/engines/" },
      to: { path: "^src/engines/", pathNot: "^src/engines/index\\.ts$" },
    },
    {
      name: "no-store-to-identity",
      severity: "error",
      comment: "store sits below identity: identity reaches the database through store, never the other way round (shared words live in src/formats/).",
      from: { path: "^src/store/" },
      to: { path: "^src/identity/" },
    },
    {
      name: "not-to-unresolvable",
      severity: "error",
      comment: "An import that resolves to no file and no installed package.",
      from: {},
      to: { couldNotResolve: true, pathNot: "^cloudflare:" },
    },
    {
      name: "no-non-package-json",
      severity: "error",
      comment: "A package the Worker uses must be in package.json's dependencies (a devDependency is not deployed with it).",
      from: { path: "^src/" },
      to: { dependencyTypes: ["npm-no-pkg", "npm-unknown", "npm-dev"] },
    },
    {
      name: "no-orphans",
      severity: "error",
      comment: "A module nothing imports is dead code (src/index.ts is the Worker's entry; .d.ts files declare ambient types).",
      from: { orphan: true, pathNot: ["\\.d\\.ts$", "^src/index\\.ts$"] },
      to: {},
    },
  ],
  options: {
    // `import type` counts (see above).
    tsPreCompilationDeps: true,
    tsConfig: { fileName: "tsconfig.json" },
    doNotFollow: { path: "node_modules" },
    enhancedResolveOptions: { exportsFields: ["exports"], conditionNames: ["import", "require", "node", "default", "types"] },
    reporterOptions: { text: { highlightFocused: true } },
  },
};
