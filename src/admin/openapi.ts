/**
 * The admin API's OpenAPI 3.1 document, generated from the zod schemas that validate its requests
 * (@asteasolutions/zod-to-openapi, the generator under @hono/zod-openapi). Every admin route is registered through
 * `AdminApi.route`, which registers the Hono handler and the document's operation together, so the two cannot
 * drift; test/admin/openapi.test.ts checks both ways against the routes Hono actually holds.
 *
 * Handlers keep reading bodies through `jsonBody` (bounded) and `parseOr400` (the one 400 shape): the schemas
 * here are the same objects, used for the document only.
 */
import { OpenAPIRegistry, OpenApiGeneratorV31 } from "@asteasolutions/zod-to-openapi";
import type { Handler, Hono, MiddlewareHandler } from "hono";
import { z } from "zod";
import type { AppContext, AppEnv } from "../context";

export type AdminMethod = "get" | "post" | "put" | "patch" | "delete";

export interface AdminOperation {
  method: AdminMethod;
  /** Below `/admin`, in Hono's syntax: `/keys/:id`. */
  path: string;
  summary: string;
  description?: string;
  tag: string;
  query?: z.ZodObject;
  body?: z.ZodType;
  /** Request body examples; each must validate against `body` (checked by the test suite). */
  examples?: Record<string, unknown>;
  responses: Record<number, { description: string; schema?: z.ZodType; ndjson?: z.ZodType }>;
  /** Who may call it, in words, when more than flowgate admins may. */
  access?: string;
}

export const ErrorEnvelope = z
  .object({ error: z.object({ code: z.string(), message: z.string(), requestId: z.string() }).catchall(z.unknown()) })
  .meta({ id: "ErrorEnvelope" });

const ERRORS = {
  400: { description: "invalid request: the fields and what is wrong with each", schema: ErrorEnvelope },
  401: { description: "no or bad credential", schema: ErrorEnvelope },
  403: { description: "credential fine, not an admin", schema: ErrorEnvelope },
} as const;

export class AdminApi {
  readonly registry = new OpenAPIRegistry();
  readonly operations: AdminOperation[] = [];

  constructor(readonly app: Hono<AppEnv>) {
    this.registry.registerComponent("securitySchemes", "bearer", {
      type: "http",
      scheme: "bearer",
      description: "a flowgate admin key (or X-API-Key), or a JWT holding scope admin",
    });
    this.registry.registerComponent("securitySchemes", "session", {
      type: "apiKey",
      in: "cookie",
      name: "__Host-flowgate-session",
      description: "the gateway's browser session (console); changes also need the CSRF header",
    });
  }

  route(op: AdminOperation, ...handlers: [...MiddlewareHandler<AppEnv>[], Handler<AppEnv>]): void {
    this.operations.push(op);
    const params = [...op.path.matchAll(/:([A-Za-z]+)/g)].map((m) => m[1]!);
    this.registry.registerPath({
      method: op.method,
      path: `/admin${openApiPath(op.path)}`,
      summary: op.summary,
      description: op.access ? `${op.description ?? ""}${op.description ? "\n\n" : ""}Access: ${op.access}.` : op.description,
      tags: [op.tag],
      security: [{ bearer: [] }, { session: [] }],
      request: {
        ...(params.length > 0 ? { params: z.object(Object.fromEntries(params.map((p) => [p, z.string()]))) } : {}),
        ...(op.query ? { query: op.query } : {}),
        ...(op.body
          ? {
              body: {
                required: true,
                content: {
                  "application/json": {
                    schema: op.body,
                    ...(op.examples
                      ? { examples: Object.fromEntries(Object.entries(op.examples).map(([k, value]) => [k, { value }])) }
                      : {}),
                  },
                },
              },
            }
          : {}),
      },
      responses: Object.fromEntries(
        Object.entries({ ...op.responses, ...ERRORS } as AdminOperation["responses"]).map(([status, r]) => [
          status,
          {
            description: r.description,
            ...(r.schema || r.ndjson
              ? {
                  content: {
                    ...(r.schema ? { "application/json": { schema: r.schema } } : {}),
                    // One JSON object a line (each an instance of the schema), for exports read as a stream.
                    ...(r.ndjson ? { "application/x-ndjson": { schema: r.ndjson } } : {}),
                  },
                }
              : {}),
          },
        ]),
      ),
    });
    (this.app.on as (method: string, path: string, ...h: unknown[]) => unknown)(op.method.toUpperCase(), op.path, ...handlers);
  }

  document(serverUrl: string) {
    return new OpenApiGeneratorV31(this.registry.definitions).generateDocument({
      openapi: "3.1.0",
      info: {
        title: "flowgate admin API",
        version: "1",
        description: "Keys, tenants, workspaces, caches, log level, audit trail, token revocation and decision explanations.",
      },
      servers: [{ url: serverUrl }],
    });
  }
}

/** `/keys/:id` -> `/keys/{id}`. */
export const openApiPath = (honoPath: string) => honoPath.replace(/:([A-Za-z]+)/g, "{$1}");

/**
 * What an engine adds to the admin API (src/engine.ts's Engine carries it; src/app.ts passes the registry in), so
 * the admin API takes the engines' hooks without importing anything of theirs.
 */
export interface AdminExtension {
  /** Its name, its rate-limit route group's: a limit may name it (`/admin/limits`, `/admin/usage`). */
  name: string;
  /** Where its routes are mounted: a request below it may be explained (`/admin/explain`). */
  mount: `/${string}`;
  /** Operator routes under `/admin`, documented in this document with the shared ones. */
  adminRoutes?: {
    /** Routes that decide access themselves (the engine's own admins as well): registered before the admin-only guard. */
    ownAccess?: (api: AdminApi) => void;
    /** Routes for flowgate admins only: registered behind the guard. */
    adminOnly?: (api: AdminApi) => void;
  };
  /** Called after the admin API created a tenant (directly or through a key), to drop what the engine caches. */
  onTenantsChanged?: (c: AppContext) => Promise<void>;
}
