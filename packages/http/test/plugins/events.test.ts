import { createVpncp, type DomainEvent, type Vpncp } from "@vpncp/core";
import { createFakeDrivers } from "@vpncp/drivers";
import { afterEach, describe, expect, test } from "vitest";

const open: Vpncp[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((v) => v.close()));
});

async function start(drivers = createFakeDrivers()) {
  const errors: { message: string; fields?: Record<string, unknown> }[] = [];
  const logger = { info() {}, warn() {}, error: (message: string, fields?: Record<string, unknown>) => errors.push({ message, fields }) };
  const vpncp = await createVpncp({ drivers, storage: { driver: "memory" }, defaultExternalIp: "203.0.113.10", logger });
  open.push(vpncp);
  const events: DomainEvent[] = [];
  vpncp.events.on("*", (event) => {
    events.push(event);
  });
  return { vpncp, drivers, events, errors };
}

describe("domain events (library, without the HTTP host)", () => {
  test("account and server changes publish typed events after they are applied, without secrets", async () => {
    const { vpncp, drivers, events } = await start();
    const seenWhenCreated: number[] = [];
    vpncp.events.on("account.created", (event) => {
      // the peer is on the interface when the subscriber runs: the change was applied first
      const iface = drivers.wireguard.interfaces().get(vpncp.servers.get(event.account.wgName).interfaceName);
      seenWhenCreated.push(iface?.peers.size ?? -1);
    });
    const server = await vpncp.servers.create({ name: "srv" });
    const account = await vpncp.accounts.create({ wgName: server.name, name: "alice" });
    await vpncp.accounts.update("alice", { status: "disable" });
    await vpncp.accounts.update("alice", { status: "enable", bDownload: 5 });
    await vpncp.accounts.remove("alice");
    await vpncp.servers.update("srv", { dns1: "9.9.9.9" });
    await vpncp.servers.remove("srv");
    await vpncp.events.idle();

    const domain = events.filter((e) => e.type.startsWith("account.") || e.type.startsWith("server."));
    expect(domain.map((e) => e.type)).toEqual([
      "server.created",
      "account.created",
      "account.updated",
      "account.disabled",
      "account.updated",
      "account.enabled",
      "account.deleted",
      "server.updated",
      "server.deleted",
    ]);
    const created = domain[1] as DomainEvent<"account.created">;
    expect(created.account).toMatchObject({ name: "alice", wgName: "srv", publicKey: account.publicKey, status: "enable" });
    expect(created.account).not.toHaveProperty("password");
    expect(created.account).not.toHaveProperty("privateKey");
    expect((domain[0] as DomainEvent<"server.created">).server).not.toHaveProperty("privateKey");
    const updated = domain[4] as DomainEvent<"account.updated">;
    expect([updated.before.status, updated.account.status, updated.account.bDownload]).toEqual(["disable", "enable", 5]);
    expect(new Set(events.map((e) => e.id)).size).toBe(events.length);
    expect(seenWhenCreated).toEqual([1]);
    expect(events.some((e) => e.type === "reconcile.finished")).toBe(true);
  });

  test("a subscriber that throws, rejects or hangs neither fails nor holds up the change; the error is logged", async () => {
    const { vpncp, errors } = await start();
    vpncp.events.on("server.created", () => {
      throw new Error("subscriber bug");
    });
    vpncp.events.on("server.created", () => Promise.reject(new Error("async subscriber bug")));
    let release = () => {};
    vpncp.events.on("server.created", () => new Promise<void>((resolve) => (release = resolve)));
    const delivered: string[] = [];
    vpncp.events.on("server.created", (event) => {
      delivered.push(event.server.name);
    });
    const server = await vpncp.servers.create({ name: "srv" });
    expect(vpncp.servers.get("srv").name).toBe(server.name);
    // a subscriber runs on a later turn: not inside the change
    expect(delivered).toEqual([]);
    expect(await vpncp.events.idle(200)).toBe(false); // the slow one is still under way
    release();
    expect(await vpncp.events.idle()).toBe(true);
    expect(delivered).toEqual(["srv"]);
    expect(errors.map((e) => e.fields?.error).sort()).toEqual(["async subscriber bug", "subscriber bug"]);
    expect(errors.every((e) => e.message === "event subscriber failed" && e.fields?.event === "server.created")).toBe(true);
  });

  test("a failed apply publishes reconcile.failed; the change it failed is kept, so its account event follows", async () => {
    const drivers = createFakeDrivers();
    const { vpncp, events } = await start(drivers);
    await vpncp.servers.create({ name: "srv" });
    drivers.wireguard.updatePeers = async () => {
      throw new Error("wg set: device busy");
    };
    await expect(vpncp.accounts.create({ wgName: "srv", name: "bob" })).rejects.toThrow();
    await vpncp.events.idle();
    const failed = events.find((e) => e.type === "reconcile.failed") as DomainEvent<"reconcile.failed"> | undefined;
    expect(failed?.error).toMatch(/device busy/);
    // kept in storage and applied by the retry: the event says what storage holds
    expect(events.map((e) => e.type).filter((t) => t === "reconcile.failed" || t === "account.created")).toEqual([
      "reconcile.failed",
      "account.created",
    ]);
  });
});
