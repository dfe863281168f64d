/**
 * Where a Conductor area registers its endpoints: the route's Hono app, with steps every route of a view runs first
 * (`conductorServices`, then an area's `adminOnly`). Routes are registered in the order they are declared, and
 * order matters where a fixed path and a parameter meet (`/api/workflow/search` before `/api/workflow/:workflowId`).
 */
import type { Env, Handler, Hono, MiddlewareHandler } from "hono";

export type Step<E extends Env> = MiddlewareHandler<E> | Handler<E>;

type Method = "GET" | "POST" | "PUT" | "DELETE";

export class Routes<E extends Env> {
  private constructor(
    private readonly app: Hono<E>,
    private readonly first: readonly Step<E>[],
  ) {}

  /**
   * Routes on `app` whose steps see the variables of `E`: the steps a view puts first set them (`conductorServices`
   * sets the caller and the clients), which Hono's type of `app` cannot follow; hence the one cast.
   */
  static on<E extends Env, A extends Env>(app: Hono<A>, ...first: Step<E>[]): Routes<E> {
    return new Routes(app as unknown as Hono<E>, first);
  }

  /** A view whose routes run `steps` after this view's own. */
  with(...steps: Step<E>[]): Routes<E> {
    return new Routes(this.app, [...this.first, ...steps]);
  }

  on(method: Method, path: string, ...steps: Step<E>[]): void {
    this.app.on(method, [path], ...(this.first as Handler<E>[]), ...(steps as Handler<E>[]));
  }
  get(path: string, ...steps: Step<E>[]): void {
    this.on("GET", path, ...steps);
  }
  post(path: string, ...steps: Step<E>[]): void {
    this.on("POST", path, ...steps);
  }
  put(path: string, ...steps: Step<E>[]): void {
    this.on("PUT", path, ...steps);
  }
  delete(path: string, ...steps: Step<E>[]): void {
    this.on("DELETE", path, ...steps);
  }
}
