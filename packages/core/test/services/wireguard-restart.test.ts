/**
 * A supervised wireguard-go that dies is started again by its driver with its peers, on a new
 * device without the old one's qdiscs: the driver tells the reconciler (onInterfaceRecreated),
 * which shapes that interface again from storage, without an API call and without reloading
 * the firewall (it matches interfaces by name, so it lost nothing).
 */
import { createFakeDrivers } from "@vpncp/drivers";
import { afterEach, describe, expect, test, vi } from "vitest";
import { createVpncp, type Vpncp } from "../../src/index.js";

const open: Vpncp[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((v) => v.close()));
});

async function start() {
  const drivers = createFakeDrivers();
  const vpncp = await createVpncp({ drivers, storage: { driver: "memory" }, defaultExternalIp: "203.0.113.10", timezone: "UTC" });
  open.push(vpncp);
  await vpncp.servers.create({ name: "a", interfaceName: "wg11", address: "10.0.110.1/24", bDownload: 50 });
  await vpncp.servers.create({ name: "b", interfaceName: "wg12", address: "10.0.120.1/24" });
  const alice = await vpncp.accounts.create({ wgName: "a", name: "alice", bDownload: "20", bUpload: "10" });
  const bob = await vpncp.accounts.create({ wgName: "a", name: "bob", bDownload: "30", bUpload: "5" });
  const carol = await vpncp.accounts.create({ wgName: "b", name: "carol", bDownload: "7", bUpload: "7" });
  return { vpncp, drivers, alice, bob, carol };
}

describe("a WireGuard interface made anew by its driver", () => {
  test("its shaping comes back from storage by itself; the firewall is not reloaded; the other interface is untouched", async () => {
    const { vpncp, drivers, alice, bob, carol } = await start();
    const finished: boolean[] = [];
    vpncp.events.on("reconcile.finished", (event) => {
      finished.push(event.reload);
    });
    const firewallApplies = drivers.firewall.calls.apply;
    // what the kernel does to the old device's qdiscs, then the supervisor's restart
    await drivers.shaper.removeInterface("wg11");
    expect(drivers.shaper.rateOf("wg11", alice.mangle)).toBeUndefined();
    drivers.wireguard.simulateRestart("wg11");

    await vi.waitFor(() => expect(drivers.shaper.rateOf("wg11", alice.mangle)).toEqual({ downloadMbit: 20, uploadMbit: 10 }));
    expect(drivers.shaper.rateOf("wg11", bob.mangle)).toEqual({ downloadMbit: 30, uploadMbit: 5 });
    expect(drivers.shaper.rateOf("wg12", carol.mangle)).toEqual({ downloadMbit: 7, uploadMbit: 7 });
    expect(drivers.firewall.calls.apply).toBe(firewallApplies);
    await vpncp.events.idle();
    expect(finished).toEqual([false]);
    expect(vpncp.system.status().status).toBe("OK");

    // single changes work on the re-shaped interface afterwards
    await vpncp.accounts.update("alice", { bDownload: "40" });
    expect(drivers.shaper.rateOf("wg11", alice.mangle)).toEqual({ downloadMbit: 40, uploadMbit: 10 });
  });

  test("an account change in the same batch as the restart is shaped too (the interface from storage)", async () => {
    const { vpncp, drivers, alice } = await start();
    await drivers.shaper.removeInterface("wg11");
    drivers.wireguard.simulateRestart("wg11");
    // submitted in the same turn: one batch with the restart
    const dave = await vpncp.accounts.create({ wgName: "a", name: "dave", bDownload: "9", bUpload: "3" });
    expect(drivers.shaper.rateOf("wg11", dave.mangle)).toEqual({ downloadMbit: 9, uploadMbit: 3 });
    expect(drivers.shaper.rateOf("wg11", alice.mangle)).toEqual({ downloadMbit: 20, uploadMbit: 10 });
    expect(vpncp.system.status().status).toBe("OK");
  });
});
