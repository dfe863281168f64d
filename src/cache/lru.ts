/**
 * A bounded in-isolate cache with per-entry expiry. Full means the least recently used entry goes; it never throws.
 *
 * Each key also has a generation: `invalidate(key)` bumps it, and `setIfGeneration` refuses to store a value
 * loaded before the bump, so a revocation racing a cache fill cannot bring the old value back.
 *
 * Not `lru-cache` (isaacs; it runs on workerd, 20 KB minified): it has no generations, so this class would stay
 * around it, and it refuses null values (revocation.ts caches "not revoked" as null); it would replace only the
 * Map-order eviction below (about 35 lines).
 */
export class LruCache<V> {
  private readonly entries = new Map<string, { value: V; expiresAt: number; weight: number }>();
  private readonly generations = new Map<string, number>();
  private clock = 0;
  private totalWeight = 0;

  /**
   * @param maxEntries at most this many entries
   * @param now the clock (tests pass their own)
   * @param maxWeight optional bound on the summed weight of the entries (e.g. characters of the keys)
   * @param weigh the weight of one entry; by default 1
   */
  constructor(
    private readonly maxEntries: number,
    private readonly now: () => number = Date.now,
    private readonly maxWeight = Infinity,
    private readonly weigh: (key: string, value: V) => number = () => 1,
  ) {}

  get size(): number {
    return this.entries.size;
  }

  get(key: string): V | undefined {
    const e = this.entries.get(key);
    if (!e) return undefined;
    if (e.expiresAt <= this.now()) {
      this.remove(key);
      return undefined;
    }
    // Re-insert: Map iteration order is insertion order, so the first key is the least recently used.
    this.entries.delete(key);
    this.entries.set(key, e);
    return e.value;
  }

  set(key: string, value: V, ttlMs: number): void {
    if (ttlMs <= 0 || this.maxEntries <= 0) return;
    const weight = this.weigh(key, value);
    if (weight > this.maxWeight) return;
    this.remove(key);
    while (this.entries.size >= this.maxEntries || this.totalWeight + weight > this.maxWeight) {
      const oldest = this.entries.keys().next();
      if (oldest.done) break;
      this.remove(oldest.value);
    }
    this.entries.set(key, { value, expiresAt: this.now() + ttlMs, weight });
    this.totalWeight += weight;
  }

  private remove(key: string): void {
    const e = this.entries.get(key);
    if (!e) return;
    this.entries.delete(key);
    this.totalWeight -= e.weight;
  }

  /** The current generation of `key`; pass it to `setIfGeneration` after loading. */
  generation(key: string): number {
    return this.generations.get(key) ?? this.floor;
  }

  /** Stores only if nothing invalidated `key` (or cleared the cache) since `generation` was read. */
  setIfGeneration(key: string, generation: number, value: V, ttlMs: number): boolean {
    if (this.generation(key) !== generation) return false;
    this.set(key, value, ttlMs);
    return true;
  }

  invalidate(key: string): void {
    this.remove(key);
    this.generations.set(key, ++this.clock);
    if (this.generations.size > this.maxEntries) {
      // Forgetting a generation raises the floor, so fills that read it still see a change.
      this.generations.clear();
      this.floor = ++this.clock;
    }
  }

  clear(): void {
    this.entries.clear();
    this.totalWeight = 0;
    this.generations.clear();
    this.floor = ++this.clock;
  }

  /** Generation of every key without one of its own. */
  private floor = 0;
}
