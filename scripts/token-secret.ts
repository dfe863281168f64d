/**
 * GATEWAY_TOKEN_SECRET for the local stack (`npm start`) when none is set: a random one, generated once and kept
 * in `.data/gateway-token-secret` (mode 600), so the Conductor SDK tokens handed out survive a restart. A
 * deployment sets its own (`wrangler secret put GATEWAY_TOKEN_SECRET`); without one it issues no tokens.
 */
import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { DATA_DIR } from "./stack-file.ts";

export const TOKEN_SECRET_FILE = `${DATA_DIR}gateway-token-secret`;

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
