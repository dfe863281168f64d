/**
 * flowgate API keys: `fgk_<id>_<secret><check>`
 * - `id`: 12 characters of `[a-z0-9]`, the key's public id (also the row id and what logs show as `fgk_<id>`);
 * - `secret`: 32 characters of base62 (~190 bits) from the platform CSPRNG;
 * - `check`: 6 base62 characters of CRC-32 over everything before it, so a mistyped or made-up key is refused
 *   before any cache or database is asked.
 * Only the SHA-256 of the whole string is stored.
 */
export const KEY_PREFIX = "fgk_";
const KEY_RE = /^fgk_([a-z0-9]{12})_([A-Za-z0-9]{32})([A-Za-z0-9]{6})$/;
const ID_ALPHABET = "abcdefghijklmnopqrstuvwxyz0123456789";
const BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

function crc32(s: string): number {
  let c = 0xffffffff;
  for (let i = 0; i < s.length; i++) c = CRC_TABLE[(c ^ s.charCodeAt(i)) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

function checksum(body: string): string {
  let n = crc32(body);
  let out = "";
  for (let i = 0; i < 6; i++) {
    out = BASE62[n % 62] + out;
    n = Math.floor(n / 62);
  }
  return out;
}

function randomString(alphabet: string, length: number): string {
  // Rejection sampling keeps every character uniformly likely.
  const limit = 256 - (256 % alphabet.length);
  let out = "";
  while (out.length < length) {
    const bytes = crypto.getRandomValues(new Uint8Array(length * 2));
    for (const b of bytes) {
      if (b < limit && out.length < length) out += alphabet[b % alphabet.length];
    }
  }
  return out;
}

export interface ParsedApiKey {
  id: string;
}

/** Parses a flowgate key without I/O; null when malformed or the checksum is wrong. */
export function parseApiKey(key: string): ParsedApiKey | null {
  const m = KEY_RE.exec(key);
  if (!m) return null;
  const body = `${KEY_PREFIX}${m[1]}_${m[2]}`;
  return checksum(body) === m[3] ? { id: m[1]! } : null;
}

/** A new public key id: 12 characters of `[a-z0-9]`, uniformly random. */
export function generateKeyId(): string {
  return randomString(ID_ALPHABET, 12);
}

export function generateApiKey(): { id: string; key: string; prefix: string } {
  const id = generateKeyId();
  const body = `${KEY_PREFIX}${id}_${randomString(BASE62, 32)}`;
  return { id, key: body + checksum(body), prefix: `${KEY_PREFIX}${id}` };
}

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, "0"));
const encoder = new TextEncoder();

/** Hex SHA-256 of a string. */
export async function sha256Hex(text: string): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", encoder.encode(text)));
  let hex = "";
  for (let i = 0; i < digest.length; i++) hex += HEX[digest[i]!];
  return hex;
}

/** Hex SHA-256 of a key string: the only form in which a key is stored or cached. */
export const hashApiKey = sha256Hex;

/** Compares two equal-length strings without an early exit. */
export function constantTimeEqual(a: string, b: string): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a.charCodeAt(i) ^ b.charCodeAt(i);
  return diff === 0;
}
