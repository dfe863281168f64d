/**
 * The physical baseline: a Worker served by bare `workerd serve` on the very binary Miniflare runs, from a minimal
 * Cap'n Proto configuration generated in a temporary directory (one Worker, one HTTP socket, the network service
 * its `fetch` goes out through). Nothing of Miniflare's: no entry Worker, no outbound Worker, no KV.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { basename, dirname, join } from "node:path";

const ROOT = new URL("../", import.meta.url).pathname;

/** The workerd binary Miniflare itself launches (its own dependency, not the top-level `workerd` package). */
export function miniflareWorkerdBinary(): string {
  const requireFromMiniflare = createRequire(createRequire(`${ROOT}package.json`).resolve("miniflare"));
  return join(dirname(requireFromMiniflare.resolve("workerd/package.json")), "bin", "workerd");
}

export interface BareWorkerd {
  url: string;
  pid: number;
  stop(): Promise<void>;
}

/** Serves the ES module at `scriptPath` with text bindings `vars` on 127.0.0.1 (a free port workerd picks). */
export async function startBareWorkerd(
  scriptPath: string,
  vars: Record<string, string>,
  compatibilityDate: string,
  compatibilityFlags: readonly string[] = [],
): Promise<BareWorkerd> {
  const dir = mkdtempSync(join(tmpdir(), "flowgate-bare-workerd-"));
  const module = basename(scriptPath);
  writeFileSync(join(dir, module), readFileSync(scriptPath));
  const bindings = Object.entries(vars).map(([name, text]) => `(name = ${JSON.stringify(name)}, text = ${JSON.stringify(text)})`);
  writeFileSync(
    join(dir, "config.capnp"),
    `using Workerd = import "/workerd/workerd.capnp";
const config :Workerd.Config = (
  services = [
    (name = "main", worker = .worker),
    # Miniflare's network service, so both reach the loopback upstream the same way.
    (name = "internet", network = (allow = ["public", "private"], deny = [])),
  ],
  sockets = [(name = "http", address = "127.0.0.1:0", http = (), service = "main")],
);
const worker :Workerd.Worker = (
  modules = [(name = ${JSON.stringify(module)}, esModule = embed ${JSON.stringify(module)})],
  compatibilityDate = ${JSON.stringify(compatibilityDate)},
  compatibilityFlags = [${compatibilityFlags.map((f) => JSON.stringify(f)).join(", ")}],
  bindings = [${bindings.join(", ")}],
);
`,
  );
  // fd 3: workerd's control channel, where it reports the port each socket listens on.
  const child: ChildProcess = spawn(miniflareWorkerdBinary(), ["serve", join(dir, "config.capnp"), "--control-fd=3"], {
    stdio: ["ignore", "ignore", "pipe", "pipe"],
  });
  child.stderr!.on("data", (c: Buffer) => {
    for (const line of String(c).split("\n")) {
      if (line && !/Connection reset by peer|Broken pipe|^stack: /.test(line)) process.stderr.write(`[bare workerd] ${line}\n`);
    }
  });
  const port = await new Promise<number>((resolve, reject) => {
    let buffered = "";
    const control = child.stdio[3] as NodeJS.ReadableStream;
    control.on("data", (c: Buffer) => {
      buffered += String(c);
      for (const line of buffered.split("\n")) {
        try {
          const msg = JSON.parse(line) as { event?: string; socket?: string; port?: number };
          if (msg.event === "listen" && msg.socket === "http" && msg.port) resolve(msg.port);
        } catch {
          // partial line
        }
      }
    });
    child.once("exit", (code) => reject(new Error(`bare workerd exited ${code} before listening`)));
  });
  return {
    url: `http://127.0.0.1:${port}`,
    pid: child.pid!,
    stop: () =>
      new Promise<void>((resolve) => {
        child.once("exit", () => {
          rmSync(dir, { recursive: true, force: true });
          resolve();
        });
        child.kill("SIGTERM");
      }),
  };
}
