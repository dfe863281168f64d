/**
 * Local stand-in for Neon's WebSocket proxy: lets the Neon serverless driver (running in workerd) reach a
 * PostgreSQL server over `ws://127.0.0.1:<port>/v2?address=host:port`, exactly as it reaches Neon in production.
 *
 * Two back ends:
 * - an embedded PGlite (default), served by pglite-socket on an internal TCP port. PGlite runs one session at
 *   a time and pglite-socket multiplexes at the message level, which interleaves the extended-protocol messages of
 *   two concurrent clients. So the bridge serializes whole sessions: a client's TCP connection to PGlite is opened
 *   only when the previous session has closed. Sessions are short (one per cache miss or admin call).
 * - a real PostgreSQL server (`target`), no serialization needed.
 *
 * Test hooks, by the WebSocket path: `/<tag>/v2` counts sessions per tag (GET `/sessions/<tag>` answers the count),
 * so a test can prove how often the Worker asked the database; a tag starting with `drop` cuts the session right
 * after its first query; POST `/down/<tag>?down=1|0` makes a tag's database refuse (and recover); a tag starting
 * with `stall` accepts the WebSocket
 * but never connects it (a database that hangs).
 *
 * It also offers a plain TCP front (`tcpPort`) with the same serialization, for node-postgres (the admin CLI and
 * migrations), so nothing can reach PGlite around the session lock.
 */
import { createServer as createTcpServer, connect, type Server as TcpServer, type Socket } from "node:net";
import { createServer as createHttpServer, type Server as HttpServer } from "node:http";
import { WebSocketServer, type WebSocket } from "ws";

/** Idle sessions are closed so a client that forgot to end cannot hold the PGlite lock forever. */
const SESSION_IDLE_TIMEOUT_MS = 15_000;

export interface BridgeOptions {
  /** host:port of the PostgreSQL server the bridge connects to. */
  target: { host: string; port: number };
  /** Serialize sessions (required for PGlite). */
  serialize: boolean;
  wsPort?: number;
  tcpPort?: number;
}

export interface Bridge {
  wsPort: number;
  tcpPort: number;
  /** Sessions opened per path tag (see below). */
  sessions: Map<string, number>;
  close(): Promise<void>;
}

/**
 * Follows PostgreSQL frontend message boundaries to spot Terminate ('X'): pglite-socket does not close the
 * connection on it, and the Neon driver waits for the close, so the bridge closes the session itself.
 */
class TerminateWatcher {
  private startupDone = false;
  private buffered = Buffer.alloc(0);
  /** Feeds client bytes; true once a Terminate message has gone by. */
  feed(chunk: Buffer): boolean {
    this.buffered = Buffer.concat([this.buffered, chunk]);
    for (;;) {
      if (!this.startupDone) {
        if (this.buffered.length < 8) return false;
        const len = this.buffered.readInt32BE(0);
        const code = this.buffered.readInt32BE(4);
        if (this.buffered.length < len) return false;
        this.buffered = this.buffered.subarray(len);
        // SSLRequest / GSSENCRequest precede the real startup message.
        if (code !== 80877103 && code !== 80877104) this.startupDone = true;
        continue;
      }
      if (this.buffered.length < 5) return false;
      const type = this.buffered[0];
      const len = this.buffered.readInt32BE(1);
      if (this.buffered.length < 1 + len) return false;
      this.buffered = this.buffered.subarray(1 + len);
      if (type === 0x58) return true;
    }
  }
}

class SessionLock {
  private tail: Promise<void> = Promise.resolve();
  /** Resolves with a release function once every earlier session has released. */
  acquire(): Promise<() => void> {
    let release!: () => void;
    const mine = new Promise<void>((r) => (release = r));
    const ready = this.tail.then(() => release);
    this.tail = this.tail.then(() => mine);
    return ready;
  }
}

export async function startBridge(opts: BridgeOptions): Promise<Bridge> {
  const lock = opts.serialize ? new SessionLock() : null;
  const openBackend = async (): Promise<{ socket: Socket; release: () => void }> => {
    const release = lock ? await lock.acquire() : () => {};
    const socket = connect(opts.target.port, opts.target.host);
    socket.setNoDelay(true);
    let released = false;
    const once = () => {
      if (!released) {
        released = true;
        // Give pglite-socket time to detach its handler (and roll back an open transaction) first.
        setTimeout(release, 5);
      }
    };
    socket.once("close", once);
    socket.once("error", once);
    socket.setTimeout(SESSION_IDLE_TIMEOUT_MS, () => socket.destroy());
    return { socket, release: once };
  };

  const sessions = new Map<string, number>();
  /** Tags whose database is "down" (POST /down/<tag>?down=1|0): their sessions are cut at once. */
  const downTags = new Set<string>();
  const http: HttpServer = createHttpServer((req, res) => {
    const down = /^\/down\/([A-Za-z0-9_-]+)\?down=([01])$/.exec(req.url ?? "");
    if (down && req.method === "POST") {
      if (down[2] === "1") downTags.add(down[1]!);
      else downTags.delete(down[1]!);
      res.writeHead(204).end();
      return;
    }
    const m = /^\/sessions\/([A-Za-z0-9_-]+)$/.exec(req.url ?? "");
    if (m) {
      res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ sessions: sessions.get(m[1]!) ?? 0 }));
      return;
    }
    res.writeHead(426).end("websocket only");
  });
  const wss = new WebSocketServer({ server: http });
  wss.on("connection", (ws: WebSocket, req) => {
    // The driver names host:port in ?address=; the bridge only ever connects to its configured target.
    const url = new URL(req.url ?? "/", "http://bridge");
    const m = /^(?:\/([A-Za-z0-9_-]+))?\/v2$/.exec(url.pathname);
    if (!m) {
      ws.close(1008, "bad path");
      return;
    }
    const tag = m[1] ?? "";
    sessions.set(tag, (sessions.get(tag) ?? 0) + 1);
    if (tag.startsWith("stall")) return;
    if (downTags.has(tag)) {
      ws.terminate();
      return;
    }
    // A `drop` tag passes the session's start-up, then cuts the connection right after the first query is sent.
    const dropMidQuery = tag.startsWith("drop");
    let clientMessages = 0;
    const pending: Buffer[] = [];
    let backend: Socket | null = null;
    let closed = false;
    const watcher = new TerminateWatcher();
    let terminated = false;
    ws.on("message", (data: Buffer) => {
      const chunk = Buffer.from(data);
      if (!terminated && watcher.feed(chunk)) terminated = true;
      if (backend) {
        backend.write(chunk);
        if (terminated) backend.end();
      } else pending.push(chunk);
      if (dropMidQuery && ++clientMessages >= 2) {
        ws.terminate();
        backend?.destroy();
      }
    });
    ws.on("close", () => {
      closed = true;
      backend?.end();
    });
    ws.on("error", () => backend?.destroy());
    openBackend().then(({ socket }) => {
      if (closed) {
        socket.destroy();
        return;
      }
      backend = socket;
      for (const chunk of pending) socket.write(chunk);
      pending.length = 0;
      if (terminated) socket.end();
      socket.on("data", (chunk) => ws.readyState === ws.OPEN && ws.send(chunk));
      socket.on("close", () => ws.readyState === ws.OPEN && ws.close());
      socket.on("error", () => ws.readyState === ws.OPEN && ws.close());
    });
  });

  const tcpClients = new Set<Socket>();
  const tcp: TcpServer = createTcpServer((client) => {
    tcpClients.add(client);
    client.once("close", () => tcpClients.delete(client));
    client.pause();
    openBackend().then(({ socket }) => {
      if (client.destroyed) {
        socket.destroy();
        return;
      }
      const watcher = new TerminateWatcher();
      client.on("data", (chunk: Buffer) => {
        socket.write(chunk);
        if (watcher.feed(chunk)) socket.end();
      });
      socket.pipe(client);
      client.resume();
      client.on("error", () => socket.destroy());
      socket.on("error", () => client.destroy());
      client.on("close", () => socket.end());
    });
  });

  const listen = (server: HttpServer | TcpServer, port: number) =>
    new Promise<number>((resolve, reject) => {
      server.once("error", reject);
      server.listen(port, "127.0.0.1", () => {
        const addr = server.address();
        resolve(typeof addr === "object" && addr ? addr.port : port);
      });
    });
  const wsPort = await listen(http, opts.wsPort ?? 0);
  const tcpPort = await listen(tcp, opts.tcpPort ?? 0);
  return {
    wsPort,
    tcpPort,
    sessions,
    close: async () => {
      for (const c of wss.clients) c.terminate();
      await new Promise<void>((r) => wss.close(() => r()));
      await new Promise<void>((r) => http.close(() => r()));
      for (const c of tcpClients) c.destroy();
      await new Promise<void>((r) => tcp.close(() => r()));
    },
  };
}
