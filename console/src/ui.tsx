/** Small shared pieces of the console's pages: fields with their problem beside them, error lines, times. */
import type { ComponentChildren } from "preact";
import { useEffect, useState } from "preact/hooks";
import { ApiError } from "./api";
import { fieldMatches } from "./model";

/**
 * What the gateway said is wrong with the field at one of `paths` (`rate.limit`; `scopes` also covers `scopes.3`),
 * in its words; undefined when it named no such field.
 */
export function problemOf(error: unknown, ...paths: string[]): string | undefined {
  if (!(error instanceof ApiError)) return undefined;
  return error.fields.find((f) => paths.some((p) => fieldMatches(f.field, p)))?.problem;
}

/**
 * An error as a sentence. Field problems shown beside their fields (`beside`: the paths the form shows) are not
 * repeated here: the line says to look at them; any other field's problem is listed with its name.
 */
export function ErrorLine({ error, beside = [] }: { error: unknown; beside?: string[] }) {
  if (!error) return null;
  const e = error instanceof ApiError ? error : null;
  const elsewhere = e ? e.fields.filter((f) => !beside.some((p) => fieldMatches(f.field, p))) : [];
  const marked = e ? e.fields.length - elsewhere.length : 0;
  let text: string;
  if (!e) text = String(error);
  else if (e.fields.length === 0) text = e.message;
  else
    text = [
      marked > 0
        ? `Not accepted: ${marked === 1 ? "one field needs a change (said beside it)" : `${marked} fields need a change (each said beside it)`}.`
        : "Not accepted.",
      ...elsewhere.map((f) => `${f.field} ${f.problem}.`),
    ].join(" ");
  return (
    <p class="error" role="alert" data-error-code={e?.code}>
      {text}
      {e ? (
        <span class="muted">
          {" "}
          ({e.status} {e.code}
          {e.requestId ? `, request ${e.requestId}` : ""})
        </span>
      ) : null}
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

/** A labelled control, and the gateway's (or the form's own) problem with it beside it, in words. */
export function Field({ label, error, children, wide }: { label: string; error?: string; children: ComponentChildren; wide?: boolean }) {
  return (
    <label class={`field${error ? " invalid" : ""}${wide ? " wide" : ""}`}>
      <span>{label}</span>
      {children}
      {error ? (
        <span class="field-error" role="alert" data-field-error>
          {label.replace(/ \(.*\)$/, "")} {error}
        </span>
      ) : null}
    </label>
  );
}

export const list = (s: string) =>
  s
    .split(",")
    .map((x) => x.trim())
    .filter((x) => x !== "");

/** Whether times are shown in UTC rather than the browser's zone (the header's switch; kept in this browser). */
let utc = (() => {
  try {
    return localStorage.getItem("flowgate-console-utc") === "1";
  } catch {
    return false;
  }
})();
export const timesInUtc = () => utc;
export function setTimesInUtc(v: boolean) {
  utc = v;
  try {
    localStorage.setItem("flowgate-console-utc", v ? "1" : "0");
  } catch {
    // a browser that keeps nothing: the choice lasts this page
  }
}
/** The zone times are shown in, for `Intl.DateTimeFormat`: undefined is the browser's own. */
export const shownZone = () => (utc ? "UTC" : undefined);

/**
 * `<input type=datetime-local>` value -> ISO instant, or undefined when empty: read in the zone times are shown in
 * (UTC when the header says so), as the operator means it.
 */
export const isoOf = (local: string) => (local ? new Date(utc ? `${local}Z` : local).toISOString() : undefined);

export const when = (iso: string | null | undefined) =>
  iso ? new Date(iso).toLocaleString(undefined, { timeZone: shownZone(), dateStyle: "medium", timeStyle: "short" }) : "";
