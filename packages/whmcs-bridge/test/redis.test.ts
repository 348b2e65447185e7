import { type ChildProcess, spawn } from "node:child_process";
import { connect, createServer } from "node:net";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { createWhmcsBridge, type WhmcsBridge } from "../src/index.js";
import { startNode, type TestNode, whmcsParams } from "./harness.js";

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as { port: number }).port;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** Resolves once redis answers PING on the port. */
async function waitForRedis(port: number, child: ChildProcess): Promise<void> {
  for (let attempt = 0; attempt < 100; attempt += 1) {
    if (child.exitCode !== null) throw new Error(`redis-server exited with ${child.exitCode}`);
    const pong = await new Promise<boolean>((resolve) => {
      const socket = connect(port, "127.0.0.1");
      socket.once("error", () => resolve(false));
      socket.once("connect", () => socket.write("PING\r\n"));
      socket.once("data", (data) => {
        socket.destroy();
        resolve(data.toString().startsWith("+PONG"));
      });
    });
    if (pong) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error("redis-server did not start");
}

describe("placement state in a real redis-server shared by two bridge instances", () => {
  let redis: ChildProcess;
  let port: number;
  let alpha: TestNode;
  let beta: TestNode;
  let first: WhmcsBridge;
  let second: WhmcsBridge;

  beforeAll(async () => {
    port = await freePort();
    // a direct child with no persistence: nothing outlives the test
    redis = spawn("redis-server", ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"], {
      stdio: "ignore",
    });
    await waitForRedis(port, redis);
    [alpha, beta] = await Promise.all([startNode({ accountLimit: 10 }), startNode({ accountLimit: 10 })]);
    const options = {
      nodes: [
        { id: "alpha", url: alpha.url, accessHash: alpha.hash },
        { id: "beta", url: beta.url, accessHash: beta.hash },
      ],
      retryDelayMs: 1,
    };
    first = await createWhmcsBridge({ ...options, storage: `redis:url=redis://127.0.0.1:${port},base=vpncp-bridge` });
    second = await createWhmcsBridge({
      ...options,
      storage: { driver: "redis", options: { url: `redis://127.0.0.1:${port}`, base: "vpncp-bridge" } },
    });
  });
  afterAll(async () => {
    await first?.close();
    await second?.close();
    await Promise.all([alpha?.close(), beta?.close()]);
    if (redis?.pid !== undefined && redis.exitCode === null) {
      const exited = new Promise((resolve) => redis.once("exit", resolve));
      process.kill(redis.pid, "SIGTERM");
      await exited;
    }
  });

  test("one instance places, the other sees the mapping and serves the service without placing it again", async () => {
    // make beta the emptier node for the first placement, alpha for any second one
    await beta.vpncp.accounts.create({ wgName: beta.server.name, name: "local_b" });
    await alpha.vpncp.accounts.create({ wgName: alpha.server.name, name: "local_a1" });
    await alpha.vpncp.accounts.create({ wgName: alpha.server.name, name: "local_a2" });

    expect(await first.CreateAccount(whmcsParams(1001))).toBe("success");
    const placed = await second.services.get("1001");
    expect(placed).toMatchObject({ node: "beta", account: "whmcs_1001", state: "active" });

    // the second instance retries the create: it finds the mapping, no second account anywhere
    expect(await second.CreateAccount(whmcsParams(1001))).toBe("success");
    expect(alpha.vpncp.accounts.list().some((a) => a.name === "whmcs_1001")).toBe(false);
    expect(beta.vpncp.accounts.list().filter((a) => a.name === "whmcs_1001")).toHaveLength(1);

    expect(await second.SuspendAccount(whmcsParams(1001))).toBe("success");
    expect(beta.vpncp.accounts.get("whmcs_1001").status).toBe("disable");

    const usage = await second.UsageUpdate({});
    expect(usage.data?.services.map((s) => s.serviceid)).toEqual(["1001"]);

    expect(await second.TerminateAccount(whmcsParams(1001))).toBe("success");
    expect(await first.services.get("1001")).toBeNull();
    expect((await first.UsageUpdate({})).data?.services).toEqual([]);
  });
});
