/**
 * The benchmark's stub upstream, in a process of its own so that the CPU of the bench's own process is the local
 * database's (PGlite and its bridge) and nothing else. Prints `port=<n>` once listening.
 * Answers: the 1 MB Conductor definition listing (one prepared string), queue sizes and batch polls of a Conductor
 * whose every queue is deep, and a small GraphQL answer for everything else.
 */
import { createServer } from "node:http";
import { workflowDefListing } from "./fixtures.ts";

const listing = workflowDefListing(1_000);
let polled = 0;
const upstream = createServer((req, res) => {
  const url = new URL(req.url ?? "/", "http://upstream");
  req.resume();
  req.on("end", () => {
    if (url.pathname.startsWith("/api/metadata/workflow")) {
      res.writeHead(200, { "content-type": "application/json" }).end(listing);
      return;
    }
    if (url.pathname === "/api/tasks/queue/sizes") {
      const sizes = Object.fromEntries(url.searchParams.getAll("taskType").map((t) => [t, 1_000]));
      res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(sizes));
      return;
    }
    const pollPath = /^\/api\/tasks\/poll\/batch\/([A-Za-z0-9-]+)___(.+)$/.exec(url.pathname);
    if (pollPath) {
      const count = Number(url.searchParams.get("count") ?? 1);
      const tasks = Array.from({ length: count }, () => {
        const n = ++polled;
        return {
          taskId: `task-${n}`,
          taskType: `${pollPath[1]}___${pollPath[2]}`,
          taskDefName: `${pollPath[1]}___${pollPath[2]}`,
          status: "IN_PROGRESS",
          domain: pollPath[1],
          workflowInstanceId: `wf-${n}`,
          workflowType: `${pollPath[1]}___wf`,
          inputData: { device: `d${n}` },
        };
      });
      res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(tasks));
      return;
    }
    res.writeHead(200, { "content-type": "application/json" }).end('{"data":{"ok":true}}');
  });
});
upstream.keepAliveTimeout = 60_000;
upstream.listen(0, "127.0.0.1", () => process.stdout.write(`port=${(upstream.address() as { port: number }).port}\n`));
