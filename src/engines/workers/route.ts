/**
 * The workers engine's routes. Nothing is served here yet: every path answers 404 until the engine's issue lands,
 * so no request can reach the upstream unguarded.
 */
import { Hono } from "hono";
import type { AppEnv } from "../../context";

export function workersRoutes(): Hono<AppEnv> {
  return new Hono<AppEnv>();
}
