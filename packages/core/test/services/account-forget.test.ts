/**
 * What account deletion forgets, at the edges: a traffic sample under way when the account is
 * deleted (it read the account's counters before the delete and books them after it), and
 * one-time links that do not go through deletion (stored by an earlier vpncp, without the
 * account's uuid).
 */
import { createFakeDrivers } from "@vpncp/drivers";
import { createStorage } from "unstorage";
import { afterEach, describe, expect, test } from "vitest";
import { createVpncp, type Vpncp } from "../../src/index.js";

const open: Vpncp[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((v) => v.close()));
});

const clock = { now: () => new Date("2022-11-10T12:00:00Z") };

async function start() {
  const storage = createStorage();
  const drivers = createFakeDrivers();
  const vpncp = await createVpncp({ drivers, storage, clock, defaultExternalIp: "203.0.113.10", timezone: "UTC" });
  open.push(vpncp);
  await vpncp.servers.create({ name: "srv", address: "10.0.105.1/24" });
  const alice = await vpncp.accounts.create({ wgName: "srv", name: "alice", allowedIp: "10.0.105.18" });
  return { vpncp, drivers, storage, alice };
}

const trafficOf = async (vpncp: Vpncp, name: string) =>
  (await vpncp.statistics.month(name, "2022", "11")).reduce((sum, d) => sum + d.traffic_download + d.traffic_upload, 0);

describe("account deletion forgets", () => {
  test("a sample under way when the account is deleted books it first; the delete then forgets it all", async () => {
    const { vpncp, drivers, storage, alice } = await start();
    drivers.firewall.simulateTraffic("10.0.105.18", { downBytes: 1000, upBytes: 100 });
    await vpncp.statistics.sample();
    drivers.firewall.simulateTraffic("10.0.105.18", { downBytes: 500, upBytes: 50 });

    // hold the next sample where it writes what it read (alice's counters at 1500/150)
    let release = () => {};
    const held = new Promise<void>((resolve) => (release = resolve));
    let reached = () => {};
    const writing = new Promise<void>((resolve) => (reached = resolve));
    const setItem = storage.setItem.bind(storage);
    let holding = true;
    storage.setItem = (async (key: string, value: unknown, opts?: unknown) => {
      if (holding && key.startsWith("stats:days:")) {
        holding = false;
        reached();
        await held;
      }
      return setItem(key, value as never, opts as never);
    }) as typeof storage.setItem;

    const sample = vpncp.statistics.sample();
    await writing;
    let removed = false;
    const removal = vpncp.accounts.remove("alice").then(() => {
      removed = true;
    });
    await new Promise((resolve) => setTimeout(resolve, 50));
    // the delete waits for the sample's turn (the sample holds the account's readings)
    expect(removed).toBe(false);
    release();
    expect((await sample).deltas.get("alice")).toEqual({ download: 500, upload: 50 });
    await removal;

    // a new alice with the same address and mark starts from zero, and its traffic counts whole
    // (not less the old alice's last reading)
    const again = await vpncp.accounts.create({ wgName: "srv", name: "alice", allowedIp: "10.0.105.18" });
    expect(again.mangle).toBe(alice.mangle);
    expect(await trafficOf(vpncp, "alice")).toBe(0);
    drivers.firewall.simulateTraffic("10.0.105.18", { downBytes: 4000, upBytes: 400 });
    await vpncp.statistics.sample();
    expect(await trafficOf(vpncp, "alice")).toBe(4400);
  }, 10_000);

  test("when forgetting fails (storage), the deletion still reaches the system, and the failure is logged", async () => {
    const storage = createStorage();
    const errors: { message: string; fields?: Record<string, unknown> }[] = [];
    const logger = { info() {}, warn() {}, error: (message: string, fields?: Record<string, unknown>) => errors.push({ message, fields }) };
    const drivers = createFakeDrivers();
    const vpncp = await createVpncp({ drivers, storage, clock, logger, defaultExternalIp: "203.0.113.10", timezone: "UTC" });
    open.push(vpncp);
    const server = await vpncp.servers.create({ name: "srv", address: "10.0.105.1/24" });
    await vpncp.accounts.create({ wgName: "srv", name: "alice" });
    const getKeys = storage.getKeys.bind(storage);
    storage.getKeys = (async (base?: string, opts?: unknown) => {
      if (base?.startsWith("otl:links")) throw new Error("EIO: i/o error");
      return getKeys(base, opts as never);
    }) as typeof storage.getKeys;

    await vpncp.accounts.remove("alice");
    expect(drivers.wireguard.interfaces().get(server.interfaceName)?.peers.size).toBe(0);
    expect(errors).toEqual([
      { message: "forgetting a deleted account's data failed", fields: { account: "alice", error: "Error: EIO: i/o error" } },
    ]);
  });

  test("a link without the account's uuid (an earlier vpncp's) opens only an account older than the link", async () => {
    const { vpncp, storage } = await start();
    const link = (key: string, createdAt: string) => ({
      key,
      account: "alice",
      createdAt,
      expiresAt: "2022-11-20T00:00:00.000Z",
    });
    const before = "a".repeat(80);
    const after = "b".repeat(80);
    // alice was created at 12:00: a link from 11:00 was another (deleted) alice's
    await storage.setItem(`otl:links:${before}`, link(before, "2022-11-10T11:00:00.000Z"));
    await storage.setItem(`otl:links:${after}`, link(after, "2022-11-10T12:00:00.000Z"));
    expect(await vpncp.otl.isLive(before)).toBe(false);
    expect(await vpncp.otl.consume(before)).toBeNull();
    expect((await vpncp.otl.consume(after))?.account.name).toBe("alice");
  });

  test("a link carries the account's uuid: it does not open a later account of the same name even if it was left behind", async () => {
    const { vpncp, storage } = await start();
    const { link } = await vpncp.otl.create("alice");
    const stored = await storage.getItem(`otl:links:${link.key}`);
    await vpncp.accounts.remove("alice");
    expect(await storage.getItem(`otl:links:${link.key}`)).toBeNull();
    await vpncp.accounts.create({ wgName: "srv", name: "alice" });
    // put back, as a copy of older storage would
    await storage.setItem(`otl:links:${link.key}`, stored);
    expect(await vpncp.otl.isLive(link.key)).toBe(false);
  });
});
