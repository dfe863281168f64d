/**
 * Structured JSON log lines: `{"level","event","requestId","subject","decision",...}`, one per line.
 * Field names that could carry a secret are redacted whatever their value, so a careless call cannot leak one.
 *
 * A class, not closures: one logger is made per request, and the bundler wraps every closure it creates.
 */
import type { LogLevel } from "./config";

const RANK: Record<LogLevel, number> = { error: 0, warn: 1, info: 2, debug: 3 };
const SECRET_FIELD = /authorization|cookie|token|secret|password|passwd|api[-_]?key|credential|^key$|plaintext/i;
const SAFE_FIELD = /^(keyId|tokenId|tokenIds|keyIds)$/;

export type LogFields = Record<string, unknown>;

/** Field names seen so far and whether each is a secret's: the same few names come back on every line. */
const secretName = new Map<string, boolean>();
const MAX_REMEMBERED_NAMES = 1_000;

function isSecretName(k: string): boolean {
  let secret = secretName.get(k);
  if (secret === undefined) {
    secret = SECRET_FIELD.test(k) && !SAFE_FIELD.test(k);
    if (secretName.size < MAX_REMEMBERED_NAMES) secretName.set(k, secret);
  }
  return secret;
}

/** Copies `fields` into `out`, secrets redacted and undefined values left out (a later field replaces an earlier). */
function copyRedacted(out: LogFields, fields: LogFields): void {
  for (const k in fields) {
    if (!Object.prototype.hasOwnProperty.call(fields, k)) continue;
    const v = fields[k];
    if (v === undefined) continue;
    out[k] = isSecretName(k) ? "[redacted]" : v;
  }
}

export class Logger {
  constructor(
    readonly level: LogLevel,
    private readonly context: LogFields = {},
    private readonly sink: (line: string) => void = (line) => console.log(line),
  ) {}

  private emit(level: LogLevel | "audit", event: string, fields: LogFields): void {
    // One object per line, filled in place (no redacted copies spread into another): same keys, same order.
    const line: LogFields = { level, event, time: new Date().toISOString() };
    copyRedacted(line, this.context);
    copyRedacted(line, fields);
    this.sink(JSON.stringify(line));
  }

  /** Whether lines of `level` are written: lets callers skip building fields nobody will read. */
  enabled(level: LogLevel): boolean {
    return RANK[level] <= RANK[this.level];
  }

  error(event: string, fields: LogFields = {}): void {
    if (this.enabled("error")) this.emit("error", event, fields);
  }
  warn(event: string, fields: LogFields = {}): void {
    if (this.enabled("warn")) this.emit("warn", event, fields);
  }
  info(event: string, fields: LogFields = {}): void {
    if (this.enabled("info")) this.emit("info", event, fields);
  }
  debug(event: string, fields: LogFields = {}): void {
    if (this.enabled("debug")) this.emit("debug", event, fields);
  }
  /** An audit line: written whatever the level, marked `"audit":true`. */
  audit(event: string, fields: LogFields = {}): void {
    this.emit("audit", event, { audit: true, ...fields });
  }
  /** A logger whose lines also carry `fields` (e.g. the principal's subject once known). */
  with(fields: LogFields): Logger {
    return new Logger(this.level, { ...this.context, ...fields }, this.sink);
  }
}

export function createLogger(level: LogLevel, context: LogFields = {}, sink?: (line: string) => void): Logger {
  return new Logger(level, context, sink);
}
