/** Operations: purge the cache (all or one key), set the log level with its expiry, the cron's last run. */
import { useState } from "preact/hooks";
import { api } from "../api";
import { ErrorLine, Field, useLoad, when } from "../ui";

interface Status {
  cacheEpoch: number;
  logLevel: { configured: string; override: { level: string; until: string } | null };
  cron: { lastRun: { at: string; summary: Record<string, unknown> } | null };
}

export function OperationsPage() {
  const status = useLoad(() => api<Status>("GET", "/admin/status"), []);
  const [keyId, setKeyId] = useState("");
  const [level, setLevel] = useState("debug");
  const [done, setDone] = useState("");
  const [error, setError] = useState<unknown>(null);
  const act = (work: Promise<unknown>, message: string) =>
    work.then(
      () => (setDone(message), setError(null), status.reload()),
      (e: unknown) => (setDone(""), setError(e)),
    );
  const s = status.data;
  return (
    <section>
      <h2>Operations</h2>
      <ErrorLine error={status.error ?? error} />
      {done ? (
        <p role="status" class="ok">
          {done}
        </p>
      ) : null}
      {s ? (
        <dl class="status">
          <dt>Cache epoch</dt>
          <dd data-epoch>{s.cacheEpoch}</dd>
          <dt>Log level</dt>
          <dd data-log-level>
            {s.logLevel.override
              ? `${s.logLevel.override.level} until ${when(s.logLevel.override.until)} (then ${s.logLevel.configured})`
              : s.logLevel.configured}
          </dd>
          <dt>Cron's last run</dt>
          <dd data-cron>
            {s.cron.lastRun
              ? `${when(s.cron.lastRun.at)}: ${Object.entries(s.cron.lastRun.summary)
                  .map(([k, v]) => `${k} ${String(v)}`)
                  .join(", ")}`
              : "none recorded"}
          </dd>
        </dl>
      ) : null}
      <h3>Cache</h3>
      <button type="button" onClick={() => act(api("POST", "/admin/cache/purge"), "Every cached key lookup purged.")}>
        Purge every cached key
      </button>
      <form
        class="inline"
        onSubmit={(e) => (
          e.preventDefault(), act(api("DELETE", `/admin/cache/keys/${encodeURIComponent(keyId)}`), `Key ${keyId} purged from the caches.`)
        )}
      >
        <Field label="Key id">
          <input name="keyId" value={keyId} onInput={(e) => setKeyId(e.currentTarget.value)} />
        </Field>
        <button type="submit">Purge one key</button>
      </form>
      <h3>Log level</h3>
      <form class="inline" onSubmit={(e) => (e.preventDefault(), act(api("POST", `/admin/logs/${level}`), `Log level ${level} set.`))}>
        <Field label="Level">
          <select name="level" value={level} onChange={(e) => setLevel(e.currentTarget.value)}>
            {["error", "warn", "info", "debug"].map((l) => (
              <option value={l}>{l}</option>
            ))}
          </select>
        </Field>
        <button type="submit">Set for a while</button>
      </form>
    </section>
  );
}
