import { execFile } from "node:child_process";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { request } from "node:https";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { createWhmcsBridge, loadBridgeConfig, serveBridge } from "../src/index.js";
import { startNode, type TestNode, whmcsParams } from "./harness.js";

describe("bridge config file", () => {
  let dir: string;
  let node: TestNode;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "vpncp-bridge-config-"));
    node = await startNode();
  });
  afterAll(async () => {
    await node?.close();
    await rm(dir, { recursive: true, force: true });
  });

  const write = async (name: string, value: unknown) => {
    const path = join(dir, name);
    await writeFile(path, typeof value === "string" ? value : JSON.stringify(value));
    return path;
  };

  test("nodes, secrets from files, file storage relative to the config; the mapping survives a restart", async () => {
    await write("token.txt", "token-from-a-file-0123456789\n");
    await write("alpha.hash", `${node.hash}\n`);
    const path = await write("bridge.json", {
      tokenFile: "token.txt",
      nodes: [{ id: "alpha", url: node.url, accessHashFile: "alpha.hash", region: "eu", servers: [node.server.name] }],
      storage: { driver: "fs", options: { base: "state" } },
      listen: { port: 8099 },
      accountPrefix: "shop1_",
      timeoutMs: 3000,
    });
    const config = await loadBridgeConfig(path, {});
    expect(config.token).toBe("token-from-a-file-0123456789");
    expect(config.listen).toEqual({ host: undefined, port: 8099 });
    expect(config.bridge.nodes).toEqual([
      { id: "alpha", url: node.url, accessHash: node.hash, region: "eu", servers: [node.server.name], drain: false },
    ]);
    expect(config.bridge.storage).toEqual({ driver: "fs", options: { base: join(dir, "state") } });
    expect((await loadBridgeConfig(path, { VPNCP_BRIDGE_TOKEN: "token-from-the-environment" })).token).toBe("token-from-the-environment");

    const bridge = await createWhmcsBridge(config.bridge);
    expect(await bridge.CreateAccount(whmcsParams(11))).toBe("success");
    expect(node.vpncp.accounts.get("shop1_11").wgName).toBe(node.server.name);
    await bridge.close();

    const restarted = await createWhmcsBridge(config.bridge);
    expect(await restarted.services.get("11")).toMatchObject({ node: "alpha", account: "shop1_11" });
    expect(await restarted.TerminateAccount(whmcsParams(11))).toBe("success");
    await restarted.close();
  });

  test("what is wrong is said", async () => {
    await expect(loadBridgeConfig(join(dir, "missing.json"), {})).rejects.toThrow(/^bridge config: cannot read .*missing\.json/);
    await expect(loadBridgeConfig(await write("short.json", { token: "short", nodes: [] }), {})).rejects.toThrow(
      "bridge config: token (or tokenFile, or VPNCP_BRIDGE_TOKEN) of at least 16 characters is required",
    );
    await expect(loadBridgeConfig(await write("empty.json", { token: "x".repeat(20), nodes: [] }), {})).rejects.toThrow(
      "bridge config: nodes must list at least one vpncp node",
    );
    await expect(
      loadBridgeConfig(await write("nohash.json", { token: "x".repeat(20), nodes: [{ id: "a", url: "http://x" }] }), {}),
    ).rejects.toThrow("bridge config: nodes[0].id, url and accessHash (or accessHashFile) are required");
    const twice = { token: "x".repeat(20), nodes: [0, 1].map(() => ({ id: "a", url: "http://x", accessHash: "h" })), storage: "memory" };
    const config = await loadBridgeConfig(await write("twice.json", twice), {});
    await expect(createWhmcsBridge(config.bridge)).rejects.toThrow("node id used twice: a");
  });

  test("`vpncp bridge serve` with tls in the file serves https; flags and environment override the file", async () => {
    // a certificate for 127.0.0.1 from openssl, trusted by this request only
    await new Promise<void>((resolve, reject) =>
      execFile(
        "openssl",
        [
          "req",
          "-x509",
          "-newkey",
          "ec",
          "-pkeyopt",
          "ec_paramgen_curve:P-256",
          "-nodes",
          "-days",
          "2",
          "-subj",
          "/CN=127.0.0.1",
          "-addext",
          "subjectAltName=IP:127.0.0.1",
          "-keyout",
          join(dir, "key.pem"),
          "-out",
          join(dir, "cert.pem"),
        ],
        (error) => (error ? reject(error) : resolve()),
      ),
    );
    const path = await write("tls.json", {
      token: "tls-token-0123456789abcdef",
      nodes: [{ id: "alpha", url: node.url, accessHash: node.hash }],
      storage: "memory",
      listen: { host: "127.0.0.1", port: 1 },
      tls: { cert: "cert.pem", key: "key.pem" },
    });
    const previous = process.env.VPNCP_BRIDGE_CONFIG;
    process.env.VPNCP_BRIDGE_CONFIG = path;
    const running = await serveBridge({ port: "0" }).finally(() => {
      if (previous === undefined) delete process.env.VPNCP_BRIDGE_CONFIG;
      else process.env.VPNCP_BRIDGE_CONFIG = previous;
    });
    try {
      expect(running.url).toBe(`https://127.0.0.1:${running.port}`);
      expect(running.configPath).toBe(path);
      const ca = await readFile(join(dir, "cert.pem"), "utf8");
      const answer = await new Promise<{ status: number; body: string }>((resolve, reject) => {
        const body = JSON.stringify(whmcsParams(12));
        const req = request(
          `${running.url}/bridge/CreateAccount`,
          { method: "POST", ca, headers: { authorization: "Bearer tls-token-0123456789abcdef", "content-type": "application/json" } },
          (res) => {
            let text = "";
            res.on("data", (chunk) => {
              text += chunk;
            });
            res.on("end", () => resolve({ status: res.statusCode ?? 0, body: text }));
          },
        );
        req.on("error", reject);
        req.end(body);
      });
      expect(answer).toEqual({ status: 200, body: JSON.stringify({ result: "success" }) });
      expect(node.vpncp.accounts.get("whmcs_12").status).toBe("enable");
      expect(await running.bridge.TerminateAccount(whmcsParams(12))).toBe("success");
    } finally {
      await running.close();
    }
  });
});
