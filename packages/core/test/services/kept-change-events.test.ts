/**
 * A change the system could not apply yet is kept (storage is the truth) and applied by the
 * reconciler's retry: its domain event is published all the same, since an event says what
 * storage holds, so a webhook hears of every kept change. The fault injector makes a port fail.
 */
import { type DomainEvent, ERRORS, type Vpncp } from "@vpncp/core";
import { createFakeDrivers } from "@vpncp/drivers";
import { injectFaults } from "@vpncp/drivers/test";
import { afterEach, describe, expect, test } from "vitest";
import { createVpncp } from "../../src/index.js";

const open: Vpncp[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((v) => v.close()));
});

async function start() {
  const fakes = createFakeDrivers();
  const faulty = injectFaults(fakes);
  const vpncp = await createVpncp({ drivers: faulty.drivers, storage: { driver: "memory" }, defaultExternalIp: "203.0.113.10" });
  open.push(vpncp);
  const events: DomainEvent[] = [];
  vpncp.events.on("*", (event) => {
    events.push(event);
  });
  const domain = () => events.filter((e) => /^(account|server)\./.test(e.type));
  return { vpncp, fakes, faulty, events, domain };
}

const driverFailed = { code: "DRIVER_FAILED", message: ERRORS.DRIVER_FAILED.message };

describe("events of changes kept after a failed apply", () => {
  test("account create, edit (with a status change), set_bandwidth and delete: each publishes what storage holds", async () => {
    const { vpncp, fakes, faulty, events, domain } = await start();
    await vpncp.servers.create({ name: "srv" });
    await vpncp.accounts.create({ wgName: "srv", name: "alice" });
    await vpncp.events.idle();
    events.length = 0;

    faulty.faults.wireguard.fail("updatePeers");
    faulty.faults.wireguard.fail("applyInterface");
    await expect(vpncp.accounts.create({ wgName: "srv", name: "bob", bDownload: "5" })).rejects.toMatchObject(driverFailed);
    await expect(vpncp.accounts.update("alice", { status: "disable" })).rejects.toMatchObject(driverFailed);
    await expect(vpncp.accounts.remove("bob")).rejects.toMatchObject(driverFailed);
    faulty.faults.shaper.fail("updateAccounts");
    await expect(vpncp.accounts.setBandwidth("srv", "9", undefined)).rejects.toMatchObject(driverFailed);
    await vpncp.events.idle();

    expect(domain().map((e) => e.type)).toEqual([
      "account.created",
      "account.updated",
      "account.disabled",
      "account.deleted",
      "account.updated",
    ]);
    const created = domain()[0] as DomainEvent<"account.created">;
    expect(created.account).toMatchObject({ name: "bob", bDownload: 5 });
    expect(created.account).not.toHaveProperty("password");
    const disabled = domain()[2] as DomainEvent<"account.disabled">;
    expect(disabled.account.status).toBe("disable");
    expect((domain()[4] as DomainEvent<"account.updated">).account).toMatchObject({ name: "alice", bDownload: 9 });
    // the events said what storage holds (the system did not hold it yet)
    expect(vpncp.accounts.get("alice")).toMatchObject({ status: "disable", bDownload: 9 });
    expect(() => vpncp.accounts.get("bob")).toThrow(ERRORS.ACCOUNT_NOT_FOUND.message);
    expect(events.filter((e) => e.type === "reconcile.failed").length).toBeGreaterThan(0);

    // and the system gets there: the repair applies what the events announced
    faulty.clear();
    await vpncp.reload();
    const iface = vpncp.servers.get("srv").interfaceName;
    expect(fakes.wireguard.interfaces().get(iface)?.peers.size).toBe(0); // alice is disabled, bob deleted
  });

  test("server create, edit and delete kept after a failed apply publish their events too", async () => {
    const { vpncp, faulty, domain } = await start();
    faulty.faults.firewall.fail("apply");
    await expect(vpncp.servers.create({ name: "srv" })).rejects.toMatchObject(driverFailed);
    await expect(vpncp.servers.update("srv", { dns1: "9.9.9.9" })).rejects.toMatchObject(driverFailed);
    await expect(vpncp.servers.remove("srv")).rejects.toMatchObject(driverFailed);
    await vpncp.events.idle();
    expect(domain().map((e) => e.type)).toEqual(["server.created", "server.updated", "server.deleted"]);
    expect((domain()[1] as DomainEvent<"server.updated">).server.dns1).toBe("9.9.9.9");
    expect(vpncp.servers.list()).toEqual([]);
  });

  test("a change refused before it is stored publishes nothing", async () => {
    const { vpncp, domain } = await start();
    await vpncp.servers.create({ name: "srv" });
    await expect(vpncp.accounts.create({ wgName: "nope", name: "bob" })).rejects.toMatchObject({ code: "SERVER_NOT_VALID" });
    await vpncp.events.idle();
    expect(domain().map((e) => e.type)).toEqual(["server.created"]);
  });
});
