/**
 * Secrets of the local stack (`npm start`) when none is set: random ones, generated once and kept under `.data/`
 * (mode 600), so what they sign survives a restart. GATEWAY_TOKEN_SECRET (`.data/gateway-token-secret`) signs the
 * Conductor SDK tokens; SESSION_SECRETS (`.data/session-secret`) seals the browser session of the console. A
 * deployment sets its own (`wrangler secret put ...`); without them it issues no tokens and no sessions.
 */
import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { DATA_DIR } from "./stack-file.ts";

export const TOKEN_SECRET_FILE = `${DATA_DIR}gateway-token-secret`;

export const SESSION_SECRET_FILE = `${DATA_DIR}session-secret`;

export function localTokenSecret(file = TOKEN_SECRET_FILE): string {
  if (existsSync(file)) {
    const kept = readFileSync(file, "utf8").trim();
    if (kept.length >= 32) return kept;
  }
  mkdirSync(DATA_DIR, { recursive: true });
  const secret = randomBytes(32).toString("base64url");
  writeFileSync(file, `${secret}\n`, { mode: 0o600 });
  return secret;
}
