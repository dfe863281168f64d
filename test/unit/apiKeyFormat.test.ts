import { describe, expect, it } from "vitest";
import { constantTimeEqual, generateApiKey, hashApiKey, parseApiKey, parseKeyId, sha256Hex, sha256HexSync } from "../../src/formats/apiKey";

describe("API key format", () => {
  it("generates keys that parse back to their id", () => {
    for (let i = 0; i < 50; i++) {
      const k = generateApiKey();
      expect(k.key).toMatch(/^fgk_[a-z0-9]{12}_[A-Za-z0-9]{38}$/);
      expect(parseApiKey(k.key)).toEqual({ id: k.id });
      expect(k.prefix).toBe(`fgk_${k.id}`);
    }
  });

  it("reads a key id in the form shown (its prefix, fgk_<id>) and bare, as the same id, and nothing else", () => {
    const k = generateApiKey();
    expect(parseKeyId(k.prefix)).toBe(k.id);
    expect(parseKeyId(k.id)).toBe(k.id);
    for (const bad of ["", "fgk_", `FGK_${k.id}`, `fgk_${k.id}_`, k.key, `${k.id}a`, k.id.slice(1), ` ${k.id}`, `fgk_fgk_${k.id}`]) {
      expect(parseKeyId(bad), bad).toBeNull();
    }
  });

  it("refuses a key with any one character changed (checksum)", () => {
    const { key } = generateApiKey();
    let refused = 0;
    for (let i = 4; i < key.length; i++) {
      if (key[i] === "_") continue;
      const swapped = key.slice(0, i) + (key[i] === "a" ? "b" : "a") + key.slice(i + 1);
      if (parseApiKey(swapped) === null) refused++;
      else if (swapped !== key) throw new Error(`checksum missed a change at ${i}`);
    }
    expect(refused).toBeGreaterThan(40);
  });

  it("refuses malformed keys", () => {
    for (const bad of ["", "fgk_", "fgk_abc_def", "FGK_aaaaaaaaaaaa_" + "a".repeat(38), "x".repeat(60)]) {
      expect(parseApiKey(bad)).toBeNull();
    }
  });

  it("hashes with SHA-256 hex and compares in constant time", async () => {
    expect(await hashApiKey("abc")).toBe("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    expect(constantTimeEqual("abc", "abc")).toBe(true);
    expect(constantTimeEqual("abc", "abd")).toBe(false);
    expect(constantTimeEqual("abc", "abcd")).toBe(false);
  });
});

describe("sha256HexSync (the JavaScript SHA-256 keys are hashed with)", () => {
  const subtleHex = async (s: string) =>
    [...new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(s)))]
      .map((b) => b.toString(16).padStart(2, "0"))
      .join("");

  it("equals the runtime's SHA-256 at every length around the block boundaries, for ASCII and other UTF-8", async () => {
    for (let n = 0; n <= 200; n++) {
      const ascii = Array.from({ length: n }, (_, i) => String.fromCharCode(0x21 + ((i * 7 + n) % 94))).join("");
      const mixed = "é€😀".repeat(n % 5) + "k".repeat(n);
      for (const s of [ascii, mixed]) expect(sha256HexSync(s)).toBe(await subtleHex(s));
    }
    const key = generateApiKey().key;
    expect(hashApiKey(key)).toBe(await subtleHex(key));
    expect(await sha256Hex("q".repeat(5_000))).toBe(await subtleHex("q".repeat(5_000)));
  });
});
