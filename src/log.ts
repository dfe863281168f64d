/**
 * Structured JSON log lines: `{"level","event","requestId","subject","decision",...}`, one per line.
 * Field names that could carry a secret are redacted whatever their value, so a careless call cannot leak one.
 */
import type { LogLevel } from "./config";

const RANK: Record<LogLevel, number> = { error: 0, warn: 1, info: 2, debug: 3 };
const SECRET_FIELD = /authorization|cookie|token|secret|password|passwd|api[-_]?key|credential|^key$|plaintext/i;
const SAFE_FIELD = /^(keyId|tokenId|tokenIds|keyIds)$/;

export type LogFields = Record<string, unknown>;

function redact(fields: LogFields): LogFields {
  const out: LogFields = {};
  for (const [k, v] of Object.entries(fields)) {
    if (v === undefined) continue;
    out[k] = SECRET_FIELD.test(k) && !SAFE_FIELD.test(k) ? "[redacted]" : v;
  }
  return out;
}

export interface Logger {
  level: LogLevel;
  error(event: string, fields?: LogFields): void;
  warn(event: string, fields?: LogFields): void;
  info(event: string, fields?: LogFields): void;
  debug(event: string, fields?: LogFields): void;
  /** An audit line: written whatever the level, marked `"audit":true`. */
  audit(event: string, fields?: LogFields): void;
  /** A logger whose lines also carry `fields` (e.g. the principal's subject once known). */
  with(fields: LogFields): Logger;
}

export function createLogger(level: LogLevel, context: LogFields = {}, sink: (line: string) => void = console.log): Logger {
  const emit = (l: LogLevel, event: string, fields: LogFields = {}) => {
    if (RANK[l] > RANK[level]) return;
    sink(JSON.stringify({ level: l, event, time: new Date().toISOString(), ...redact(context), ...redact(fields) }));
  };
  return {
    level,
    error: (e, f) => emit("error", e, f),
    warn: (e, f) => emit("warn", e, f),
    info: (e, f) => emit("info", e, f),
    debug: (e, f) => emit("debug", e, f),
    audit: (e, f) =>
      sink(JSON.stringify({ level: "audit", event: e, audit: true, time: new Date().toISOString(), ...redact(context), ...redact(f ?? {}) })),
    with: (f) => createLogger(level, { ...context, ...f }, sink),
  };
}
