/**
 * The engines' configuration pieces, for src/config.ts to compose with the shared one. A list of its own, beside
 * the registry (./index.ts), because the configuration is read below the routes: the routes import the pipeline,
 * which parses the configuration, so a configuration that imported the registry would import itself back. Each
 * piece imports only src/configFields.ts; test/unit/registry.test.ts holds this list and the registry's together.
 */
import { argoConfig } from "./argo/config";
import { conductorConfig } from "./conductor/config";
import { flowapiConfig } from "./flowapi/config";
import { prefectConfig } from "./prefect/config";

export const ENGINE_CONFIGS = [prefectConfig, conductorConfig, argoConfig, flowapiConfig] as const;
