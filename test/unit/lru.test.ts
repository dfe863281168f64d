import { describe, expect, it } from "vitest";
import { LruCache } from "../../src/cache/lru";

describe("LruCache", () => {
  it("evicts the least recently used entry when full, never throwing", () => {
    const c = new LruCache<number>(3);
    c.set("a", 1, 1000);
    c.set("b", 2, 1000);
    c.set("c", 3, 1000);
    expect(c.get("a")).toBe(1); // a is now most recent
    c.set("d", 4, 1000);
    expect(c.get("b")).toBeUndefined();
    expect([c.get("a"), c.get("c"), c.get("d")]).toEqual([1, 3, 4]);
    for (let i = 0; i < 10_000; i++) c.set(`k${i}`, i, 1000);
    expect(c.size).toBe(3);
  });

  it("expires entries", () => {
    let now = 0;
    const c = new LruCache<number>(10, () => now);
    c.set("a", 1, 100);
    now = 99;
    expect(c.get("a")).toBe(1);
    now = 100;
    expect(c.get("a")).toBeUndefined();
  });

  it("refuses a fill that started before an invalidation (revocation race)", () => {
    const c = new LruCache<string>(10);
    const g = c.generation("k");
    c.invalidate("k"); // the revocation lands while the fill is loading
    expect(c.setIfGeneration("k", g, "stale", 1000)).toBe(false);
    expect(c.get("k")).toBeUndefined();
    const g2 = c.generation("k");
    expect(c.setIfGeneration("k", g2, "fresh", 1000)).toBe(true);
  });

  it("refuses fills that started before clear(), even for keys it never held", () => {
    const c = new LruCache<string>(10);
    const g = c.generation("never-seen");
    c.clear();
    expect(c.setIfGeneration("never-seen", g, "stale", 1000)).toBe(false);
  });

  it("keeps refusing stale fills after trimming its generation table", () => {
    const c = new LruCache<string>(2);
    const g = c.generation("k");
    c.invalidate("k");
    for (let i = 0; i < 10; i++) c.invalidate(`other${i}`);
    expect(c.setIfGeneration("k", g, "stale", 1000)).toBe(false);
  });
});

describe("LruCache with weights", () => {
  it("evicts by total weight and refuses entries heavier than the bound", () => {
    const c = new LruCache<number>(100, Date.now, 10, (k) => k.length);
    c.set("aaaa", 1, 1000);
    c.set("bbbb", 2, 1000);
    c.set("cccc", 3, 1000); // 12 > 10: "aaaa" goes
    expect(c.get("aaaa")).toBeUndefined();
    expect(c.get("bbbb")).toBe(2);
    c.set("x".repeat(11), 4, 1000);
    expect(c.get("x".repeat(11))).toBeUndefined();
    expect(c.size).toBe(2);
  });
});
