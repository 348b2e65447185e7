import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { type RunningBridge, startBridgeServer } from "../src/index.js";
import { startNode, type TestNode, whmcsParams } from "./harness.js";

const MODULE = fileURLToPath(new URL("../../../examples/whmcs/modules/servers/vpncp/vpncp.php", import.meta.url));
const DRIVER = fileURLToPath(new URL("./php/driver.php", import.meta.url));
const TOKEN = "bridge-token-0123456789abcdef";

interface PhpCall {
  readonly function: string;
  readonly params?: Record<string, unknown>;
  readonly args?: readonly unknown[];
  readonly post?: Record<string, string>;
}

interface PhpRun {
  readonly results: unknown[];
  readonly updates: { table: string; where: Record<string, unknown>; values: Record<string, unknown> }[];
  readonly log: string[];
}

/** Runs module functions with php-cli, as WHMCS would call them. */
function php(calls: readonly PhpCall[]): Promise<PhpRun> {
  return new Promise((resolve, reject) => {
    const child = execFile("php", [DRIVER, MODULE], { timeout: 60_000, maxBuffer: 16 * 1024 * 1024 }, (error, stdout, stderr) => {
      if (error) return reject(new Error(`php failed: ${error.message}\n${stderr}\n${stdout}`));
      try {
        resolve(JSON.parse(stdout) as PhpRun);
      } catch {
        reject(new Error(`php printed no JSON:\n${stdout}\n${stderr}`));
      }
    });
    child.stdin?.end(JSON.stringify({ calls }));
  });
}

describe("the PHP server module (php-cli) against the bridge app on loopback", () => {
  let alpha: TestNode;
  let beta: TestNode;
  let bridge: RunningBridge;
  let server: Record<string, unknown>;

  beforeAll(async () => {
    [alpha, beta] = await Promise.all([startNode({ accountLimit: 20 }), startNode({ accountLimit: 20, existingAccounts: 4 })]);
    bridge = await startBridgeServer({
      bridge: {
        nodes: [
          { id: "alpha", url: alpha.url, accessHash: alpha.hash },
          { id: "beta", url: beta.url, accessHash: beta.hash },
        ],
        storage: { driver: "memory" },
        retryDelayMs: 1,
      },
      token: TOKEN,
      host: "127.0.0.1",
      port: 0,
    });
    // the WHMCS server entry: hostname, port, the token in the Access Hash field, Secure ticked
    server = {
      serverhostname: "127.0.0.1",
      serverip: "127.0.0.1",
      serverport: String(bridge.port),
      serversecure: true,
      serverusername: "",
      serverpassword: "",
      serveraccesshash: TOKEN,
    };
  });
  afterAll(async () => {
    await bridge?.close();
    await Promise.all([alpha?.close(), beta?.close()]);
  });

  test("the life of a service through vpncp_* functions", async () => {
    const params = whmcsParams(801, server);
    const run = await php([
      { function: "MetaData" },
      { function: "ConfigOptions" },
      { function: "TestConnection", params },
      { function: "CreateAccount", params },
      { function: "CreateAccount", params },
      { function: "ClientArea", params },
      { function: "ClientArea", params, post: { vpncp_otl: "1" } },
      { function: "AdminServicesTabFields", params },
      { function: "SuspendAccount", params },
    ]);
    const [meta, options, testConnection, created, again, area, areaWithLink, adminTab, suspended] = run.results as [
      Record<string, unknown>,
      Record<string, unknown>,
      Record<string, unknown>,
      string,
      string,
      string,
      string,
      Record<string, string>,
      string,
    ];
    expect(meta).toMatchObject({ DisplayName: "vpncp VPN", RequiresServer: true });
    expect(Object.keys(options)).toEqual(["Bandwidth Download", "Bandwidth Upload", "Region"]);
    expect(testConnection).toEqual({ success: true, error: "" });
    expect(created).toBe("success");
    expect(again).toBe("success");

    // alpha is emptier: the account is there, once, with the package's bandwidth
    const account = alpha.vpncp.accounts.get("whmcs_801");
    expect(account).toMatchObject({ bDownload: 20, bUpload: 5, password: "Pw-801-secret" });
    expect(beta.vpncp.accounts.list().some((a) => a.name === "whmcs_801")).toBe(false);

    expect(area).toContain("[Interface]");
    expect(area).toContain(`Address = ${account.allowedIp}`);
    expect(area).toContain('src="data:image/png;base64,iVBORw0KGgo');
    expect(area).toContain('download="whmcs_801.conf"');
    expect(area).not.toContain("One-time link");
    expect(areaWithLink).toMatch(new RegExp(`One-time link \\(opens once\\): <a href="${alpha.url}/otl/[0-9a-f]{80}"`));

    expect(adminTab["VPN node"]).toBe(`alpha (${alpha.url})`);
    expect(adminTab.Account).toContain(`whmcs_801 on ${alpha.server.name}, ${account.allowedIp}, enable, 20/5 Mbit/s`);
    expect(adminTab["Mangle rules"]).toContain(`MARK 0x${account.mangle.toString(16)}`);
    expect(adminTab["Peer (dump)"]).toContain(`allowed_ips: ${account.allowedIp}/32`);

    expect(suspended).toBe("success");
    expect(alpha.vpncp.accounts.get("whmcs_801").status).toBe("disable");

    // the token and the password never reach WHMCS's module log
    expect(run.log.length).toBeGreaterThan(0);
    expect(run.log.join("\n")).not.toContain(TOKEN);
    expect(run.log.join("\n")).not.toContain("Pw-801-secret");
  });

  test("UsageUpdate writes each service's month in MB into tblhosting (by service id and server)", async () => {
    const params = whmcsParams(802, server);
    expect((await php([{ function: "CreateAccount", params }])).results).toEqual(["success"]);
    const placed = await bridge.bridge.services.get("802");
    const node = placed?.node === "alpha" ? alpha : beta;
    const account = node.vpncp.accounts.get("whmcs_802");
    node.drivers.firewall.simulateTraffic(account.allowedIp, {
      downBytes: 3 * 1024 ** 3,
      downPackets: 10,
      upBytes: 256 * 1024 ** 2,
      upPackets: 10,
    });
    await alpha.vpncp.statistics.sample();
    await beta.vpncp.statistics.sample();

    const run = await php([{ function: "UsageUpdate", params: { ...server, serverid: 4 } }]);
    expect(run.results).toEqual(["success"]);
    expect(run.updates).toContainEqual({
      table: "tblhosting",
      where: { id: 802, server: 4 },
      values: { diskusage: 0, bwusage: 3 * 1024 + 256, lastupdate: { raw: "now()" } },
    });
    expect(run.updates).toContainEqual(expect.objectContaining({ where: { id: 801, server: 4 } }));
  });

  test("change package, password, unsuspend and terminate through the module", async () => {
    const params = whmcsParams(803, server);
    const upgraded = { ...params, configoptions: { "Bandwidth Download": "75", "Bandwidth Upload": "25" } };
    const run = await php([
      { function: "CreateAccount", params },
      { function: "ChangePackage", params: upgraded },
      { function: "ChangePassword", params: { ...params, password: "Brand-new-9" } },
      { function: "SuspendAccount", params },
      { function: "UnsuspendAccount", params },
    ]);
    expect(run.results).toEqual(["success", "success", "success", "success", "success"]);
    const placed = await bridge.bridge.services.get("803");
    const node = placed?.node === "alpha" ? alpha : beta;
    expect(node.vpncp.accounts.get("whmcs_803")).toMatchObject({ bDownload: 75, bUpload: 25, password: "Brand-new-9", status: "enable" });

    const gone = await php([
      { function: "TerminateAccount", params },
      { function: "TerminateAccount", params },
    ]);
    expect(gone.results).toEqual(["success", "success"]);
    expect(node.vpncp.accounts.list().some((a) => a.name === "whmcs_803")).toBe(false);
  });

  test("a wrong token, a missing token, and an unreachable bridge come back as sentences", async () => {
    const params = whmcsParams(804, server);
    const run = await php([
      { function: "CreateAccount", params: { ...params, serveraccesshash: "", serverpassword: "not-the-token-at-all" } },
      { function: "CreateAccount", params: { ...params, serveraccesshash: "", serverpassword: "" } },
      { function: "TestConnection", params: { ...params, serveraccesshash: "wrong-token-wrong-token" } },
      { function: "CreateAccount", params: { ...params, serverport: "1" } },
      { function: "ClientArea", params: { ...params, serverport: "1" } },
    ]);
    const [wrong, missing, test, unreachable, area] = run.results as [string, string, Record<string, unknown>, string, string];
    expect(wrong).toBe("Not authorized");
    expect(missing).toBe("The server has no Access Hash or Password: set it to the bridge's token");
    expect(test).toEqual({ success: false, error: "Not authorized" });
    expect(unreachable).toMatch(/^Cannot reach the vpncp bridge: .*(refused|couldn't connect)/i);
    expect(area).toContain("Cannot reach the vpncp bridge");
    expect(await bridge.bridge.services.get("804")).toBeNull();
  });

  test("the module speaks https with the certificate checked, plain http only on loopback or with Secure off", async () => {
    const url = (params: Record<string, unknown>) => ({ function: "bridgeUrl", args: [params, "CreateAccount"] });
    const run = await php([
      url({ serverhostname: "bridge.example.com", serversecure: true }),
      url({ serverhostname: "bridge.example.com", serverport: "8443", serversecure: "on" }),
      url({ serverhostname: "bridge.example.com:9000", serversecure: true }),
      url({ serverhostname: "", serverip: "2001:db8::5", serversecure: true }),
      url({ serverhostname: "bridge.example.com", serversecure: false }),
      url({ serverhostname: "bridge.example.com", serversecure: "" }),
      url({ serverhostname: "127.0.0.1", serverport: "8099", serversecure: true }),
      url({ serverhostname: "localhost", serversecure: true }),
    ]);
    expect(run.results).toEqual([
      "https://bridge.example.com/bridge/CreateAccount",
      "https://bridge.example.com:8443/bridge/CreateAccount",
      "https://bridge.example.com:9000/bridge/CreateAccount",
      "https://[2001:db8::5]/bridge/CreateAccount",
      "http://bridge.example.com/bridge/CreateAccount",
      "http://bridge.example.com/bridge/CreateAccount",
      "http://127.0.0.1:8099/bridge/CreateAccount",
      "http://localhost/bridge/CreateAccount",
    ]);
  });
});

describe("the bridge app", () => {
  let node: TestNode;
  let bridge: RunningBridge;

  beforeAll(async () => {
    node = await startNode();
    bridge = await startBridgeServer({
      bridge: { nodes: [{ id: "solo", url: node.url, accessHash: node.hash }], storage: { driver: "memory" } },
      token: TOKEN,
      host: "127.0.0.1",
      port: 0,
    });
  });
  afterAll(async () => {
    await bridge?.close();
    await node?.close();
  });

  const post = (path: string, body: unknown, token: string | null = TOKEN) =>
    fetch(`${bridge.url}${path}`, {
      method: "POST",
      headers: { "content-type": "application/json", ...(token === null ? {} : { authorization: `Bearer ${token}` }) },
      body: typeof body === "string" ? body : JSON.stringify(body),
    });

  test("POST /bridge/<Function> with the bearer token answers { result, data? }", async () => {
    const created = await post("/bridge/CreateAccount", whmcsParams(901));
    expect(created.status).toBe(200);
    expect(await created.json()).toEqual({ result: "success" });
    const area = await (await post("/bridge/ClientArea", whmcsParams(901))).json();
    expect(area.result).toBe("success");
    expect(area.data.account.name).toBe("whmcs_901");
    expect(await (await post("/bridge/SuspendAccount", whmcsParams(999))).json()).toEqual({
      result: "Service 999 has no VPN account (whmcs_999)",
    });
  });

  test("no token, a wrong token, an unknown function, a bad body, a GET", async () => {
    const none = await post("/bridge/CreateAccount", whmcsParams(902), null);
    expect(none.status).toBe(401);
    expect(await none.json()).toEqual({ result: "Not authorized" });
    expect((await post("/bridge/CreateAccount", whmcsParams(902), `${TOKEN}x`)).status).toBe(401);
    expect(node.vpncp.accounts.list().some((a) => a.name === "whmcs_902")).toBe(false);

    const unknown = await post("/bridge/DeleteEverything", {});
    expect(unknown.status).toBe(404);
    expect(await unknown.json()).toEqual({ result: "Unknown function: DeleteEverything" });
    const bad = await post("/bridge/CreateAccount", "{not json");
    expect(bad.status).toBe(400);
    expect(await bad.json()).toEqual({ result: "Malformed request body" });
    expect((await post("/bridge/CreateAccount", "[1,2]")).status).toBe(400);
    const get = await fetch(`${bridge.url}/bridge/CreateAccount`, { headers: { authorization: `Bearer ${TOKEN}` } });
    expect(get.status).toBe(405);
  });
});
