/**
 * The one Node API the Worker uses (enabled by the `nodejs_als` compatibility flag in wrangler.toml), declared
 * here instead of pulling all of @types/node into the Worker's types.
 */
declare module "node:async_hooks" {
  export class AsyncLocalStorage<T> {
    run<R>(store: T, fn: () => R): R;
    getStore(): T | undefined;
  }
}
