/**
 * `npm start`, the admin CLI and the engines stand-in as a new user meets them: a second stack, a CLI beside a
 * stack, a bad variable, one exported PORT. Each runs as a user runs it, in a data directory of its own.
 */
import { execFile, spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";

const dirs: string[] = [];
const children: ChildProcess[] = [];
afterEach(() => {
  for (const c of children.splice(0)) c.kill("SIGKILL");
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function dataDir(): string {
  const d = mkdtempSync(join(tmpdir(), "flowgate-stack-test-"));
  dirs.push(d);
  return d;
}

function run(
  script: string,
  args: string[],
  env: Record<string, string>,
  timeoutMs = 30_000,
): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ["--import", "tsx", script, ...args],
      { env: { ...process.env, ...env }, timeout: timeoutMs },
      (err, stdout, stderr) => resolve({ code: err ? ((err as { code?: number }).code ?? null) : 0, out: stdout + stderr }),
    );
  });
}

/** A live process standing for another holder of the data directory. */
function otherProcess(): ChildProcess {
  const c = spawn(process.execPath, ["-e", "setTimeout(() => {}, 60000)"], { stdio: "ignore" });
  children.push(c);
  return c;
}

describe("npm start", () => {
  it("refuses a bad configuration before touching anything, naming each bad variable and why", async () => {
    const dir = join(dataDir(), "data");
    const r = await run("scripts/start.ts", [], {
      FLOWGATE_DATA_DIR: dir,
      PORT: "0",
      MAX_POLL_COUNT: "abc",
      GRAPHQL_MAX_DEPTH: "-3",
      DATABASE_URL: "",
    });
    expect(r.code).toBe(1);
    expect(r.out).toContain("refusing to start: bad configuration");
    expect(r.out).toMatch(/MAX_POLL_COUNT: .*whole number/);
    expect(r.out).toMatch(/GRAPHQL_MAX_DEPTH: .*whole number/);
    expect(r.out).not.toContain("abc");
    expect(r.out).not.toContain("gateway on");
    expect(existsSync(dir)).toBe(false);
  });

  it("refuses when a live stack holds the data directory, and leaves that stack's file alone", async () => {
    const dir = dataDir();
    const holder = otherProcess();
    const stack = JSON.stringify({
      pid: holder.pid,
      role: "stack",
      nodeDatabaseUrl: "postgres://postgres@127.0.0.1:1/postgres",
      gatewayUrl: "http://127.0.0.1:1",
    });
    writeFileSync(join(dir, "stack.json"), stack);
    const r = await run("scripts/start.ts", [], { FLOWGATE_DATA_DIR: dir, PORT: "0", DATABASE_URL: "" });
    expect(r.code).toBe(1);
    expect(
      r.out
        .trim()
        .split("\n")
        .filter((l) => l.startsWith("[flowgate]")),
    ).toEqual([
      `[flowgate] refusing to start: a flowgate stack is already running (pid ${holder.pid}, gateway http://127.0.0.1:1); stop it first (Ctrl-C in its terminal, or kill ${holder.pid})`,
    ]);
    expect(readFileSync(join(dir, "stack.json"), "utf8")).toBe(stack);
    expect(existsSync(join(dir, "pglite"))).toBe(false);
  });

  it("refuses a busy port before opening the database", async () => {
    const dir = dataDir();
    const busy = createServer();
    await new Promise<void>((r) => busy.listen(0, "127.0.0.1", () => r()));
    const port = (busy.address() as { port: number }).port;
    try {
      const r = await run("scripts/start.ts", [], { FLOWGATE_DATA_DIR: dir, PORT: String(port), DATABASE_URL: "" });
      expect(r.code).toBe(1);
      expect(r.out).toContain(`refusing to start: 127.0.0.1:${port} is in use`);
      expect(existsSync(join(dir, "pglite"))).toBe(false);
      expect(existsSync(join(dir, "stack.json"))).toBe(false); // its own claim, released
    } finally {
      busy.close();
    }
  });
});

describe("npm run admin's bootstrap beside another holder", () => {
  // The one command that opens the database itself: the first admin key, with no admin key to ask a gateway with.
  const bootstrap = ["keys", "create", "--tenant", "ops", "--subject", "root", "--admin"];
  const direct = (dir: string) => ({
    FLOWGATE_DATA_DIR: dir,
    DATABASE_URL: "",
    FLOWGATE_URL: "",
    FLOWGATE_ADMIN_KEY: "",
    FLOWGATE_CONFIG: join(dir, "no-cli-config.json"),
  });

  it("never opens the local database while another process holds it", async () => {
    const dir = dataDir();
    const holder = otherProcess();
    writeFileSync(join(dir, "stack.json"), JSON.stringify({ pid: holder.pid, role: "cli" }));
    const r = await run("scripts/admin.ts", bootstrap, direct(dir));
    expect(r.code).not.toBe(0);
    expect(r.out).toContain(`the operator CLI (pid ${holder.pid}) has the local database open`);
    expect(existsSync(join(dir, "pglite"))).toBe(false);
  });

  it("takes over a claim whose process is gone, and removes its own claim when done", async () => {
    const dir = dataDir();
    const gone = spawn(process.execPath, ["-e", ""], { stdio: "ignore" });
    await new Promise((r) => gone.once("exit", r));
    writeFileSync(join(dir, "stack.json"), JSON.stringify({ pid: gone.pid, role: "stack" }));
    const r = await run("scripts/admin.ts", bootstrap, direct(dir), 60_000);
    expect(r.code).toBe(0);
    expect(existsSync(join(dir, "pglite"))).toBe(true);
    expect(existsSync(join(dir, "stack.json"))).toBe(false);
  });
});

describe("npm run engines-stub", () => {
  it("listens on ENGINES_STUB_PORT, not on the gateway's PORT", async () => {
    const probe = createServer();
    await new Promise<void>((r) => probe.listen(0, "127.0.0.1", () => r()));
    const gatewayPort = (probe.address() as { port: number }).port; // held: the gateway's port
    const free = createServer();
    await new Promise<void>((r) => free.listen(0, "127.0.0.1", () => r()));
    const stubPort = (free.address() as { port: number }).port;
    await new Promise<void>((r) => free.close(() => r()));
    const child = spawn(process.execPath, ["--import", "tsx", "scripts/engines-stub.ts"], {
      env: { ...process.env, PORT: String(gatewayPort), ENGINES_STUB_PORT: String(stubPort) },
      stdio: ["ignore", "pipe", "pipe"],
    });
    children.push(child);
    const line = await new Promise<string>((resolve) => {
      let out = "";
      const on = (c: Buffer) => {
        out += String(c);
        if (out.includes("\n")) resolve(out);
      };
      child.stdout!.on("data", on);
      child.stderr!.on("data", on);
    });
    probe.close();
    expect(line).toContain(`stand-ins on http://127.0.0.1:${stubPort}`);
    const res = await fetch(`http://127.0.0.1:${stubPort}/nowhere`);
    expect(res.status).toBe(404);
  });
});
