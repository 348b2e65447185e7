/**
 * Issue 8, point 3 on the fakes: a port that fails in the middle of a change. vpncp keeps the
 * change (storage is the truth), answers the documented error envelope, shows the failing port
 * in /system/status, and a reload — PUT /api/v1/system/reload, the automatic retry, or the next
 * change once the tool works again — makes the drivers hold exactly what storage holds.
 */
import { createVpncp, ERRORS, type Vpncp } from "@vpncp/core";
import { createFakeDrivers, type FakeDrivers } from "@vpncp/drivers";
import { type FaultyDrivers, injectFaults } from "@vpncp/drivers/test";
import { createStorage } from "unstorage";
import { afterAll, afterEach, beforeAll, describe, expect, test, vi } from "vitest";
import { createHttpApp } from "../../src/app.js";
import { type FormApi, formApi } from "../support/form-api.js";

const SAVED_NOT_APPLIED = ERRORS.DRIVER_FAILED.message;
const STATUS_NOT_OK = ERRORS.STATUS_NOT_OK.message;

/** What the fakes hold, in a form two driver sets can be compared by (no counters, sorted). */
function driverState(d: FakeDrivers) {
  const byKey = <T>(items: readonly T[], key: (t: T) => string | number) =>
    [...items].sort((a, b) => String(key(a)).localeCompare(String(key(b))));
  return {
    wireguard: byKey([...d.wireguard.interfaces().values()], (i) => i.name).map((i) => ({
      name: i.name,
      listenPort: i.listenPort,
      addresses: [...i.addresses].sort(),
      peers: byKey([...i.peers.values()], (p) => p.publicKey).map((p) => ({
        publicKey: p.publicKey,
        allowedIps: [...p.allowedIps].sort(),
        presharedKey: p.presharedKey,
        keepalive: p.persistentKeepalive,
      })),
    })),
    firewall: {
      servers: byKey(d.firewall.servers, (s) => s.name),
      accounts: byKey(d.firewall.accounts, (a) => a.mark),
    },
    shaper: [...d.shaper.interfaces].sort().map((name) => {
      const shaped = d.shaper.interface(name);
      return { name, subnets: shaped?.subnets, accounts: byKey([...(shaped?.accounts.values() ?? [])], (a) => a.mark) };
    }),
    ikev2: {
      connections: byKey(d.ikev2.connections, (c) => c.name).map((c) => ({
        name: c.name,
        dns: c.dns,
        localTs: c.localTs,
        subnet4: c.subnet4,
      })),
      users: byKey(d.ikev2.users, (u) => u.username),
    },
  };
}

/** What a fresh vpncp on fresh fakes applies from a copy of this storage: the state storage asks for. */
async function storedState(vpncp: Vpncp): Promise<ReturnType<typeof driverState>> {
  const copy = createStorage();
  for (const key of await vpncp.storage.getKeys()) await copy.setItem(key, await vpncp.storage.getItem(key));
  const fresh = createFakeDrivers();
  const other = await createVpncp({ drivers: fresh, storage: copy, defaultExternalIp: "203.0.113.10", timezone: "UTC" });
  try {
    return driverState(fresh);
  } finally {
    await other.close();
  }
}

describe("a driver failing mid-change (fakes behind a fault injector)", () => {
  let fakes: FakeDrivers;
  let faulty: FaultyDrivers<FakeDrivers>;
  let vpncp: Vpncp;
  let api: FormApi["api"];
  let status: FormApi["status"];
  let counter = 0;

  const freshAccount = async () => {
    counter += 1;
    const name = `acc_${counter}`;
    const created = await api("POST", "/api/v1/account", { wg_name: "srv", name, b_download: "10", b_upload: "5" });
    expect(created.body.status).toBe("success");
    return name;
  };

  beforeAll(async () => {
    fakes = createFakeDrivers();
    faulty = injectFaults(fakes);
    vpncp = await createVpncp({
      drivers: faulty.drivers,
      storage: { driver: "memory" },
      defaultExternalIp: "203.0.113.10",
      timezone: "UTC",
    });
    const hash = (await vpncp.accessHashes.create()).hash;
    ({ api, status } = formApi(createHttpApp(vpncp), hash));
    await api("POST", "/api/v1/wireguard", { name: "srv", address: "10.0.50.1/24" });
    // IKEv2 on, so account changes reach all four ports
    await api("PUT", "/api/v1/ikev2/generate_ca_rsa", { ca_common_name: "CA", ca_organization: "Org" });
    await api("PUT", "/api/v1/ikev2/generate_server_rsa", { server_domain: "vpn.example.com" });
    await api("PUT", "/api/v1/ikev2", { enabled: "1" });
    expect((await api("PUT", "/api/v1/wireguard/srv", { ikev2: "1" })).body.status).toBe("success");
    await freshAccount();
    // one account on the server's default rate, which a server change reshapes
    expect((await api("POST", "/api/v1/account", { wg_name: "srv", name: "on_default_rate" })).body.status).toBe("success");
    expect(await status()).toBe("OK");
    expect(driverState(fakes)).toEqual(await storedState(vpncp));
  }, 60_000);

  afterAll(async () => {
    await vpncp?.close();
  });

  type Port = keyof FaultyDrivers<FakeDrivers>["faults"];
  const LABEL: Record<Port, string> = { wireguard: "WireGuard", firewall: "firewall", shaper: "shaper", ikev2: "IKEv2" };
  const ACCOUNT_OPERATIONS = [
    ["wireguard", "updatePeers"],
    ["firewall", "updateAccounts"],
    ["shaper", "updateAccounts"],
    ["ikev2", "updateUsers"],
  ] as const;
  const WHOLE_OPERATIONS = [
    ["wireguard", "applyInterface"],
    ["firewall", "apply"],
    ["shaper", "applyInterfaces"],
    ["ikev2", "apply"],
  ] as const;

  const WHOLE = Object.fromEntries(WHOLE_OPERATIONS) as Record<Port, string>;

  afterEach(async () => {
    // a failed case leaves no fault behind for the next one
    faulty.clear();
    await api("PUT", "/api/v1/system/reload");
  });

  interface Change {
    readonly what: string;
    /** What the change needs beforehand (made while every tool works): an account's name. */
    prepare?(): Promise<string>;
    /** Makes the change; returns a check that storage holds it. */
    run(name: string): Promise<{ response: Awaited<ReturnType<typeof api>>; stored: () => Promise<void> }>;
  }

  const CHANGES: readonly (Change & { readonly operations: readonly (readonly [Port, string])[] })[] = [
    {
      what: "create an account",
      operations: ACCOUNT_OPERATIONS,
      async run() {
        counter += 1;
        const name = `acc_${counter}`;
        const response = await api("POST", "/api/v1/account", { wg_name: "srv", name, b_download: "10" });
        return {
          response,
          stored: async () => expect((await api("GET", `/api/v1/account/${name}`)).body.msg.name).toBe(name),
        };
      },
    },
    {
      what: "edit an account (address, rate, password)",
      operations: ACCOUNT_OPERATIONS,
      prepare: freshAccount,
      async run(name) {
        const free = (await api("GET", "/api/v1/wireguard/srv/available_ips")).body.msg as unknown as string[];
        const address = free[free.length - 1] ?? "";
        const response = await api("PUT", `/api/v1/account/${name}`, { allowed_IPs: address, b_download: "77", password: "NewPass9" });
        return {
          response,
          stored: async () =>
            expect((await api("GET", `/api/v1/account/${name}`)).body.msg).toMatchObject({ allowed_IPs: address, b_download: "77" }),
        };
      },
    },
    {
      what: "delete an account",
      operations: ACCOUNT_OPERATIONS,
      prepare: freshAccount,
      async run(name) {
        const response = await api("DELETE", `/api/v1/account/${name}`);
        return {
          response,
          stored: async () => expect((await api("GET", `/api/v1/account/${name}`)).body.error).toBe("Account not found"),
        };
      },
    },
    {
      what: "change a server",
      operations: WHOLE_OPERATIONS,
      async run() {
        counter += 1;
        // a value each port holds: the listening port, NAT's address, the default rate, IKEv2's DNS
        const fields = {
          listen_port: String(52_000 + counter),
          external_ip: `203.0.113.${(counter % 250) + 1}`,
          b_download: String(counter),
          dns_1: `192.0.2.${(counter % 250) + 1}`,
        };
        const response = await api("PUT", "/api/v1/wireguard/srv", fields);
        return {
          response,
          stored: async () => expect((await api("GET", "/api/v1/wireguard/srv")).body.msg).toMatchObject(fields),
        };
      },
    },
  ];

  const cases = CHANGES.flatMap((change) =>
    change.operations.flatMap(([port, operation]) => (["before", "after"] as const).map((mode) => ({ change, port, operation, mode }))),
  );

  test.each(cases)(
    "$change.what, $port $operation failing ($mode it acts): error envelope, degraded status, change kept, reload repairs",
    async ({ change, port, operation, mode }) => {
      const name = (await change.prepare?.()) ?? "";
      faulty.faults[port].fail(operation as never, { mode });
      const before = faulty.faults[port].injected.length;
      const { response, stored } = await change.run(name);
      expect(faulty.faults[port].injected.length).toBeGreaterThan(before);

      // the answer: the envelope with the sentence that says the change is kept and retried
      expect(response.status).toBe(500);
      expect(response.body).toEqual({ error: SAVED_NOT_APPLIED, msg: "", status: "error" });
      // the degraded state, with the port and operation that failed
      expect(await status()).toMatch(new RegExp(`^Error \\(${LABEL[port]} ${operation}: `));
      // kept in storage; the drivers do not hold it yet (the failing tool did nothing)
      await stored();
      if (mode === "before") expect(driverState(fakes)).not.toEqual(await storedState(vpncp));

      // while the tool still fails (a reload uses its whole-state operation), a reload cannot repair:
      // the pages' sentence, and the status stays degraded
      faulty.faults[port].fail(WHOLE[port] as never);
      const refused = await api("PUT", "/api/v1/system/reload");
      expect(refused.status).toBe(503);
      expect(refused.body).toEqual({ error: STATUS_NOT_OK, msg: "", status: "error" });
      expect(await status()).toMatch(/^Error \(/);

      faulty.clear();
      const repaired = await api("PUT", "/api/v1/system/reload");
      expect(repaired.body).toEqual({ error: "", msg: "success", status: "success" });
      expect(await status()).toBe("OK");
      expect(driverState(fakes)).toEqual(await storedState(vpncp));
    },
  );

  test.each(WHOLE_OPERATIONS)(
    "a reload with %s %s failing answers `PUQVPNCP status not OK`; the next reload repairs",
    async (port, operation) => {
      const name = await freshAccount();
      // behind vpncp's back: the account's peer is gone from the system
      const key = String((await api("GET", `/api/v1/account/${name}`)).body.msg.public_key);
      const iface = [...fakes.wireguard.interfaces().keys()][0] ?? "";
      await fakes.wireguard.updatePeers(iface, { upsert: [], remove: [key] });
      faulty.faults[port].fail(operation as never, { times: 1 });
      const refused = await api("PUT", "/api/v1/system/reload");
      expect(refused).toEqual({ status: 503, body: { error: STATUS_NOT_OK, msg: "", status: "error" } });
      expect(await status()).toMatch(new RegExp(`^Error \\(${LABEL[port]} ${operation}: `));
      const repaired = await api("PUT", "/api/v1/system/reload");
      expect(repaired.body.msg).toBe("success");
      expect(await status()).toBe("OK");
      expect(driverState(fakes)).toEqual(await storedState(vpncp));
    },
  );

  test("once the tool works again, the next change repairs what an earlier one left undone", async () => {
    faulty.faults.wireguard.fail("updatePeers", { times: 1 });
    const first = await api("POST", "/api/v1/account", { wg_name: "srv", name: "kept_1" });
    expect(first.body.error).toBe(SAVED_NOT_APPLIED);
    expect(driverState(fakes)).not.toEqual(await storedState(vpncp));
    // the tool works again: an unrelated change succeeds and brings the first along (a whole reload)
    const second = await api("POST", "/api/v1/account", { wg_name: "srv", name: "kept_2" });
    expect(second.body.status).toBe("success");
    expect(await status()).toBe("OK");
    expect(driverState(fakes)).toEqual(await storedState(vpncp));
  });

  test("a tool failing on one server's interface only: that change fails, a change elsewhere repairs both", async () => {
    expect((await api("POST", "/api/v1/wireguard", { name: "other", address: "10.0.51.1/24" })).body.status).toBe("success");
    const otherIface = String((await api("GET", "/api/v1/wireguard/other")).body.msg.interface_name);
    faulty.faults.shaper.fail("updateAccounts", { when: (name) => name === otherIface });
    const there = await api("POST", "/api/v1/account", { wg_name: "other", name: "on_other" });
    expect(there.body.error).toBe(SAVED_NOT_APPLIED);
    expect(await status()).toMatch(/^Error \(shaper updateAccounts: .*shaper\.updateAccounts/);
    // still failing there, but the next change is applied as a whole reload, which does not need it
    const here = await api("POST", "/api/v1/account", { wg_name: "srv", name: "on_srv" });
    expect(here.body.status).toBe("success");
    expect(await status()).toBe("OK");
    expect(driverState(fakes)).toEqual(await storedState(vpncp));
    expect(faulty.faults.shaper.injected.map((call) => call.args[0])).toContain(otherIface);
  });

  test("a change after a failure is not reported applied while the tool still fails", async () => {
    faulty.faults.firewall.fail("updateAccounts");
    faulty.faults.firewall.fail("apply");
    expect((await api("POST", "/api/v1/account", { wg_name: "srv", name: "still_1" })).body.error).toBe(SAVED_NOT_APPLIED);
    // this change needs no firewall call of its own, but the system must first be made whole again
    const rateOnly = await api("PUT", "/api/v1/account/still_1", { b_download: "3" });
    expect(rateOnly.body.error).toBe(SAVED_NOT_APPLIED);
    expect(await status()).toMatch(/^Error \(firewall /);
    faulty.clear();
    expect((await api("PUT", "/api/v1/system/reload")).body.msg).toBe("success");
    expect(driverState(fakes)).toEqual(await storedState(vpncp));
  });

  test("without anyone asking, vpncp retries the stored state and repairs itself", async () => {
    faulty.faults.shaper.fail("updateAccounts", { times: 1 });
    expect((await api("POST", "/api/v1/account", { wg_name: "srv", name: "self_healed" })).body.error).toBe(SAVED_NOT_APPLIED);
    expect(await status()).toMatch(/^Error \(shaper updateAccounts: /);
    expect(driverState(fakes)).not.toEqual(await storedState(vpncp));
    // the first retry comes 2 s after the failure
    await vi.waitFor(async () => expect(await status()).toBe("OK"), { timeout: 8_000, interval: 100 });
    expect(driverState(fakes)).toEqual(await storedState(vpncp));
  }, 20_000);
});
