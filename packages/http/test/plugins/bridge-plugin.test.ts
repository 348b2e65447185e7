import { afterEach, describe, expect, test } from "vitest";
import { startNode, whmcsParams } from "../../../whmcs-bridge/test/harness.js";
import { captureLogger, configDir, serveConfig } from "./harness.js";

const TOKEN = "bridge-token-of-twenty-characters";

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

describe("the WHMCS bridge as a plugin of a vpncp node", () => {
  test("POST /bridge/<Function> on the node's own listener, with the bridge's token, places accounts on its nodes", async () => {
    const node = await startNode();
    cleanups.push(() => node.close());
    const bridgeFile = { token: TOKEN, nodes: [{ id: "n1", url: node.url, accessHash: node.hash }], storage: { driver: "memory" } };
    const dir = await configDir(
      { dataDir: "data", plugins: [{ module: "@vpncp/whmcs-bridge", options: { config: "bridge.json" } }] },
      { "bridge.json": JSON.stringify(bridgeFile) },
    );
    cleanups.push(dir.cleanup);
    const { logger } = captureLogger();
    const server = await serveConfig(dir.path, logger);
    cleanups.push(() => server.close());

    const call = (fn: string, body: unknown, token = TOKEN) =>
      fetch(`${server.url}/bridge/${fn}`, {
        method: "POST",
        headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
        body: JSON.stringify(body),
      });
    const created = await call("CreateAccount", whmcsParams(901));
    expect(created.status).toBe(200);
    expect(await created.json()).toEqual({ result: "success" });
    expect(node.vpncp.accounts.get("whmcs_901").status).toBe("enable");

    const refused = await call("TestConnection", {}, "wrong-token-of-some-length");
    expect([refused.status, await refused.json()]).toEqual([401, { result: "Not authorized" }]);
    const unknown = await call("Nope", {});
    expect([unknown.status, await unknown.json()]).toEqual([404, { result: "Unknown function: Nope" }]);
    // the node's own API is unchanged beside it
    expect((await fetch(`${server.url}/api/v1/system/status`)).status).toBe(401);
  });

  test("a bad bridge file stops the start with the bridge's message", async () => {
    const dir = await configDir(
      { plugins: [{ module: "@vpncp/whmcs-bridge", options: { config: "bridge.json" } }] },
      { "bridge.json": JSON.stringify({ token: "short", nodes: [] }) },
    );
    cleanups.push(dir.cleanup);
    await expect(serveConfig(dir.path, captureLogger().logger)).rejects.toThrow(
      /vpncp\.config\.json: "plugins\[0\]": plugin "whmcs-bridge" failed to set up: bridge config: token \(or tokenFile, or VPNCP_BRIDGE_TOKEN\) of at least 16 characters is required$/,
    );
  });
});
