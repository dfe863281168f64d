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

/**
 * A key id as an operator may give it: `fgk_<id>` (the key's prefix, as listings, the console and the key itself
 * show it) or the bare 12-character `<id>` (the `id` field of answers). Both name the same key everywhere a key id
 * is asked for (paths, explain, limits, usage); the bare id is what is stored.
 */
const KEY_ID_FORM = /^(?:fgk_)?([a-z0-9]{12})$/;
export const KEY_ID_RULE = "must be a key id: fgk_ and 12 lowercase letters and digits (as shown), or those 12 alone";

/** The stored (bare) id of a key id in either form; null when it is neither. */
export function parseKeyId(text: string): string | null {
  return KEY_ID_FORM.exec(text)?.[1] ?? null;
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

/**
 * SHA-256 in JavaScript, for short strings. crypto.subtle.digest is asynchronous: every call crosses into the
 * runtime, encodes the string, allocates a promise and resumes the caller later, which on a request that is
 * otherwise answered from memory (a cached API key) cost more than the rest of the authentication together. The
 * compression of one or two 64-byte blocks costs a microsecond or two here; long inputs still go to the runtime's.
 * Constants: the first 32 bits of the fractional parts of the cube roots of the first 64 primes (K) and of the
 * square roots of the first 8 (H0), computed as FIPS 180-4 defines them; the tests compare every output with
 * crypto.subtle's.
 */
const PRIMES: number[] = [];
for (let n = 2; PRIMES.length < 64; n++) if (PRIMES.every((p) => n % p !== 0)) PRIMES.push(n);
const frac32 = (x: number) => ((x - Math.floor(x)) * 0x1_0000_0000) >>> 0;
const K = Uint32Array.from(PRIMES, (p) => frac32(Math.cbrt(p)));
const H0 = Uint32Array.from(PRIMES.slice(0, 8), (p) => frac32(Math.sqrt(p)));
const W = new Uint32Array(64);
/** Above this many characters, the runtime's digest is cheaper than this one. */
const SYNC_SHA256_MAX_CHARS = 1024;
/** The padded message of a short ASCII input (up to 119 bytes: two blocks), reused: no allocation per key. */
const SHORT = new Uint8Array(128);

function sha256Words(buf: Uint8Array, total: number): Uint32Array {
  const h = H0.slice();
  for (let at = 0; at < total; at += 64) {
    for (let t = 0; t < 16; t++) {
      const i = at + t * 4;
      W[t] = (buf[i]! << 24) | (buf[i + 1]! << 16) | (buf[i + 2]! << 8) | buf[i + 3]!;
    }
    for (let t = 16; t < 64; t++) {
      const w15 = W[t - 15]!;
      const w2 = W[t - 2]!;
      const s0 = ((w15 >>> 7) | (w15 << 25)) ^ ((w15 >>> 18) | (w15 << 14)) ^ (w15 >>> 3);
      const s1 = ((w2 >>> 17) | (w2 << 15)) ^ ((w2 >>> 19) | (w2 << 13)) ^ (w2 >>> 10);
      W[t] = (W[t - 16]! + s0 + W[t - 7]! + s1) | 0;
    }
    let a = h[0]!,
      b = h[1]!,
      c = h[2]!,
      d = h[3]!,
      e = h[4]!,
      f = h[5]!,
      g = h[6]!,
      hh = h[7]!;
    for (let t = 0; t < 64; t++) {
      const S1 = ((e >>> 6) | (e << 26)) ^ ((e >>> 11) | (e << 21)) ^ ((e >>> 25) | (e << 7));
      const t1 = (hh + S1 + ((e & f) ^ (~e & g)) + K[t]! + W[t]!) | 0;
      const S0 = ((a >>> 2) | (a << 30)) ^ ((a >>> 13) | (a << 19)) ^ ((a >>> 22) | (a << 10));
      const t2 = (S0 + ((a & b) ^ (a & c) ^ (b & c))) | 0;
      hh = g;
      g = f;
      f = e;
      e = (d + t1) | 0;
      d = c;
      c = b;
      b = a;
      a = (t1 + t2) | 0;
    }
    h[0] = h[0]! + a;
    h[1] = h[1]! + b;
    h[2] = h[2]! + c;
    h[3] = h[3]! + d;
    h[4] = h[4]! + e;
    h[5] = h[5]! + f;
    h[6] = h[6]! + g;
    h[7] = h[7]! + hh;
  }
  return h;
}

/** Appends SHA-256's padding and the message length (bytes `len` of `buf`, which has room): the padded length. */
function pad(buf: Uint8Array, len: number): number {
  const total = ((len + 9 + 63) >>> 6) << 6;
  buf.fill(0, len, total);
  buf[len] = 0x80;
  const hi = Math.floor(len / 0x2000_0000);
  const lo = (len << 3) >>> 0;
  buf[total - 8] = hi >>> 24;
  buf[total - 7] = (hi >>> 16) & 0xff;
  buf[total - 6] = (hi >>> 8) & 0xff;
  buf[total - 5] = hi & 0xff;
  buf[total - 4] = lo >>> 24;
  buf[total - 3] = (lo >>> 16) & 0xff;
  buf[total - 2] = (lo >>> 8) & 0xff;
  buf[total - 1] = lo & 0xff;
  return total;
}

/** Hex SHA-256 of the UTF-8 bytes of a string, computed here, synchronously (meant for short strings). */
export function sha256HexSync(text: string): string {
  let words: Uint32Array;
  let ascii = text.length <= 119;
  if (ascii) {
    for (let i = 0; i < text.length; i++) {
      const code = text.charCodeAt(i);
      if (code > 0x7f) {
        ascii = false;
        break;
      }
      SHORT[i] = code;
    }
  }
  if (ascii) {
    words = sha256Words(SHORT, pad(SHORT, text.length));
  } else {
    const bytes = encoder.encode(text);
    const buf = new Uint8Array(((bytes.length + 9 + 63) >>> 6) << 6);
    buf.set(bytes);
    words = sha256Words(buf, pad(buf, bytes.length));
  }
  let hex = "";
  for (let i = 0; i < 8; i++) {
    const w = words[i]!;
    hex += HEX[w >>> 24]! + HEX[(w >>> 16) & 0xff]! + HEX[(w >>> 8) & 0xff]! + HEX[w & 0xff]!;
  }
  return hex;
}

/** Hex SHA-256 of a string. */
export async function sha256Hex(text: string): Promise<string> {
  if (text.length <= SYNC_SHA256_MAX_CHARS) return sha256HexSync(text);
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", encoder.encode(text)));
  let hex = "";
  for (let i = 0; i < digest.length; i++) hex += HEX[digest[i]!];
  return hex;
}

/** Hex SHA-256 of a key string: the only form in which a key is stored or cached. Synchronous (see above). */
export function hashApiKey(key: string): string {
  return sha256HexSync(key); // credentials are at most MAX_CREDENTIAL_LENGTH characters
}

/** Compares two equal-length strings without an early exit. */
export function constantTimeEqual(a: string, b: string): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a.charCodeAt(i) ^ b.charCodeAt(i);
  return diff === 0;
}
