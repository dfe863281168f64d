/**
 * A small list read the way keys are: the isolate's memory -> KV -> PostgreSQL, written back on the way out. For
 * lists every request may need and that change rarely (Argo's workspaces, the tenant names a worker serves), so a
 * request reaches neither KV nor the database while the isolate's copy is fresh. A change made through the admin
 * API calls `forget`: here at once, elsewhere within the memory lifetime (plus KV propagation).
 */
import type { Config } from "../config";
import { GatewayError } from "../errors";

/** How long each layer keeps the list. Each list gives its own, with its reason. */
export interface Lifetimes {
  /** The isolate's copy, ms: the bound on how stale another isolate may be after a change. */
  memoryMs: number;
  /** The KV entry, s: KV's own bound, should a `forget` be lost. */
  kvS: number;
}

export interface ReadThroughSpec<T> {
  /** The KV entry holding the whole list as JSON (src/cache/kv.ts). */
  kvKey: string;
  lifetimes: (config: Config) => Lifetimes;
  /** Whether an element read back from KV is well formed: a broken entry is read again from the database. */
  isItem: (v: unknown) => v is T;
  /** The list from the database (the source of truth). */
  load: (config: Config) => Promise<T[]>;
  /** The 503's message when the database cannot be reached. */
  unavailable: string;
}

/** What a read needs of the request: the configuration, the KV namespace, and `waitUntil` for the write-back. */
export interface ReadThroughDeps {
  config: Config;
  kv: KVNamespace;
  waitUntil: (p: Promise<unknown>) => void;
}

export class ReadThroughList<T> {
  /** One copy per isolate, for the database it came from (tests run several databases in one isolate). */
  private memory: { list: T[]; until: number; databaseUrl: string } | null = null;

  constructor(private readonly spec: ReadThroughSpec<T>) {}

  async read({ config, kv, waitUntil }: ReadThroughDeps): Promise<T[]> {
    const memory = this.memory;
    if (memory && memory.until > Date.now() && memory.databaseUrl === config.databaseUrl) return memory.list;
    const { memoryMs, kvS } = this.spec.lifetimes(config);
    let list: T[] | null = null;
    try {
      const cached = await kv.get<unknown>(this.spec.kvKey, "json");
      if (Array.isArray(cached) && cached.every(this.spec.isItem)) list = cached;
    } catch {
      // A failing KV (or an entry that is not JSON) is a slower path: read from the database instead.
    }
    if (!list) {
      try {
        list = await this.spec.load(config);
      } catch {
        throw new GatewayError("AUTH_BACKEND_UNAVAILABLE", this.spec.unavailable);
      }
      waitUntil(kv.put(this.spec.kvKey, JSON.stringify(list), { expirationTtl: kvS }));
    }
    this.memory = { list, until: Date.now() + memoryMs, databaseUrl: config.databaseUrl };
    return list;
  }

  /** After a change: this isolate reads afresh at once, others within the memory lifetime plus KV propagation. */
  async forget(kv: KVNamespace): Promise<void> {
    this.memory = null;
    await kv.delete(this.spec.kvKey);
  }
}
