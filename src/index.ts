/**
 * The Worker: `fetch` serves the gateway, `scheduled` runs the cache and audit clean-up.
 */
import { buildApp } from "./app";
import type { Env } from "./config";
import { configFor } from "./readConfig";
import { runScheduledPurge, storedIdentityCheck } from "./cron/purge";
import { createLogger } from "./log";

/** The rate-limit counter object class, bound as RATE_LIMITER in wrangler.toml. */
export { RateLimitCounter } from "./ratelimit/counter";

const app = buildApp();

export default {
  fetch: (request: Request, env: Env, ctx: ExecutionContext) => app.fetch(request, env, ctx),

  async scheduled(_controller: ScheduledController, env: Env, ctx: ExecutionContext): Promise<void> {
    const result = configFor(env);
    const log = createLogger(result.ok ? result.config.logLevel : "error", { requestId: `cron-${crypto.randomUUID()}` });
    if (!result.ok) {
      log.error("cron.bad_configuration", { variables: result.error.details?.variables });
      return;
    }
    const work = runScheduledPurge(env.KEY_CACHE, result.config).then(
      (summary) => log.warn("cron.purge", { ...summary }),
      () => log.error("cron.purge_failed", {}),
    );
    // Two stored spellings of one identity are said every run until the operator merges them (docs/storage.md).
    const identities = storedIdentityCheck(result.config).then((pairs) => {
      if (pairs && pairs.length > 0) log.error("identity.fold_collisions", { pairs: pairs.slice(0, 20), count: pairs.length });
    });
    ctx.waitUntil(identities);
    ctx.waitUntil(work);
    await Promise.all([work, identities]);
  },
} satisfies ExportedHandler<Env>;
