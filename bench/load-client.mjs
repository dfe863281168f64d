// One group of `npm run load`'s clients, in a process of its own: autocannon over a cycle of requests.
// argv[2]: JSON {url, connections, durationS, requests: [{method, path, headers, body}]}; prints the result JSON.
import autocannon from "autocannon";

const cfg = JSON.parse(process.argv[2]);
const result = await autocannon({
  url: cfg.url,
  connections: cfg.connections,
  duration: cfg.durationS,
  timeout: 30,
  requests: cfg.requests,
});
process.stdout.write(
  JSON.stringify({
    requests: result.requests.total,
    reqPerSec: result.requests.average,
    p50: result.latency.p50,
    p99: result.latency.p99,
    errors: result.errors,
    timeouts: result.timeouts,
    statusCodes: Object.fromEntries(Object.entries(result.statusCodeStats).map(([k, v]) => [k, v.count])),
  }),
);
