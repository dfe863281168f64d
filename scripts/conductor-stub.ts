/**
 * `npm run conductor-stub`: the test suite's stand-in Conductor and Schellar (test/setup/conductor.ts) on
 * 127.0.0.1:8080, for trying the Conductor and worker routes without a Conductor at hand. Not a Conductor: it
 * keeps everything in memory, schedules only a workflow's first SIMPLE task, and completes the workflow when that
 * task completes. Point the gateway at it with
 *   CONDUCTOR_URL=http://127.0.0.1:8080/conductor/demo SCHELLAR_URL=http://127.0.0.1:8080/schellar/demo npm start
 */
import { createServer } from "node:http";
import { handleConductor } from "../test/setup/conductor.ts";

const port = Number(process.env.PORT ?? 8080);
const server = createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on("data", (c: Buffer) => chunks.push(c));
  req.on("end", () => {
    const url = new URL(req.url ?? "/", "http://stub");
    if (!handleConductor(req, url, Buffer.concat(chunks).toString("utf8"), res)) res.writeHead(404).end();
  });
});
server.listen(port, "127.0.0.1", () => console.log(`stand-in Conductor: http://127.0.0.1:${port}/conductor/demo (Schellar: /schellar/demo)`));
