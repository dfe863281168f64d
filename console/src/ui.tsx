/** Small shared pieces of the console's pages. */
import type { ComponentChildren } from "preact";
import { useEffect, useState } from "preact/hooks";
import { ApiError } from "./api";

export function ErrorLine({ error }: { error: unknown }) {
  if (!error) return null;
  const e = error instanceof ApiError ? error : null;
  return (
    <p class="error" role="alert">
      {e ? `${e.code}: ${e.message}` : String(error)}
      {e?.requestId ? <span class="muted"> (request {e.requestId})</span> : null}
    </p>
  );
}

/** Runs `load` when `deps` change; gives its result, its error, and a way to run it again. */
export function useLoad<T>(
  load: () => Promise<T>,
  deps: unknown[],
): { data: T | null; error: unknown; reload: () => void; loading: boolean } {
  const [data, setData] = useState<T | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [loading, setLoading] = useState(true);
  const [tick, setTick] = useState(0);
  useEffect(() => {
    let live = true;
    setLoading(true);
    load().then(
      (d) => live && (setData(d), setError(null), setLoading(false)),
      (e: unknown) => live && (setError(e), setLoading(false)),
    );
    return () => {
      live = false;
    };
  }, [...deps, tick]);
  return { data, error, loading, reload: () => setTick((t) => t + 1) };
}

export function Field({ label, children }: { label: string; children: ComponentChildren }) {
  return (
    <label class="field">
      <span>{label}</span>
      {children}
    </label>
  );
}

export const list = (s: string) =>
  s
    .split(",")
    .map((x) => x.trim())
    .filter((x) => x !== "");

/** `<input type=datetime-local>` value -> ISO instant (UTC), or undefined when empty. */
export const isoOf = (local: string) => (local ? new Date(local).toISOString() : undefined);

export const when = (iso: string | null | undefined) => (iso ? new Date(iso).toLocaleString() : "");
