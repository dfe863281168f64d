/**
 * A bounded in-isolate cache with per-entry expiry. Full means the least recently used entry goes; it never throws.
 *
 * Each key also has a generation: `invalidate(key)` bumps it, and `setIfGeneration` refuses to store a value
 * loaded before the bump, so a revocation racing a cache fill cannot bring the old value back.
 */
export class LruCache<V> {
  private readonly entries = new Map<string, { value: V; expiresAt: number }>();
  private readonly generations = new Map<string, number>();
  private clock = 0;

  constructor(
    private readonly maxEntries: number,
    private readonly now: () => number = Date.now,
  ) {}

  get size(): number {
    return this.entries.size;
  }

  get(key: string): V | undefined {
    const e = this.entries.get(key);
    if (!e) return undefined;
    if (e.expiresAt <= this.now()) {
      this.entries.delete(key);
      return undefined;
    }
    // Re-insert: Map iteration order is insertion order, so the first key is the least recently used.
    this.entries.delete(key);
    this.entries.set(key, e);
    return e.value;
  }

  set(key: string, value: V, ttlMs: number): void {
    if (ttlMs <= 0 || this.maxEntries <= 0) return;
    this.entries.delete(key);
    while (this.entries.size >= this.maxEntries) {
      const oldest = this.entries.keys().next();
      if (oldest.done) break;
      this.entries.delete(oldest.value);
    }
    this.entries.set(key, { value, expiresAt: this.now() + ttlMs });
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
    this.entries.delete(key);
    this.generations.set(key, ++this.clock);
    if (this.generations.size > this.maxEntries) {
      // Forgetting a generation raises the floor, so fills that read it still see a change.
      this.generations.clear();
      this.floor = ++this.clock;
    }
  }

  clear(): void {
    this.entries.clear();
    this.generations.clear();
    this.floor = ++this.clock;
  }

  /** Generation of every key without one of its own. */
  private floor = 0;
}
