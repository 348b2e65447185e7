/**
 * `vpncp serve --storage redis:…`: the multi-instance storage choice, against a
 * real redis-server started (and killed by PID) by this test.
 */
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { stopChild } from "./support/child-process.js";
import { buildPackages, freePort, killChildren, ROOT, type Serving, startServe } from "./support/cli.js";

const HASH = "ab".repeat(40);

function which(tool: string): boolean {
  return ["/usr/bin", "/usr/sbin", "/usr/local/bin"].some((dir) => existsSync(join(dir, tool)));
}

const skip: string | false = which("redis-server") ? false : "redis-server is not installed";
if (skip && process.env.CI === "true") throw new Error(`redis tests cannot run in CI: ${skip}`);
if (skip) console.warn(`[vpncp] skipping redis storage tests: ${skip}`);

const children = new Set<ChildProcess>();

async function serve(storage: string): Promise<Serving> {
  const port = await freePort();
  return startServe(["--port", String(port), "--storage", storage, "--access-hash", HASH], {
    env: { PATH: process.env.PATH ?? "" },
    children,
  });
}

describe.skipIf(Boolean(skip))("redis storage", () => {
  let redis: ChildProcess;
  let redisUrl = "";

  beforeAll(async () => {
    if (!existsSync(join(ROOT, "packages/http/dist/cli.js"))) await buildPackages();
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
    killChildren(children);
    if (redis) await stopChild(redis);
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
      expect(await first.stop()).toBe(0);
    }
    // the records are in Redis, one key each
    const keys = execFileSync("redis-cli", ["-u", redisUrl, "--scan"], { encoding: "utf8" });
    expect(keys).toMatch(/accounts:stored_in_redis/);
    const second = await serve(`redis:${redisUrl}`);
    try {
      const response = await fetch(`${second.url}/api/v1/account/stored_in_redis`, { headers });
      expect(await response.json()).toMatchObject({ status: "success", msg: { name: "stored_in_redis", wg_name: "r1" } });
    } finally {
      expect(await second.stop()).toBe(0);
    }
  });
});
