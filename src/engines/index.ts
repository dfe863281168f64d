/**
 * The engine registry: every engine the gateway serves, one entry per mount, in the order src/app.ts mounts them.
 * An engine is one folder (src/engines/<name>/: its routes, policy, configuration piece, admin routes, storage
 * helpers) whose index.ts describes it as an Engine (src/engine.ts); adding one is that folder and a line here
 * (README.md, "Adding an engine"). Only the composition root (src/app.ts) imports this list; shared code receives
 * the hooks it needs from there and never imports an engine's files (.dependency-cruiser.cjs checks it).
 */
import type { Engine } from "../engine";
import { argo } from "./argo";
import { conductor, conductorWorkers } from "./conductor";
import { flowapi } from "./flowapi";
import { prefect } from "./prefect";

export const engines: readonly Engine[] = [prefect, conductor, conductorWorkers, argo, flowapi];
