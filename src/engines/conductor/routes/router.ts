/**
 * Where a Conductor area registers its endpoints: the route's Hono app, with steps every route of a view runs first
 * (`conductorServices`, then an area's `adminOnly`). Routes are registered in the order they are declared, and
 * order matters where a fixed path and a parameter meet (`/api/workflow/search` before `/api/workflow/:workflowId`).
 *
 * Every route is charged to the rate limits by its own registration, so the cost always belongs to the handler
 * that runs (never to a second reading of the path): by default its method's (`conductorCost`), a view's fixed cost
 * (`costing(n)`: a restart costs a start), or `costing("decided")`: the handler charges from the value it decided
 * (a bulk request per id), before it asks the upstream anything.
 */
import type { Env, Handler, Hono, MiddlewareHandler } from "hono";
import { conductorCost } from "../../../ratelimit/cost";

export type Step<E extends Env> = MiddlewareHandler<E> | Handler<E>;

type Method = "GET" | "POST" | "PUT" | "DELETE";

/** What a route costs: a fixed number of units, its method's default, or what its handler decides. */
export type RouteCost = number | "method" | "decided";

export class Routes<E extends Env> {
  private constructor(
    private readonly app: Hono<E>,
    private readonly first: readonly Step<E>[],
    /**
     * The step that charges a fixed cost (before the view's own steps, as a limit is checked right after sign-in);
     * null where the app charges otherwise (the worker route charges a poll its count in its own middleware).
     */
    private readonly charge: ((cost: number) => Step<E>) | null,
    private readonly cost: RouteCost,
  ) {}

  /**
   * Routes on `app` whose steps see the variables of `E`: the steps a view puts first set them (`conductorServices`
   * sets the caller and the clients), which Hono's type of `app` cannot follow; hence the one cast.
   */
  static on<E extends Env, A extends Env>(app: Hono<A>, ...first: Step<E>[]): Routes<E> {
    return new Routes(app as unknown as Hono<E>, first, null, "method");
  }

  /** `on`, with every route charged its cost by `charge` (see `costing`). */
  static charged<E extends Env, A extends Env>(app: Hono<A>, charge: (cost: number) => Step<E>, ...first: Step<E>[]): Routes<E> {
    return new Routes(app as unknown as Hono<E>, first, charge, "method");
  }

  /** A view whose routes run `steps` after this view's own. */
  with(...steps: Step<E>[]): Routes<E> {
    return new Routes(this.app, [...this.first, ...steps], this.charge, this.cost);
  }

  /** A view whose routes cost `cost`. */
  costing(cost: RouteCost): Routes<E> {
    return new Routes(this.app, this.first, this.charge, cost);
  }

  on(method: Method, path: string, ...steps: Step<E>[]): void {
    const cost = this.cost === "method" ? conductorCost(method) : this.cost;
    const charged = cost === "decided" || this.charge === null ? [] : [this.charge(cost)];
    this.app.on(method, [path], ...(charged as Handler<E>[]), ...(this.first as Handler<E>[]), ...(steps as Handler<E>[]));
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
