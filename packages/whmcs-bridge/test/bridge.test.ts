import { VpncpClient } from "@vpncp/http/client";
import { afterAll, afterEach, beforeAll, describe, expect, test } from "vitest";
import { bandwidthOf, bytesToWhmcsMb, createWhmcsBridge, WHMCS_MB, type WhmcsBridge } from "../src/index.js";
import { startNode, type TestNode, whmcsParams } from "./harness.js";

const MiB = 1024 * 1024;

function nodesOf(...nodes: { id: string; node: TestNode; region?: string }[]) {
  return nodes.map(({ id, node, region }) => ({ id, url: node.url, accessHash: node.hash, region }));
}

function hasAccount(node: TestNode, name: string): boolean {
  return node.vpncp.accounts.list().some((a) => a.name === name);
}

describe("WHMCS bridge over two vpncp nodes: the life of a service", () => {
  let alpha: TestNode;
  let beta: TestNode;
  let bridge: WhmcsBridge;

  beforeAll(async () => {
    // alpha: 2 of 10 accounts used (20% full); beta: 5 of 100 (5%) with IKEv2 on and a 100/40 Mbit default
    [alpha, beta] = await Promise.all([
      startNode({ accountLimit: 10, existingAccounts: 2 }),
      startNode({ accountLimit: 100, existingAccounts: 5, bDownload: 100, bUpload: 40, ikev2: true }),
    ]);
    bridge = await createWhmcsBridge({
      nodes: nodesOf({ id: "alpha", node: alpha }, { id: "beta", node: beta }),
      storage: { driver: "memory" },
      retryDelayMs: 1,
    });
  });
  afterAll(async () => {
    await bridge?.close();
    await Promise.all([alpha?.close(), beta?.close()]);
  });

  test("create, client area, suspend, unsuspend, change package, change password, usage, admin tab, terminate", async () => {
    const params = whmcsParams(101);

    // create: the least-full node (beta, by accounts / limit), with the package's bandwidth
    expect(await bridge.CreateAccount(params)).toBe("success");
    expect(await bridge.services.get("101")).toMatchObject({
      node: "beta",
      server: beta.server.name,
      account: "whmcs_101",
      state: "active",
    });
    const created = beta.vpncp.accounts.get("whmcs_101");
    expect(created).toMatchObject({ username: "whmcs_101", password: "Pw-101-secret", status: "enable", bDownload: 20, bUpload: 5 });
    expect(hasAccount(alpha, "whmcs_101")).toBe(false);
    expect(beta.drivers.shaper.rateOf(beta.server.interfaceName, created.mangle)).toEqual({ downloadMbit: 20, uploadMbit: 5 });

    // client area: WireGuard config and QR, IKEv2 profiles (on on beta), this month's traffic
    const area = await bridge.ClientArea(params);
    expect(area.result).toBe("success");
    expect(area.data?.service).toEqual({ serviceid: "101", node: "beta", region: null, server: beta.server.name });
    expect(area.data?.account).toMatchObject({ name: "whmcs_101", status: "enable", b_download: "20", b_upload: "5" });
    expect(area.data?.config_text).toContain(`PrivateKey = ${created.privateKey}`);
    expect(Buffer.from(area.data!.config_qr, "base64").subarray(1, 4).toString()).toBe("PNG");
    expect(area.data?.ikev2?.server).toBe("vpn.test.example");
    expect(JSON.parse(area.data!.ikev2!.sswan)).toMatchObject({ type: "ikev2-eap", local: { eap_id: "whmcs_101" } });
    expect(area.data?.ikev2?.mobileconfig).toContain("<string>whmcs_101</string>");
    expect(area.data?.traffic).toMatchObject({ download_bytes: 0, upload_bytes: 0, total_mb: 0 });
    const now = new Date();
    expect(area.data?.traffic.days[0]?.date).toBe(`${now.getUTCFullYear()}-${String(now.getUTCMonth() + 1).padStart(2, "0")}-01`);

    // the one-time link opens once
    const otl = await bridge.OneTimeLink(params);
    expect(otl.result).toBe("success");
    expect(otl.data?.url).toMatch(new RegExp(`^${beta.url}/otl/[0-9a-f]{80}$`));
    expect(await (await fetch(otl.data!.url)).text()).toContain("[Interface]");
    expect(await (await fetch(otl.data!.url)).text()).toContain("This link is no longer valid");

    // suspend: the account is disabled, its peer leaves the interface
    expect(await bridge.SuspendAccount(params)).toBe("success");
    expect(beta.vpncp.accounts.get("whmcs_101").status).toBe("disable");
    expect(beta.drivers.wireguard.interfaces().get(beta.server.interfaceName)?.peers.has(created.publicKey)).toBe(false);

    expect(await bridge.UnsuspendAccount(params)).toBe("success");
    expect(beta.vpncp.accounts.get("whmcs_101").status).toBe("enable");
    expect(beta.drivers.wireguard.interfaces().get(beta.server.interfaceName)?.peers.has(created.publicKey)).toBe(true);

    // change package: the new bandwidth reaches the account and the shaper
    const upgraded = { ...params, configoptions: { "Bandwidth Download": "50", "Bandwidth Upload": "10 Mbit" } };
    expect(await bridge.ChangePackage(upgraded)).toBe("success");
    const beta1 = new VpncpClient({ baseUrl: beta.url, accessHash: beta.hash });
    expect(await beta1.getAccount("whmcs_101")).toMatchObject({ b_download: "50", b_upload: "10" });
    expect(beta.drivers.shaper.rateOf(beta.server.interfaceName, created.mangle)).toEqual({ downloadMbit: 50, uploadMbit: 10 });

    // 0 = the server's default (100/40 on beta); re-applied on every change, also over a change by hand
    const basic = { ...params, configoptions: { "Bandwidth Download": "0", "Bandwidth Upload": "0" } };
    expect(await bridge.ChangePackage(basic)).toBe("success");
    expect(await beta1.getAccount("whmcs_101")).toMatchObject({ b_download: "100", b_upload: "40" });
    expect(beta.drivers.shaper.rateOf(beta.server.interfaceName, created.mangle)).toEqual({ downloadMbit: 100, uploadMbit: 40 });
    await beta1.updateAccount("whmcs_101", { b_download: 1 });
    expect(await bridge.ChangePackage(basic)).toBe("success");
    expect(beta.vpncp.accounts.get("whmcs_101").bDownload).toBe(0);

    // a package without the configurable options falls back to the product settings (configoption1/2)
    const productDefaults = { ...params, configoptions: [], configoption1: "30", configoption2: "15" };
    expect(await bridge.ChangePackage(productDefaults)).toBe("success");
    expect(await beta1.getAccount("whmcs_101")).toMatchObject({ b_download: "30", b_upload: "15" });
    expect(await bridge.ChangePackage({ ...params, configoptions: { "Bandwidth Download": "fast" } })).toBe(
      'Bandwidth Download must be a whole number of Mbit (0 = the server default), got "fast"',
    );

    expect(await bridge.ChangePassword({ ...params, password: "Changed-2" })).toBe("success");
    expect(beta.vpncp.accounts.get("whmcs_101").password).toBe("Changed-2");
    expect(await bridge.ChangePassword({ ...params, password: "has space" })).toBe(
      "Wrong password (1 to 128 printable characters, no spaces or quotes)",
    );

    // usage: 700 MiB down + 100 MiB and 600 000 bytes up = 800.57 MiB → 801 MB in WHMCS
    beta.drivers.firewall.simulateTraffic(created.allowedIp, {
      downBytes: 700 * MiB,
      downPackets: 1000,
      upBytes: 100 * MiB + 600_000,
      upPackets: 900,
    });
    expect((await beta1.sampleStatistics()).accounts).toBeGreaterThan(0);
    const usage = await bridge.UsageUpdate({ serverid: 1 });
    expect(usage.result).toBe("success");
    expect(usage.data?.services).toEqual([
      {
        serviceid: "101",
        account: "whmcs_101",
        node: "beta",
        download_bytes: 700 * MiB,
        upload_bytes: 100 * MiB + 600_000,
        bwusage: 801,
        diskusage: 0,
      },
    ]);
    const traffic = (await bridge.ClientArea(params)).data?.traffic;
    expect(traffic).toMatchObject({ download_mb: 700, upload_mb: 101, total_mb: 801 });

    const admin = await bridge.AdminServicesTabFields(params);
    expect(admin.result).toBe("success");
    expect(admin.data?.node).toEqual({ id: "beta", url: beta.url, region: null });
    expect(admin.data?.dump.allowed_ips).toBe(`${created.allowedIp}/32`);
    expect(admin.data?.mangle_rules).toContain(`MARK 0x${created.mangle.toString(16)}`);
    expect(admin.data?.traffic_control).toContain("class htb");

    // terminate: gone from the node and from the mapping; again: still "success"
    expect(await bridge.TerminateAccount(params)).toBe("success");
    expect(hasAccount(beta, "whmcs_101")).toBe(false);
    expect(await bridge.services.get("101")).toBeNull();
    expect(await bridge.TerminateAccount(params)).toBe("success");
    expect(await bridge.SuspendAccount(params)).toBe("Service 101 has no VPN account (whmcs_101)");
  });

  test("a retried CreateAccount never makes a second account: sequential, concurrent, and after a lost mapping", async () => {
    const params = whmcsParams(202);
    const before = alpha.vpncp.accounts.count + beta.vpncp.accounts.count;
    const [first, second] = await Promise.all([bridge.CreateAccount(params), bridge.CreateAccount(params)]);
    expect([first, second]).toEqual(["success", "success"]);
    expect(await bridge.CreateAccount(params)).toBe("success");
    expect(alpha.vpncp.accounts.count + beta.vpncp.accounts.count).toBe(before + 1);

    // the mapping is lost (storage wiped): the account is found on its node, not made again
    const placed = await bridge.services.get("202");
    await bridge.services.remove("202");
    expect(await bridge.CreateAccount(params)).toBe("success");
    expect(alpha.vpncp.accounts.count + beta.vpncp.accounts.count).toBe(before + 1);
    expect(await bridge.services.get("202")).toMatchObject({ node: placed?.node, account: "whmcs_202" });

    // the account was removed on the node by hand: CreateAccount makes it again where it was mapped
    const node = placed?.node === "alpha" ? alpha : beta;
    await node.vpncp.accounts.remove("whmcs_202");
    expect(await bridge.CreateAccount(params)).toBe("success");
    expect(hasAccount(node, "whmcs_202")).toBe(true);
    expect(await bridge.TerminateAccount(params)).toBe("success");
  });

  test("placement follows fullness (accounts / limit), not the raw count, and fills the emptier node first", async () => {
    const placedOn: string[] = [];
    for (const id of [301, 302, 303]) {
      expect(await bridge.CreateAccount(whmcsParams(id))).toBe("success");
      placedOn.push((await bridge.services.get(String(id)))!.node);
    }
    // beta (≈5-8 of 100) stays emptier than alpha (2 of 10 = 20%) although it holds more accounts
    expect(placedOn).toEqual(["beta", "beta", "beta"]);
    for (const id of [301, 302, 303]) expect(await bridge.TerminateAccount(whmcsParams(id))).toBe("success");
  });

  test("bad input answers with a sentence, never an exception", async () => {
    expect(await bridge.CreateAccount({ serviceid: "" })).toBe("The service has no valid id (serviceid)");
    expect(await bridge.CreateAccount({ ...whmcsParams(401), configoptions: { "Bandwidth Upload": "-3" } })).toBe(
      'Bandwidth Upload must be a whole number of Mbit (0 = the server default), got "-3"',
    );
    expect(await bridge.call("DropDatabase", {})).toEqual({ result: "Unknown function: DropDatabase" });
    expect(await bridge.services.get("401")).toBeNull();
  });
});

describe("WHMCS bridge: a node that goes down mid-life", () => {
  let alpha: TestNode;
  let beta: TestNode;
  let bridge: WhmcsBridge;

  beforeAll(async () => {
    [alpha, beta] = await Promise.all([startNode({ accountLimit: 50 }), startNode({ accountLimit: 50 })]);
    bridge = await createWhmcsBridge({
      nodes: nodesOf({ id: "alpha", node: alpha }, { id: "beta", node: beta }),
      storage: { driver: "memory" },
      timeoutMs: 2_000,
      retries: 1,
      retryDelayMs: 1,
    });
  });
  afterEach(async () => {
    await alpha.start().catch(() => undefined);
  });
  afterAll(async () => {
    await bridge?.close();
    await Promise.all([alpha?.close(), beta?.close()]);
  });

  test("placement skips it, its services fail with a clear sentence, and work again when it is back", async () => {
    // equal nodes: the first in the configuration wins the tie
    expect(await bridge.CreateAccount(whmcsParams(501))).toBe("success");
    expect((await bridge.services.get("501"))?.node).toBe("alpha");
    expect(await bridge.CreateAccount(whmcsParams(502))).toBe("success");
    expect((await bridge.services.get("502"))?.node).toBe("beta");

    await alpha.stop();

    // a new service goes to the node that answers, though alpha is now emptier
    expect(await bridge.CreateAccount(whmcsParams(503))).toBe("success");
    expect((await bridge.services.get("503"))?.node).toBe("beta");

    const suspended = await bridge.SuspendAccount(whmcsParams(501));
    expect(suspended).toMatch(new RegExp(`^VPN node "alpha" is not reachable: Cannot reach vpncp at ${alpha.url}: .*ECONNREFUSED`));
    expect((await bridge.ClientArea(whmcsParams(501))).result).toBe(suspended);
    expect(await bridge.SuspendAccount(whmcsParams(502))).toBe("success");

    const usage = await bridge.UsageUpdate({});
    expect(usage.result).toMatch(/^Usage of 1 service\(s\) could not be read: 501 \(VPN node "alpha" is not reachable/);
    expect(usage.data?.services.map((s) => s.serviceid)).toEqual(["502", "503"]);
    expect(usage.data?.failed.map((f) => f.serviceid)).toEqual(["501"]);

    const test = await bridge.TestConnection({});
    expect(test.result).toMatch(/^alpha: VPN node "alpha" is not reachable/);
    expect(test.data?.nodes.map((n) => [n.id, n.reachable])).toEqual([
      ["alpha", false],
      ["beta", true],
    ]);

    // an unmapped service cannot be confirmed gone while a node is silent
    expect(await bridge.TerminateAccount(whmcsParams(599))).toMatch(
      /^Cannot confirm that service 599 has no VPN account: VPN node "alpha"/,
    );

    await alpha.start();

    expect(await bridge.SuspendAccount(whmcsParams(501))).toBe("success");
    expect(alpha.vpncp.accounts.get("whmcs_501").status).toBe("disable");
    expect((await bridge.UsageUpdate({})).result).toBe("success");
    expect((await bridge.TestConnection({})).result).toBe("success");
    expect(await bridge.TerminateAccount(whmcsParams(599))).toBe("success");
    for (const id of [501, 502, 503]) expect(await bridge.TerminateAccount(whmcsParams(id))).toBe("success");
    expect(alpha.vpncp.accounts.count + beta.vpncp.accounts.count).toBe(0);
  });

  test("a full node is skipped; when every node is full or down, CreateAccount says so", async () => {
    const small = await startNode({ accountLimit: 1 });
    const tiny = await createWhmcsBridge({
      nodes: nodesOf({ id: "small", node: small }, { id: "alpha", node: alpha }),
      storage: { driver: "memory" },
      retryDelayMs: 1,
    });
    try {
      expect(await tiny.CreateAccount(whmcsParams(601))).toBe("success");
      expect((await tiny.services.get("601"))?.node).toBe("small");
      expect(await tiny.CreateAccount(whmcsParams(602))).toBe("success");
      expect((await tiny.services.get("602"))?.node).toBe("alpha");
      await alpha.stop();
      expect(await tiny.CreateAccount(whmcsParams(603))).toBe(
        "No VPN node has room for a new account (small: account limit reached; alpha: down)",
      );
      expect(await tiny.services.get("603")).toBeNull();
      await alpha.start();
      for (const id of [601, 602]) expect(await tiny.TerminateAccount(whmcsParams(id))).toBe("success");
    } finally {
      await tiny.close();
      await small.close();
    }
  });
});

describe("WHMCS bridge: regions", () => {
  test("a Region option or custom field restricts placement to that region's nodes", async () => {
    const [eu, us] = await Promise.all([startNode(), startNode({ existingAccounts: 3 })]);
    const bridge = await createWhmcsBridge({
      nodes: nodesOf({ id: "eu-1", node: eu, region: "eu" }, { id: "us-1", node: us, region: "us" }),
      storage: { driver: "memory" },
    });
    try {
      expect(await bridge.CreateAccount(whmcsParams(701, { customfields: { Region: "us" } }))).toBe("success");
      expect((await bridge.services.get("701"))?.node).toBe("us-1");
      const fromOption = whmcsParams(702, { configoptions: { Region: "eu", "Bandwidth Download": "0" } });
      expect(await bridge.CreateAccount(fromOption)).toBe("success");
      expect((await bridge.services.get("702"))?.node).toBe("eu-1");
      expect((await bridge.ClientArea(fromOption)).data?.service.region).toBe("eu");
      expect(await bridge.CreateAccount(whmcsParams(703, { configoption3: "asia" }))).toBe('No VPN node serves the region "asia"');
    } finally {
      await bridge.close();
      await Promise.all([eu.close(), us.close()]);
    }
  });
});

describe("WHMCS units", () => {
  test("bytes become WHMCS MB (1 048 576 bytes), rounded to the nearest whole MB", () => {
    expect(WHMCS_MB).toBe(1_048_576);
    expect(bytesToWhmcsMb(0)).toBe(0);
    expect(bytesToWhmcsMb(524_287)).toBe(0);
    expect(bytesToWhmcsMb(524_288)).toBe(1);
    expect(bytesToWhmcsMb(5 * 1024 ** 3)).toBe(5120);
    expect(bytesToWhmcsMb(-5)).toBe(0);
  });

  test("bandwidth options: number, 'N Mbit', empty (0), product setting as fallback", () => {
    expect(bandwidthOf({ configoptions: { "Bandwidth Download": 25 } }, "Bandwidth Download", "configoption1")).toBe(25);
    expect(bandwidthOf({ configoptions: { "Bandwidth Download": "25 Mbit/s" } }, "Bandwidth Download", "configoption1")).toBe(25);
    expect(bandwidthOf({ configoptions: { "Bandwidth Download": "" }, configoption1: "8" }, "Bandwidth Download", "configoption1")).toBe(8);
    expect(bandwidthOf({ configoptions: [] }, "Bandwidth Upload", "configoption2")).toBe(0);
  });
});
