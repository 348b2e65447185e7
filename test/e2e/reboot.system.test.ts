/**
 * Issue 4 step 7: after the server namespace is destroyed and rebuilt (a
 * reboot), `vpncp` started again restores every interface, peer, rule, class
 * and secret from storage; and editing accounts while a client is connected
 * never interrupts that client.
 */
import { execFile, execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { realToolsUnavailable, uniqueName } from "../../packages/drivers/test/netns.js";
import { caFromSswan, startCharonCmd } from "./charon-cmd.js";
import {
  ADDRESSES,
  createTopology,
  links,
  ROOT,
  startVpncp,
  startWgClient,
  type Topology,
  uniqueWgInterface,
  type VpncpProcess,
  type WgClient,
  waitForPing,
} from "./lab.js";

const run = promisify(execFile);
const skip =
  realToolsUnavailable(["wg", "wg-quick", "wireguard-go", "nft", "tc", "swanctl", "charon-systemd", "charon-cmd", "stdbuf", "ping"]) ||
  (existsSync("/dev/net/tun") ? false : "no /dev/net/tun");

describe.skipIf(Boolean(skip))("reboot: vpncp restores everything from storage", () => {
  let topology: Topology & { client2: import("../../packages/drivers/test/netns.js").TestNamespace | null };
  let vpncp: VpncpProcess;
  let dataDir: string;
  const clients: WgClient[] = [];
  const iface = uniqueWgInterface();
  const marks: Record<string, string> = {};

  beforeAll(async () => {
    execFileSync("npx", ["tsc", "-b", "tsconfig.build.json"], { cwd: ROOT, stdio: "inherit" });
    topology = createTopology({ extraClient: true });
    dataDir = mkdtempSync(join(tmpdir(), "vpncp-e2e-reboot-"));
    vpncp = await startVpncp({ netns: topology.server.name, dataDir, wan: topology.wan });
  });

  afterAll(async () => {
    if (process.env.VPNCP_E2E_LOG) console.log(vpncp?.output());
    for (const client of clients) client.stop();
    const code = await vpncp?.stop();
    topology?.dispose();
    if (dataDir && !process.env.VPNCP_E2E_KEEP) rmSync(dataDir, { recursive: true, force: true });
    expect(code).toBe(0);
  });

  test("before: two WireGuard clients and an IKEv2 login work", async () => {
    await vpncp.api("PUT", "/api/v1/ikev2/generate_ca_rsa", { ca_common_name: "reboot CA", ca_organization: "vpncp" });
    await vpncp.api("PUT", "/api/v1/ikev2/generate_server_rsa", { server_ip: ADDRESSES.serverPublic });
    await vpncp.api("POST", "/api/v1/wireguard", {
      name: "main",
      interface_name: iface,
      address: "10.79.0.1/24",
      external_ip: ADDRESSES.serverWan,
      endpoint: ADDRESSES.serverPublic,
      ikev2: 1,
      keep_alive: 5,
    });
    for (const [name, body] of [
      ["alice", { b_download: 30, b_upload: 10 }],
      ["bob", { b_download: 20, b_upload: 5 }],
      ["carol", { password: "Carol-pw-1" }],
    ] as const) {
      const created = await vpncp.api<Record<string, string>>("POST", "/api/v1/account", { wg_name: "main", name, ...body });
      expect(created.body.status).toBe("success");
      marks[name] = Number(created.body.msg.mangle).toString(16);
    }
    const aliceConfig = (await vpncp.api<string>("GET", "/api/v1/account/alice/config_text")).body.msg;
    const bobConfig = (await vpncp.api<string>("GET", "/api/v1/account/bob/config_text")).body.msg;
    clients.push(startWgClient(topology.client, aliceConfig, uniqueName("wa"), [`${ADDRESSES.internet}/32`]));
    clients.push(startWgClient(topology.client2!, bobConfig, uniqueName("wb"), [`${ADDRESSES.internet}/32`]));
    expect(await waitForPing(topology.client, ADDRESSES.internet)).toBe(true);
    expect(await waitForPing(topology.client2!, ADDRESSES.internet)).toBe(true);
  });

  test("the server namespace is destroyed and rebuilt; vpncp started again restores interfaces, peers, rules, classes and secrets", async () => {
    expect(await vpncp.stop()).toBe(0);
    topology.rebootServer();
    expect(links(topology.server)).not.toContain(iface);
    vpncp = await startVpncp({ netns: topology.server.name, dataDir, wan: topology.wan, hash: vpncp.hash });

    const server = topology.server;
    const peers = server.exec("wg", ["show", iface, "allowed-ips"]);
    expect(peers).toMatch(/10\.79\.0\.2\/32/);
    expect(peers).toMatch(/10\.79\.0\.3\/32/);
    const ruleset = server.exec("nft", ["list", "table", "inet", "vpncp"]);
    for (const ip of ["10.79.0.2", "10.79.0.3", "10.79.0.4"]) expect(ruleset).toContain(ip);
    const classes = server.exec("tc", ["class", "show", "dev", iface]);
    expect(classes).toMatch(new RegExp(`class htb 1:${marks.alice} .*rate 30Mbit`));
    expect(classes).toMatch(new RegExp(`class htb 1:${marks.bob} .*rate 20Mbit`));

    // the clients never restarted: they find the rebuilt server by themselves
    expect(await waitForPing(topology.client, ADDRESSES.internet, 45_000)).toBe(true);
    expect(await waitForPing(topology.client2!, ADDRESSES.internet, 45_000)).toBe(true);

    // the EAP secret is back: carol logs in with her password
    const ca = caFromSswan((await vpncp.api<string>("GET", "/api/v1/account/carol/ikev2_profile")).body.msg);
    const carol = startCharonCmd(topology.client2!, {
      host: ADDRESSES.serverPublic,
      identity: ca.username,
      remoteId: ca.remoteId,
      caPem: ca.pem,
      password: "Carol-pw-1",
      remoteTs: "0.0.0.0/0",
    });
    try {
      await carol.waitFor(/installing new virtual IP 10\.79\.0\.4/);
    } finally {
      await carol.stop();
    }
    expect(peers).toMatch(/10\.79\.0\.4\/32/);
  });

  test("editing, adding and removing other accounts never interrupts a connected client", async () => {
    await waitForPing(topology.client, ADDRESSES.internet);
    const before = (await vpncp.api<Record<string, string>>("GET", "/api/v1/account/alice/dump")).body.msg;
    // 60 pings 0.1 s apart from alice while the others change
    const pinging = run("ip", ["netns", "exec", topology.client.name, "ping", "-c", "60", "-i", "0.1", "-W", "1", ADDRESSES.internet]);
    const started = performance.now();
    let calls = 0;
    for (let i = 0; i < 3; i += 1) {
      calls += 6;
      await vpncp.api("PUT", "/api/v1/account/bob", { b_download: 10 + i, b_upload: 3 + i });
      await vpncp.api("PUT", "/api/v1/account/bob", { status: "disable" });
      await vpncp.api("PUT", "/api/v1/account/bob", { status: "enable" });
      const extra = await vpncp.api<Record<string, string>>("POST", "/api/v1/account", { wg_name: "main" });
      await vpncp.api("PUT", "/api/v1/account/carol", { password: `Carol-pw-${i + 2}` });
      await vpncp.api("DELETE", `/api/v1/account/${extra.body.msg.name}`);
    }
    await vpncp.api("PUT", `/api/v1/wireguard/main`, { dns_2: "9.9.9.9" });
    console.log(`[reboot e2e] ${calls + 1} changes in ${Math.round(performance.now() - started)} ms`);
    const { stdout } = await pinging;
    expect(stdout).toMatch(/60 packets transmitted, 60 received, 0% packet loss/);
    const after = (await vpncp.api<Record<string, string>>("GET", "/api/v1/account/alice/dump")).body.msg;
    // the same session: same endpoint, and the peer's counters kept growing (a re-added peer starts from zero)
    expect(after.endpoint).toBe(before.endpoint);
    expect(Number(after.latest_handshake)).toBeGreaterThanOrEqual(Number(before.latest_handshake));
    expect(Number(after.transfer_rx)).toBeGreaterThan(Number(before.transfer_rx));
  });
});
