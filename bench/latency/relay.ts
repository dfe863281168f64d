/**
 * A TCP relay that delays what crosses it: every chunk is delivered `oneWayMs` after it arrived, in order, in each
 * direction, so a request and its answer take `2 * oneWayMs` more, as across a network link of that round trip.
 * Used by bench/latency.ts in front of the database's WebSocket bridge and the identity provider's JWKS (real
 * sockets), because the machine's kernel has no `netem` queueing discipline to delay them (docs/benchmarks.md,
 * "Latency of the round trips"). Connection set-up (the TCP handshake) is not delayed: the relay accepts at once.
 */
import { connect, createServer, type Server, type Socket } from "node:net";

export interface Relay {
  port: number;
  close(): Promise<void>;
}

/** Writes each chunk to `to` `delayMs` after it was read from `from`, keeping their order. */
function delayed(from: Socket, to: Socket, delayMs: number): void {
  let last = 0;
  from.on("data", (chunk: Buffer) => {
    const at = Math.max(performance.now() + delayMs, last);
    last = at;
    setTimeout(() => to.writable && to.write(chunk), Math.max(0, at - performance.now()));
  });
  from.on("end", () => setTimeout(() => to.end(), Math.max(0, last - performance.now()) + 1));
}

export async function startRelay(target: { host: string; port: number }, oneWayMs: number): Promise<Relay> {
  const sockets = new Set<Socket>();
  const server: Server = createServer((client) => {
    client.setNoDelay(true);
    const upstream = connect(target.port, target.host);
    upstream.setNoDelay(true);
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.once("close", () => sockets.delete(s));
    }
    delayed(client, upstream, oneWayMs);
    delayed(upstream, client, oneWayMs);
    client.on("error", () => upstream.destroy());
    upstream.on("error", () => client.destroy());
    client.on("close", () => setTimeout(() => upstream.destroy(), oneWayMs + 5));
    upstream.on("close", () => setTimeout(() => client.destroy(), oneWayMs + 5));
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
  return {
    port: (server.address() as { port: number }).port,
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}
