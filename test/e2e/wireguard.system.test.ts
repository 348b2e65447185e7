/**
 * Issue 4, steps 1–4 and 6 (and issue 5's measured transfer), end to end: a
 * server and an account created through the HTTP API of `vpncp serve
 * --drivers system --netns …`, a real WireGuard client configured from
 * `config_text` alone, real traffic measured with iperf3 — once per firewall driver.
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { realToolsUnavailable, uniqueName } from "../../packages/drivers/test/netns.js";
import { iperf, startIperfServer } from "./iperf.js";
import {
  ADDRESSES,
  createTopology,
  links,
  pings,
  ROOT,
  startVpncp,
  startWgClient,
  type Topology,
  uniqueWgInterface,
  type VpncpProcess,
  type WgClient,
  waitForPing,
} from "./lab.js";
import { connectFrom, startPeerListener } from "./peer-listener.js";

const skip = realToolsUnavailable(["wg", "wg-quick", "wireguard-go", "nft", "iptables-nft", "tc", "iperf3", "zbarimg", "ping"]);

const within = (value: number, target: number, tolerance: number) => Math.abs(value - target) <= target * tolerance;

interface Day {
  date: string;
  traffic_download: number;
  traffic_upload: number;
}

describe.skipIf(Boolean(skip)).each(["nftables", "iptables"] as const)("end to end over WireGuard with the %s firewall", (firewall) => {
  let topology: Topology;
  let vpncp: VpncpProcess;
  let dataDir: string;
  let client: WgClient | null = null;
  let iperfServer: { stop(): Promise<void> } | null = null;
  const iface = uniqueWgInterface();
  const server = `e2e_${firewall}`;
  let configText = "";
  let account: Record<string, string> = {};

  beforeAll(async () => {
    execFileSync("npx", ["tsc", "-b", "tsconfig.build.json"], { cwd: ROOT, stdio: "inherit" });
    topology = createTopology();
    dataDir = mkdtempSync(join(tmpdir(), "vpncp-e2e-"));
    vpncp = await startVpncp({ netns: topology.server.name, dataDir, wan: topology.wan, firewall });
    iperfServer = await startIperfServer(topology.internet);
  });

  afterAll(async () => {
    if (process.env.VPNCP_E2E_LOG) console.log(vpncp?.output());
    client?.stop();
    await iperfServer?.stop();
    const code = await vpncp?.stop();
    topology?.dispose();
    if (dataDir && !process.env.VPNCP_E2E_KEEP) rmSync(dataDir, { recursive: true, force: true });
    expect(code).toBe(0);
  });

  test("1: a server and an account made through the API; a client configured from config_text alone reaches the internet host through NAT", async () => {
    const created = await vpncp.api("POST", "/api/v1/wireguard", {
      name: server,
      interface_name: iface,
      listen_port: 51820,
      address: "10.77.0.1/24",
      external_ip: ADDRESSES.serverWan,
      endpoint: ADDRESSES.serverPublic,
    });
    expect(created.body).toMatchObject({ status: "success", msg: { interface_name: iface, listen_port: "51820" } });
    const added = await vpncp.api<Record<string, string>>("POST", "/api/v1/account", {
      wg_name: server,
      name: "alice",
      b_download: 20,
      b_upload: 10,
    });
    expect(added.body.status).toBe("success");
    account = added.body.msg;
    expect(account.allowed_IPs).toBe("10.77.0.2");

    configText = (await vpncp.api<string>("GET", "/api/v1/account/alice/config_text")).body.msg;
    expect(configText).toContain(`Endpoint = ${ADDRESSES.serverPublic}:51820`);
    client = startWgClient(topology.client, configText, uniqueName("wc"), [`${ADDRESSES.internet}/32`]);

    expect(pings(topology.client, ADDRESSES.internet, 3)).toBe(true);
    const dump = (await vpncp.api<Record<string, string>>("GET", "/api/v1/account/alice/dump")).body.msg;
    expect(Number(dump.latest_handshake)).toBeGreaterThan(0);
    expect(dump.endpoint).toMatch(/^192\.0\.2\.2:\d+$/);

    // the internet host sees the server's external address: NAT
    const listener = await startPeerListener(topology.internet, 8080);
    try {
      expect(connectFrom(topology.client, ADDRESSES.internet, 8080)).toBe("hello\n");
      await expect.poll(() => listener.peers).toEqual([ADDRESSES.serverWan]);
    } finally {
      await listener.stop();
    }
    const nat = (await vpncp.api<string>("GET", `/api/v1/wireguard/${server}/firewall_nat_rules`)).body.msg;
    expect(nat).toMatch(
      new RegExp(
        `^10\\.77\\.0\\.0/24 -> 0\\.0\\.0\\.0/0 SNAT to:${ADDRESSES.serverWan.replace(/\./g, "\\.")} Pkt:[1-9]\\d* Bytes:[1-9]\\d*$`,
        "m",
      ),
    );
  });

  test("6: the QR code from config_qr decodes to exactly config_text", async () => {
    const qr = (await vpncp.api<string>("GET", "/api/v1/account/alice/config_qr")).body.msg;
    const file = join(dataDir, "qr.png");
    writeFileSync(file, Buffer.from(qr, "base64"));
    const decoded = execFileSync("zbarimg", ["--raw", "-q", file], { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] });
    expect(decoded).toBe(`${configText}\n`);
  });

  test("2: iperf3 through the tunnel holds b_download and b_upload within ±15%, and new rates hold without reconnecting", async () => {
    const down = await iperf(topology.client, ADDRESSES.internet, { download: true });
    const up = await iperf(topology.client, ADDRESSES.internet, { download: false });
    expect(within(down.mbps, 20, 0.15), `download ${down.mbps} Mbit/s`).toBe(true);
    expect(within(up.mbps, 10, 0.15), `upload ${up.mbps} Mbit/s`).toBe(true);

    const before = (await vpncp.api<Record<string, string>>("GET", "/api/v1/account/alice/dump")).body.msg;
    const edited = await vpncp.api<Record<string, string>>("PUT", "/api/v1/account/alice", { b_download: 40, b_upload: 25 });
    expect(edited.body.msg).toMatchObject({ b_download: "40", b_upload: "25" });
    const down2 = await iperf(topology.client, ADDRESSES.internet, { download: true });
    const up2 = await iperf(topology.client, ADDRESSES.internet, { download: false });
    expect(within(down2.mbps, 40, 0.15), `download after PUT ${down2.mbps} Mbit/s`).toBe(true);
    expect(within(up2.mbps, 25, 0.15), `upload after PUT ${up2.mbps} Mbit/s`).toBe(true);
    const after = (await vpncp.api<Record<string, string>>("GET", "/api/v1/account/alice/dump")).body.msg;
    // same session: the server saw no new endpoint, and its counters kept growing
    expect(after.endpoint).toBe(before.endpoint);
    expect(Number(after.transfer_rx)).toBeGreaterThan(Number(before.transfer_rx));

    const tc = (await vpncp.api<string>("GET", "/api/v1/account/alice/traffic_control")).body.msg;
    expect(tc).toMatch(new RegExp(`^${iface} --> class htb 1:${Number(account.mangle).toString(16)} .*rate 40Mbit`, "m"));
    expect(tc).toMatch(/--> class htb 1:[0-9a-f]+ .*rate 25Mbit/);
  });

  test("3: firewall_mangle_rules counters grow with the traffic; dump shows transfer", async () => {
    const rules = (await vpncp.api<string>("GET", "/api/v1/account/alice/firewall_mangle_rules")).body.msg;
    const mark = Number(account.mangle).toString(16);
    const down = new RegExp(`^0\\.0\\.0\\.0/0 -> 10\\.77\\.0\\.2 MARK 0x${mark} Pkt:(\\d+) Bytes:(\\d+)$`, "m").exec(rules);
    const up = new RegExp(`^10\\.77\\.0\\.2 -> 0\\.0\\.0\\.0/0 MARK 0x${mark} Pkt:(\\d+) Bytes:(\\d+)$`, "m").exec(rules);
    expect(down, rules).not.toBeNull();
    expect(up, rules).not.toBeNull();
    expect(Number(down?.[2])).toBeGreaterThan(10_000_000);
    expect(Number(up?.[2])).toBeGreaterThan(5_000_000);
    const dump = (await vpncp.api<Record<string, string>>("GET", "/api/v1/account/alice/dump")).body.msg;
    expect(Number(dump.transfer_tx)).toBeGreaterThan(10_000_000);
  });

  test("issue 5: a transfer of known size appears in the day's statistics within 5%, both directions", async () => {
    const today = async (): Promise<Day> => {
      const now = new Date();
      const days = (
        await vpncp.api<Day[]>("GET", `/api/v1/account/alice/traffic_statistics/${now.getUTCFullYear()}/${now.getUTCMonth() + 1}`)
      ).body.msg;
      return days.find((d) => d.date === now.toISOString().slice(0, 10))!;
    };
    await vpncp.api("PUT", "/api/v1/system/statistics/sample");
    const start = await today();
    const size = 30 * 1024 * 1024;
    const received = await iperf(topology.client, ADDRESSES.internet, { download: true, bytes: size });
    await vpncp.api("PUT", "/api/v1/system/statistics/sample");
    const middle = await today();
    await iperf(topology.client, ADDRESSES.internet, { download: false, bytes: size });
    await vpncp.api("PUT", "/api/v1/system/statistics/sample");
    const end = await today();
    const downloaded = middle.traffic_download - start.traffic_download;
    const uploaded = end.traffic_upload - middle.traffic_upload;
    expect(within(downloaded, received.bytes, 0.05), `download counted ${downloaded} for ${received.bytes}`).toBe(true);
    expect(within(uploaded, size, 0.05), `upload counted ${uploaded} for ${size}`).toBe(true);
  });

  test("4: disable stops the tunnel, enable restores it; DELETE leaves no peer, rule or class behind", async () => {
    await vpncp.api("PUT", "/api/v1/account/alice", { status: "disable" });
    expect(pings(topology.client, ADDRESSES.internet, 2)).toBe(false);
    expect(topology.server.exec("wg", ["show", iface, "peers"]).trim()).toBe("");
    await vpncp.api("PUT", "/api/v1/account/alice", { status: "enable" });
    expect(await waitForPing(topology.client, ADDRESSES.internet)).toBe(true);

    const mark = Number(account.mangle).toString(16);
    const deleted = await vpncp.api("DELETE", "/api/v1/account/alice");
    expect(deleted.body).toEqual({ error: "", msg: "success", status: "success" });
    expect(topology.server.exec("wg", ["show", iface, "peers"]).trim()).toBe("");
    const rules =
      firewall === "nftables" ? topology.server.exec("nft", ["list", "ruleset"]) : topology.server.exec("iptables-nft-save", []);
    expect(rules).not.toContain("10.77.0.2");
    for (const link of links(topology.server)) {
      expect(topology.server.exec("tc", ["class", "show", "dev", link]), link).not.toMatch(new RegExp(`class htb 1:${mark} `));
      expect(topology.server.exec("tc", ["filter", "show", "dev", link]), link).not.toMatch(new RegExp(`flowid 1:${mark}\\b`));
    }
    expect(pings(topology.client, ADDRESSES.internet, 2)).toBe(false);
  });
});
