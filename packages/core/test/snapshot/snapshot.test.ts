import { fakeDriversModule } from "@vpncp/drivers";
import { createStorage } from "unstorage";
import memoryDriver from "unstorage/drivers/memory";
import { afterEach, describe, expect, test } from "vitest";
import {
  createVpncp,
  exportSnapshot,
  importSnapshot,
  parseSnapshot,
  SnapshotError,
  serializeSnapshot,
  type Vpncp,
  type VpncpSnapshot,
  validateSnapshot,
} from "../../src/index.js";
import { type Harness, startHarness, testClock } from "../services/harness.js";

const open: { close(): Promise<void> }[] = [];
afterEach(async () => {
  for (const item of open.splice(0).reverse()) await item.close();
});

/** An installation with something of every kind a snapshot carries; returns it and a hash valid from any address. */
async function installation(): Promise<{ h: Harness; hash: string }> {
  const clock = testClock("2026-10-31T10:00:00Z");
  const h = await startHarness({ clock });
  open.push(h);
  const { vpncp } = h;
  await vpncp.servers.create({ name: "s1", address: "10.0.105.1/24", listenPort: 51900, dns2: "", mtu: 1420 });
  await vpncp.servers.create({ name: "s2", address: "10.0.106.1/24", ipv6: true, endpoint: "vpn.example.com", ikev2: true });
  await vpncp.accounts.create({ wgName: "s1", name: "alice", allowedIp: "10.0.105.18", bDownload: 20, password: "pa$$word" });
  await vpncp.accounts.create({ wgName: "s1", name: "bob", status: "disable", publicKey: "xTIBA5rboUvnH4htodjb6e697QjLERt1NAB4mZqp8Dg=" });
  await vpncp.accounts.create({ wgName: "s2", name: "carol" });
  await vpncp.ikev2.generateCa({ commonName: "test CA", organization: "vpncp" });
  await vpncp.ikev2.generateServerCertificate({ ip: "192.0.2.1" });
  await vpncp.system.setConfig({ trafficStatisticsHistory: 5, wireguardHandshakeUptime: 120 });
  await vpncp.otl.setConfig({ title: "Moved", lifetime: 30 });
  await vpncp.otl.setProtocolConfig("ikev2", { enable_config_qr: true });
  await vpncp.otl.create("carol");
  const { hash } = await vpncp.accessHashes.create();
  await vpncp.accessHashes.create({ ip: "192.0.2.7" });
  // traffic on two days: the first is moved into its month record by the next day's sample, the second stays a day record
  h.drivers.firewall.simulateTraffic("10.0.105.18", { downBytes: 1000, upBytes: 300 });
  await vpncp.statistics.sample();
  clock.set("2026-11-01T09:00:00Z");
  h.drivers.firewall.simulateTraffic("10.0.105.18", { downBytes: 500, upBytes: 200 });
  await vpncp.statistics.sample();
  return { h, hash };
}

async function openOn(storage: ReturnType<typeof createStorage>): Promise<Vpncp> {
  const vpncp = await createVpncp({ drivers: fakeDriversModule(), storage, timezone: "UTC" });
  open.push(vpncp);
  return vpncp;
}

/** What the API shows of an installation, as plain data. */
async function answers(vpncp: Vpncp) {
  const accounts = vpncp.accounts.list();
  return {
    servers: vpncp.servers.list(),
    accounts,
    configs: accounts.map((a) => vpncp.views.configText(a.name)),
    profiles: accounts.map((a) => vpncp.views.ikev2Profile(a.name)),
    statistics: await Promise.all(
      accounts.flatMap((a) => [vpncp.statistics.month(a.name, 2026, 10), vpncp.statistics.month(a.name, 2026, 11)]),
    ),
    ikev2: await vpncp.ikev2.config(),
    system: vpncp.system.config,
    otl: [await vpncp.otl.config(), await vpncp.otl.protocolConfig("wireguard"), await vpncp.otl.protocolConfig("ikev2")],
    links: (await vpncp.otl.list()).map((l) => l.key),
    hashes: (await vpncp.accessHashes.list()).map((e) => e.digest).sort(),
  };
}

describe("snapshots", () => {
  test("export → JSON → import into an empty storage gives an installation that answers exactly as the original", async () => {
    const { h, hash } = await installation();
    const snapshot = await exportSnapshot(h.vpncp.storage, { now: new Date("2026-11-01T09:30:00Z") });
    expect(snapshot.servers.map((s) => s.name)).toEqual(["s1", "s2"]);
    expect(snapshot.accounts.map((a) => a.name)).toEqual(["alice", "bob", "carol"]);
    expect(snapshot.statistics).toEqual({ alice: { "2026-10-31": [1000, 300], "2026-11-01": [500, 200] } });
    expect(snapshot.ikev2.ca?.privateKeyPem).toContain("PRIVATE KEY");
    expect(snapshot.accessHashes).toHaveLength(2);
    expect(JSON.stringify(snapshot)).not.toContain(hash);

    const target = createStorage({ driver: memoryDriver() });
    let lastProgress: [number, number] = [0, 0];
    const summary = await importSnapshot(target, JSON.parse(serializeSnapshot(snapshot)), {
      now: new Date("2026-11-01T09:30:00Z"),
      onProgress: (done, total) => {
        lastProgress = [done, total];
      },
    });
    expect(summary).toMatchObject({ servers: 2, accounts: 3, accessHashes: 2, links: 1, expiredLinks: 0, statisticsDays: 2 });
    expect(lastProgress).toEqual([summary.records, summary.records]);

    const moved = await openOn(target);
    expect(await answers(moved)).toEqual(await answers(h.vpncp));
    expect(await moved.accessHashes.verify(hash, "198.51.100.1")).toBe(true);
    // and the moved installation exports the same snapshot
    const again = await exportSnapshot(target, { now: new Date("2026-11-01T09:30:00Z") });
    expect(again).toEqual(snapshot);
  });

  test("import validates everything first: every problem is listed with where it is, and nothing is written", async () => {
    const { h } = await installation();
    const good = await exportSnapshot(h.vpncp.storage);
    const bad = structuredClone(good) as unknown as {
      servers: Record<string, unknown>[];
      accounts: Record<string, unknown>[];
      statistics: Record<string, unknown>;
    };
    bad.servers[1]!.listenPort = bad.servers[0]!.listenPort;
    bad.servers[1]!.address = "10.0.105.77/24";
    bad.accounts[1]!.allowedIp = bad.accounts[0]!.allowedIp;
    bad.accounts[1]!.mangle = bad.accounts[0]!.mangle;
    bad.accounts[2]!.wgName = "nowhere";
    bad.accounts[0]!.password = "has space";
    bad.statistics.ghost = { "2026-11-01": [1, 2] };
    const target = createStorage({ driver: memoryDriver() });
    const error = await importSnapshot(target, bad).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SnapshotError);
    expect((error as SnapshotError).problems).toEqual([
      "servers[1] (s2).listenPort: Port already in use",
      "servers[1] (s2).address: IP address or subnet already in use",
      "accounts[0] (alice).password: Wrong password (1 to 128 printable characters, no spaces or quotes)",
      "accounts[1] (bob).mangle: mark 100 is already another account's",
      "accounts[1] (bob).allowedIp: IP address already in use",
      "accounts[2] (carol).wgName: Wireguard server not valid",
      "statistics.ghost: statistics of an account the snapshot does not hold",
    ]);
    expect(await target.getKeys()).toEqual([]);

    expect(() => parseSnapshot("{")).toThrow(/not JSON/);
    expect(() => validateSnapshot({ ...good, version: 2 })).toThrow(/version 2 is not supported/);
    expect(() => validateSnapshot({ format: "other" })).toThrow(/not a vpncp snapshot/);
  });

  test("an import into a storage that holds an installation is refused and changes nothing; access hashes alone do not count", async () => {
    const { h } = await installation();
    const snapshot: VpncpSnapshot = await exportSnapshot(h.vpncp.storage);
    await expect(importSnapshot(h.vpncp.storage, snapshot)).rejects.toThrow(/already holds an installation/);

    const target = createStorage({ driver: memoryDriver() });
    await target.setItem("auth:hashes:ab", { id: "ab", digest: "ab".repeat(32), ip: null, createdAt: "2026-01-01T00:00:00Z" });
    await importSnapshot(target, snapshot);
    expect((await target.getKeys("auth:hashes")).length).toBe(3);
  });
});
