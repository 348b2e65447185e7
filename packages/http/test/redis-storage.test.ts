/**
 * `vpncp serve --storage redis:…`: the multi-instance storage choice, against a
 * real redis-server started (and killed by PID) by this test.
 */
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { createServer } from "node:net";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, test } from "vitest";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "../../..");
const BIN = join(ROOT, "packages/http/bin/vpncp.js");
const HASH = "ab".repeat(40);

function which(tool: string): boolean {
  return ["/usr/bin", "/usr/sbin", "/usr/local/bin"].some((dir) => existsSync(join(dir, tool)));
}

const skip: string | false = which("redis-server") ? false : "redis-server is not installed";
if (skip && process.env.CI === "true") throw new Error(`redis tests cannot run in CI: ${skip}`);
if (skip) console.warn(`[vpncp] skipping redis storage tests: ${skip}`);

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const { port } = server.address() as { port: number };
  await new Promise<void>((r) => server.close(() => r()));
  return port;
}

function stop(child: ChildProcess): Promise<number | null> {
  if (child.exitCode !== null) return Promise.resolve(child.exitCode);
  const exited = new Promise<number | null>((r) => child.once("exit", (code) => r(code)));
  child.kill("SIGTERM");
  return exited;
}

async function serve(storage: string): Promise<{ url: string; child: ChildProcess }> {
  const port = await freePort();
  const child = spawn(process.execPath, [BIN, "serve", "--port", String(port), "--storage", storage, "--access-hash", HASH], {
    stdio: ["ignore", "pipe", "pipe"],
    env: { PATH: process.env.PATH ?? "" },
  });
  let out = "";
  child.stdout?.on("data", (d) => {
    out += d;
  });
  child.stderr?.on("data", (d) => {
    out += d;
  });
  const deadline = Date.now() + 30_000;
  while (!/listening on/.test(out)) {
    if (child.exitCode !== null || Date.now() > deadline) throw new Error(`vpncp serve did not start:\n${out}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  return { url: `http://127.0.0.1:${port}`, child };
}

describe.skipIf(Boolean(skip))("redis storage", () => {
  let redis: ChildProcess;
  let redisUrl = "";

  beforeAll(async () => {
    if (!existsSync(join(ROOT, "packages/http/dist/cli.js"))) execFileSync("npm", ["run", "build"], { cwd: ROOT, stdio: "inherit" });
    const port = await freePort();
    redis = spawn("redis-server", ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"], { stdio: "ignore" });
    redisUrl = `redis://127.0.0.1:${port}`;
    const deadline = Date.now() + 10_000;
    for (;;) {
      try {
        execFileSync("redis-cli", ["-u", redisUrl, "ping"], { stdio: "pipe" });
        break;
      } catch {
        if (Date.now() > deadline) throw new Error("redis-server did not start");
        await new Promise((r) => setTimeout(r, 100));
      }
    }
  });

  afterAll(async () => {
    if (redis) await stop(redis);
  });

  test("state written by one vpncp is there for the next one on the same Redis", async () => {
    const headers = { cookie: `access_hash=${HASH}`, "content-type": "application/x-www-form-urlencoded" };
    const first = await serve(`redis:${redisUrl}`);
    try {
      const server = await fetch(`${first.url}/api/v1/wireguard`, { method: "POST", headers, body: "name=r1&address=10.0.50.1/24" });
      expect((await server.json()).status).toBe("success");
      const account = await fetch(`${first.url}/api/v1/account`, { method: "POST", headers, body: "wg_name=r1&name=stored_in_redis" });
      expect((await account.json()).msg.allowed_IPs).toBe("10.0.50.2");
    } finally {
      expect(await stop(first.child)).toBe(0);
    }
    // the records are in Redis, one key each
    const keys = execFileSync("redis-cli", ["-u", redisUrl, "--scan"], { encoding: "utf8" });
    expect(keys).toMatch(/accounts:stored_in_redis/);
    const second = await serve(`redis:${redisUrl}`);
    try {
      const response = await fetch(`${second.url}/api/v1/account/stored_in_redis`, { headers });
      expect(await response.json()).toMatchObject({ status: "success", msg: { name: "stored_in_redis", wg_name: "r1" } });
    } finally {
      expect(await stop(second.child)).toBe(0);
    }
  });
});
