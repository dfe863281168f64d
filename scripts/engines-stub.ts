/**
 * `npm run engines-stub`: the test suite's stand-ins for Conductor and Schellar (test/setup/conductor.ts), Argo
 * Server, FlowAPI and Prefect Server (test/setup/engines.ts) on 127.0.0.1:$ENGINES_STUB_PORT (8080), for trying the
 * gateway's routes without those engines at hand. None of them is the real thing: all keep their state in memory;
 * the Conductor schedules only a workflow's first SIMPLE task and completes the workflow when that task completes;
 * the Prefect Server answers `project`, `flow` and `create_flow_run` only. Point the gateway at them with
 *   CONDUCTOR_URL=http://127.0.0.1:8080/conductor/demo SCHELLAR_URL=http://127.0.0.1:8080/schellar/demo \
 *   ARGO_URL=http://127.0.0.1:8080/argo/demo FLOWAPI_URL=http://127.0.0.1:8080/flowapi/demo \
 *   PREFECT_GRAPHQL_URL=http://127.0.0.1:8080/prefect/demo/graphql npm start
 */
import { createServer } from "node:http";
import { handleConductor } from "../test/setup/conductor.ts";
import { handleEngines } from "../test/setup/engines.ts";

// Not `PORT`: that is the gateway's (`npm start`); one exported PORT must not start both on one port.
const raw = process.env.ENGINES_STUB_PORT;
const port = raw === undefined || raw === "" ? 8080 : Number(raw);
if (!Number.isInteger(port) || port < 0 || port > 65_535) {
  console.error("[engines-stub] ENGINES_STUB_PORT: must be a port number (0-65535)");
  process.exit(1);
}
const server = createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on("data", (c: Buffer) => chunks.push(c));
  req.on("end", () => {
    const url = new URL(req.url ?? "/", "http://stub");
    const body = Buffer.concat(chunks).toString("utf8");
    if (!handleConductor(req, url, body, res) && !handleEngines(req, url, body, res)) res.writeHead(404).end();
  });
});
server.once("error", (err: NodeJS.ErrnoException) => {
  console.error(`[engines-stub] cannot listen on 127.0.0.1:${port} (${err.code}); set ENGINES_STUB_PORT to a free port`);
  process.exit(1);
});
server.listen(port, "127.0.0.1", () =>
  console.log(`stand-ins on http://127.0.0.1:${port}: /conductor/demo, /schellar/demo, /argo/demo, /flowapi/demo, /prefect/demo/graphql`),
);
