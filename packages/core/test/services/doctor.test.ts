/**
 * The doctor compares storage with what the ports hold. Here the fakes are changed behind
 * vpncp's back (through the fake drivers themselves, as a root shell would change the
 * kernel): each difference is named once, and a reload makes the check clean again.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createFakeDrivers, type FakeDrivers, FakeIkev2, fakeDriversModule } from "@vpncp/drivers";
import { afterEach, describe, expect, test } from "vitest";
import { createVpncp, Doctor, firewallAccountSpec, shaperAccountSpec, type Vpncp } from "../../src/index.js";

const running: { vpncp: Vpncp; dir: string }[] = [];

afterEach(async () => {
  for (const { vpncp, dir } of running.splice(0)) {
    await vpncp.close();
    await rm(dir, { recursive: true, force: true });
  }
});

async function start(): Promise<{ vpncp: Vpncp; drivers: FakeDrivers; doctor: Doctor }> {
  const dir = await mkdtemp(join(tmpdir(), "vpncp-doctor-"));
  const drivers: FakeDrivers = { ...createFakeDrivers(), ikev2: new FakeIkev2({ tunnelInterface: "ipsec0" }) };
  const vpncp = await createVpncp({
    drivers: fakeDriversModule(drivers),
    storage: { driver: "fs", options: { base: dir } },
    defaultExternalIp: "203.0.113.10",
    timezone: "UTC",
  });
  running.push({ vpncp, dir });
  return { vpncp, drivers, doctor: vpncp.container.get(Doctor) };
}

async function fixture(vpncp: Vpncp, options: { ikev2: boolean } = { ikev2: true }) {
  // certificates take seconds to make: only where IKEv2 is checked
  if (options.ikev2) {
    await vpncp.ikev2.generateCa({ commonName: "test CA", organization: "vpncp" });
    await vpncp.ikev2.generateServerCertificate({ ip: "192.0.2.1" });
  }
  const ike = await vpncp.servers.create({ name: "ike", address: "10.0.110.1/24", ikev2: 1, bDownload: 8, bUpload: 4 });
  const plain = await vpncp.servers.create({ name: "plain", address: "10.0.120.1/24", ikev2: 0, externalIp: "198.51.100.7" });
  const bob = await vpncp.accounts.create({ wgName: "ike", name: "bob", username: "bobuser", bDownload: "20", bUpload: "10" });
  const eve = await vpncp.accounts.create({ wgName: "ike", name: "eve" });
  const off = await vpncp.accounts.create({ wgName: "ike", name: "off", status: "disable" });
  const carol = await vpncp.accounts.create({ wgName: "plain", name: "carol", bDownload: "30" });
  return { ike, plain, bob, eve, off, carol };
}

describe("Doctor", () => {
  test("what vpncp applied is clean; each change made behind its back is one line; a reload repairs them", async () => {
    const { vpncp, drivers, doctor } = await start();
    const { ike, plain, bob, eve, carol, off } = await fixture(vpncp);
    // IKEv2 and the tunnel's classes included
    expect(await doctor.check()).toEqual([]);

    // a peer removed and a stranger's peer added
    await drivers.wireguard.updatePeers(ike.interfaceName, {
      upsert: [{ publicKey: off.publicKey, allowedIps: ["10.0.110.99/32"] }],
      remove: [bob.publicKey],
    });
    // carol's marks gone from the firewall
    await drivers.firewall.updateAccounts({ upsert: [], remove: [firewallAccountSpec(carol, plain)] });
    // eve's classes gone, bob's download rate changed
    await drivers.shaper.updateAccounts(ike.interfaceName, {
      upsert: [{ ...shaperAccountSpec(bob, ike), downloadMbit: 50 }],
      remove: [shaperAccountSpec(eve, ike)],
    });
    // bob's EAP secret (and connection) gone from charon
    await drivers.ikev2.updateUsers({
      upsert: [],
      remove: [{ connection: "ike", username: "bobuser", password: "x", ipv4: bob.allowedIp }],
    });

    const drift = await doctor.check();
    const lines = drift.map((d) => d.message);
    const wg = `${ike.interfaceName} (server ike)`;
    expect(lines).toEqual(
      expect.arrayContaining([
        `${wg}: peer of account bob (${bob.publicKey}) missing`,
        `${wg}: peer ${off.publicKey} of account off (disabled) present`,
        `firewall: mark 0x${carol.mangle.toString(16)} of account carol (download to ${carol.allowedIp}) missing`,
        `firewall: mark 0x${carol.mangle.toString(16)} of account carol (upload from ${carol.allowedIp}) missing`,
        `${wg}: download class 1:${eve.mangle.toString(16)} of account eve missing`,
        `${wg}: upload class 1:${eve.mangle.toString(16)} of account eve missing`,
        `${wg}: download class 1:${bob.mangle.toString(16)} of account bob at 50 Mbit/s, storage has 20 Mbit/s`,
        "IKEv2: EAP secret of bobuser (account bob) missing",
        "IKEv2: connection of bobuser (account bob) missing",
      ]),
    );
    expect(lines).toHaveLength(9);
    expect(drift.find((d) => d.account === "carol")).toMatchObject({ kind: "mark", problem: "missing", server: "plain" });
    expect(new Set(drift.map((d) => d.kind))).toEqual(new Set(["peer", "mark", "class", "ikev2"]));

    await vpncp.reload();
    expect(await doctor.check()).toEqual([]);
  });

  test("a missing interface is one line, not one per peer and class; NAT and filter rules are checked", async () => {
    const { vpncp, drivers, doctor } = await start();
    const { plain } = await fixture(vpncp, { ikev2: false });
    await drivers.shaper.removeInterface(plain.interfaceName);
    await drivers.wireguard.removeInterface(plain.interfaceName);
    // the whole ruleset without the plain server (its NAT, filter and marks)
    await drivers.firewall.apply({ servers: [], accounts: [] });

    const lines = (await doctor.check()).map((d) => d.message);
    expect(lines).toContain(`${plain.interfaceName} (server plain): interface missing`);
    expect(lines).toContain("firewall: NAT of 10.0.120.0/24 (server plain) missing");
    expect(lines).toContain("firewall: rule for traffic between clients of 10.0.120.0/24 (server plain) missing");
    expect(lines.filter((line) => line.startsWith(`${plain.interfaceName} `))).toHaveLength(1);

    await vpncp.reload();
    expect(await doctor.check()).toEqual([]);
  });

  test("charon not running while IKEv2 servers exist is reported; so is a charon that cannot be read, the rest still checked", async () => {
    const { vpncp, drivers, doctor } = await start();
    const { plain, carol } = await fixture(vpncp);
    await drivers.ikev2.dispose();
    expect((await doctor.check()).map((d) => d.message)).toEqual(["IKEv2: the daemon (charon) does not run"]);

    drivers.ikev2.held = async () => {
      throw new Error("[vpncp] [vici] get-conns: no reply within 3000 ms");
    };
    await drivers.firewall.updateAccounts({ upsert: [], remove: [firewallAccountSpec(carol, plain)] });
    const lines = (await doctor.check()).map((d) => d.message);
    expect(lines).toContain("IKEv2: what charon holds could not be read ([vpncp] [vici] get-conns: no reply within 3000 ms)");
    expect(lines).toContain(`firewall: mark 0x${carol.mangle.toString(16)} of account carol (download to ${carol.allowedIp}) missing`);
  });
});
