/**
 * The key floor (bench/ab.ts FLOORS=1, `floor-key*` rows of `npm run bench`, docs/benchmarks.md): the essentials of
 * answering `/whoami` for an API key held in memory, as one plain function: the Bearer credential read, hashed with
 * flowgate's own `hashApiKey`, the principal found in a Map (any key: the first sight of a hash plays the database),
 * its ten fields answered as JSON. A correct gateway does more (flowgate also checks the key's format, its cache
 * entry's age and the key's validity, gives a request id, and runs its pipeline's frames): so a gateway row's CPU
 * over this floor is everything beyond these essentials. Never deployed.
 */
import { callerOf, whoamiBody } from "./principal";

export function whoami(request: Request): Response {
  const p = callerOf(request.headers.get("authorization"));
  if (!p) return Response.json({ error: "credential required" }, { status: 401 });
  return Response.json(whoamiBody(p));
}

export default {
  fetch(request: Request): Response {
    if (new URL(request.url).pathname !== "/whoami") return Response.json({ error: "no such route" }, { status: 404 });
    return whoami(request);
  },
};
