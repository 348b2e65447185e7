/**
 * IKEv2 clients are shaped like WireGuard clients: on the IKEv2 port's tunnel device (the
 * libipsec TUN, here the fake's "ipsec0"), with the same per-account classes and rates, kept
 * in line by the one reconcile path — single account changes, server changes, IKEv2 turned
 * on and off, reloads, and a daemon restart that makes the device anew.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createFakeDrivers, type FakeDrivers, FakeIkev2, fakeDriversModule } from "@vpncp/drivers";
import { afterEach, describe, expect, test, vi } from "vitest";
import { createVpncp, type Vpncp } from "../../src/index.js";

interface Setup {
  readonly vpncp: Vpncp;
  readonly drivers: FakeDrivers;
  readonly dataDir: string;
}

const running: Setup[] = [];
const dirs: string[] = [];

async function start(tunnelInterface: string | null = "ipsec0", dataDir?: string): Promise<Setup> {
  const dir = dataDir ?? (await mkdtemp(join(tmpdir(), "vpncp-ikev2-shaping-")));
  if (!dataDir) dirs.push(dir);
  const drivers: FakeDrivers = { ...createFakeDrivers(), ikev2: new FakeIkev2({ tunnelInterface }) };
  const vpncp = await createVpncp({
    drivers: fakeDriversModule(drivers),
    storage: { driver: "fs", options: { base: dir } },
    defaultExternalIp: "203.0.113.10",
    timezone: "UTC",
  });
  const setup = { vpncp, drivers, dataDir: dir };
  running.push(setup);
  return setup;
}

async function stop(setup: Setup): Promise<void> {
  running.splice(running.indexOf(setup), 1);
  await setup.vpncp.close();
}

afterEach(async () => {
  for (const setup of running.splice(0)) await setup.vpncp.close();
  for (const dir of dirs.splice(0)) await rm(dir, { recursive: true, force: true });
});

async function turnIkev2On(vpncp: Vpncp): Promise<void> {
  await vpncp.ikev2.generateCa({ commonName: "test CA", organization: "vpncp" });
  await vpncp.ikev2.generateServerCertificate({ ip: "192.0.2.1" });
}

/** Two servers, one with IKEv2 on; accounts on both, one disabled. */
async function fixture(vpncp: Vpncp) {
  await vpncp.servers.create({ name: "ike", address: "10.0.110.1/24", ikev2: 1, bDownload: 8, bUpload: 4 });
  await vpncp.servers.create({ name: "plain", address: "10.0.120.1/24", ikev2: 0 });
  const bob = await vpncp.accounts.create({ wgName: "ike", name: "bob", bDownload: "20", bUpload: "10" });
  const eve = await vpncp.accounts.create({ wgName: "ike", name: "eve" });
  const off = await vpncp.accounts.create({ wgName: "ike", name: "off", status: "disable" });
  const carol = await vpncp.accounts.create({ wgName: "plain", name: "carol", bDownload: "30" });
  return { bob, eve, off, carol };
}

const marks = (drivers: FakeDrivers, name = "ipsec0") => [...(drivers.shaper.interface(name)?.accounts.keys() ?? [])].sort((a, b) => a - b);

describe("IKEv2 shaping on the tunnel device", () => {
  test("IKEv2 turned on: the active accounts of servers with IKEv2 on get their classes and rates on the tunnel", async () => {
    const { vpncp, drivers } = await start();
    const { bob, eve, carol } = await fixture(vpncp);
    // no certificates yet: no daemon, no tunnel, nothing shaped or classified there
    expect(drivers.shaper.interface("ipsec0")).toBeUndefined();
    expect(drivers.firewall.shapedInterfaces).toEqual([]);

    await turnIkev2On(vpncp);
    const tunnel = drivers.shaper.interface("ipsec0");
    expect(tunnel?.subnets).toEqual(["10.0.110.0/24"]);
    expect(marks(drivers)).toEqual([bob.mangle, eve.mangle]);
    // the same rates as on the WireGuard interface: its own, else the server's default
    expect(drivers.shaper.rateOf("ipsec0", bob.mangle)).toEqual({ downloadMbit: 20, uploadMbit: 10 });
    expect(drivers.shaper.rateOf("ipsec0", eve.mangle)).toEqual({ downloadMbit: 8, uploadMbit: 4 });
    expect(drivers.shaper.rateOf("ipsec0", eve.mangle)).toEqual(drivers.shaper.rateOf("wg0", eve.mangle));
    // downloads leaving through the tunnel get the account's class
    expect(drivers.firewall.shapedInterfaces).toEqual(["ipsec0"]);
    expect(drivers.firewall.downloadClass("ipsec0", bob.allowedIp)).toBe(bob.mangle);
    expect(drivers.shaper.rateOf("ipsec0", carol.mangle)).toBeUndefined();
  });

  test("single account changes update the tunnel's classes too, without reloading the ruleset", async () => {
    const { vpncp, drivers } = await start();
    const { bob, eve, off, carol } = await fixture(vpncp);
    await turnIkev2On(vpncp);
    const applies = drivers.firewall.calls.apply;

    await vpncp.accounts.update("bob", { bDownload: "40", bUpload: "25" });
    expect(drivers.shaper.rateOf("ipsec0", bob.mangle)).toEqual({ downloadMbit: 40, uploadMbit: 25 });

    await vpncp.accounts.update("bob", { status: "disable" });
    expect(drivers.shaper.rateOf("ipsec0", bob.mangle)).toBeUndefined();
    expect(drivers.firewall.downloadClass("ipsec0", bob.allowedIp)).toBeNull();
    await vpncp.accounts.update("bob", { status: "enable" });
    expect(drivers.shaper.rateOf("ipsec0", bob.mangle)).toEqual({ downloadMbit: 40, uploadMbit: 25 });
    expect(drivers.firewall.downloadClass("ipsec0", bob.allowedIp)).toBe(bob.mangle);

    await vpncp.accounts.update("off", { status: "enable" });
    expect(drivers.shaper.rateOf("ipsec0", off.mangle)).toEqual({ downloadMbit: 8, uploadMbit: 4 });
    const dan = await vpncp.accounts.create({ wgName: "ike", name: "dan", bDownload: "5" });
    expect(drivers.shaper.rateOf("ipsec0", dan.mangle)).toEqual({ downloadMbit: 5, uploadMbit: 4 });
    // an account of a server without IKEv2 stays off the tunnel, whatever it changes
    await vpncp.accounts.update("carol", { bDownload: "31" });
    expect(drivers.shaper.rateOf("ipsec0", carol.mangle)).toBeUndefined();
    expect(drivers.shaper.rateOf("wg1", carol.mangle)).toEqual({ downloadMbit: 31, uploadMbit: 0 });

    await vpncp.accounts.remove("bob");
    expect(drivers.shaper.rateOf("ipsec0", bob.mangle)).toBeUndefined();
    expect(marks(drivers)).toEqual([eve.mangle, off.mangle, dan.mangle].sort((a, b) => a - b));
    expect(drivers.firewall.calls.apply).toBe(applies);
  });

  test("a server turning IKEv2 off and on takes its accounts off and back onto the tunnel", async () => {
    const { vpncp, drivers } = await start();
    const { bob, eve, carol } = await fixture(vpncp);
    await turnIkev2On(vpncp);
    await vpncp.servers.update("ike", { ikev2: 0 });
    expect(drivers.shaper.interface("ipsec0")).toMatchObject({ subnets: [] });
    expect(marks(drivers)).toEqual([]);
    await vpncp.servers.update("plain", { ikev2: 1 });
    expect(marks(drivers)).toEqual([carol.mangle]);
    expect(drivers.shaper.rateOf("ipsec0", carol.mangle)).toEqual({ downloadMbit: 30, uploadMbit: 0 });
    await vpncp.servers.update("ike", { ikev2: 1 });
    expect(marks(drivers)).toEqual([bob.mangle, eve.mangle, carol.mangle].sort((a, b) => a - b));
    expect([...(drivers.shaper.interface("ipsec0")?.subnets ?? [])].sort()).toEqual(["10.0.110.0/24", "10.0.120.0/24"]);
  });

  test("IKEv2 turned off again (certificate deleted): the tunnel's shaping goes, and the ruleset no longer classifies there", async () => {
    const { vpncp, drivers } = await start();
    await fixture(vpncp);
    await turnIkev2On(vpncp);
    await vpncp.ikev2.deleteServerCertificate();
    expect(drivers.shaper.interface("ipsec0")).toBeUndefined();
    expect(drivers.firewall.shapedInterfaces).toEqual([]);
    expect(drivers.shaper.interfaces).toEqual(["wg0", "wg1"]);
  });

  test("a reload shapes the tunnel again; so does a restart of vpncp", async () => {
    const first = await start();
    const { bob, eve } = await fixture(first.vpncp);
    await turnIkev2On(first.vpncp);
    await first.drivers.shaper.removeInterface("ipsec0");
    await first.vpncp.reload();
    expect(marks(first.drivers)).toEqual([bob.mangle, eve.mangle]);

    await stop(first);
    const second = await start("ipsec0", first.dataDir);
    expect(marks(second.drivers)).toEqual([bob.mangle, eve.mangle]);
    expect(second.drivers.shaper.rateOf("ipsec0", bob.mangle)).toEqual({ downloadMbit: 20, uploadMbit: 10 });
    expect(second.drivers.firewall.shapedInterfaces).toEqual(["ipsec0"]);
  });

  test("a daemon restart makes the device anew, without qdiscs: its shaping is applied again, also under a new name", async () => {
    const { vpncp, drivers } = await start();
    const { bob, eve } = await fixture(vpncp);
    await turnIkev2On(vpncp);
    // the old device and its qdiscs are gone with the old daemon
    await drivers.shaper.removeInterface("ipsec0");
    drivers.ikev2.simulateRestart();
    await vi.waitFor(() => expect(marks(drivers)).toEqual([bob.mangle, eve.mangle]));

    drivers.ikev2.simulateRestart("ipsec1");
    await vi.waitFor(() => expect(drivers.firewall.shapedInterfaces).toEqual(["ipsec1"]));
    expect(marks(drivers, "ipsec1")).toEqual([bob.mangle, eve.mangle]);
    expect(drivers.shaper.interface("ipsec0")).toBeUndefined();
    expect(drivers.firewall.downloadClass("ipsec1", bob.allowedIp)).toBe(bob.mangle);
    // and single changes go to the new device
    await vpncp.accounts.update("bob", { bDownload: "7" });
    expect(drivers.shaper.rateOf("ipsec1", bob.mangle)).toEqual({ downloadMbit: 7, uploadMbit: 10 });
  });

  test("with kernel ESP (no tunnel device) nothing is shaped for IKEv2 and the ruleset has no extra interface", async () => {
    const { vpncp, drivers } = await start(null);
    await fixture(vpncp);
    const applies = drivers.firewall.calls.apply;
    await turnIkev2On(vpncp);
    expect(drivers.ikev2.running).toBe(true);
    expect(drivers.shaper.interfaces).toEqual(["wg0", "wg1"]);
    expect(drivers.firewall.shapedInterfaces).toEqual([]);
    expect(drivers.firewall.calls.apply).toBe(applies);
  });
});
