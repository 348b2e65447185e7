import type { FirewallAccountSpec, FirewallState } from "@vpncp/core";
import { describe, expect, test } from "vitest";
import { FakeFirewall } from "../../src/firewall/fake.js";
import { testFirewallDriver } from "../contract/firewall.js";

testFirewallDriver({
  name: "fake",
  create: () => new FakeFirewall(),
  sendTraffic: async (firewall, address) =>
    firewall.simulateTraffic(address, { downBytes: 1500, downPackets: 3, upBytes: 900, upPackets: 3 }),
  downloadClass: async (firewall, iface, address) => firewall.downloadClass(iface, address),
  hostRule: {
    async install(firewall) {
      firewall.hostRules.add("inet hostkeep forward: ip saddr 192.0.2.99 accept");
    },
    async intact(firewall) {
      return firewall.hostRules.has("inet hostkeep forward: ip saddr 192.0.2.99 accept");
    },
  },
});

describe("FakeFirewall", () => {
  const a: FirewallAccountSpec = { mark: 0x6d, interface: "wg0", ipv4: "10.0.105.18", ipv6: "fd00:105::18" };
  const b: FirewallAccountSpec = { mark: 0x6e, interface: "wg0", ipv4: "10.0.105.19" };
  const state: FirewallState = {
    wanInterface: "eth0",
    servers: [{ name: "s", interface: "wg0", subnet4: "10.0.105.0/24", externalIp: "", internalTraffic: true }],
    accounts: [b, a],
  };

  test("simulateTraffic counts the download and the upload of the account holding the address", async () => {
    const firewall = new FakeFirewall();
    await firewall.apply(state);
    firewall.simulateTraffic("10.0.105.18", { downBytes: 1000, downPackets: 2, upBytes: 300, upPackets: 1 });
    firewall.simulateTraffic("fd00:105:0::18", { downBytes: 70 });
    firewall.simulateTraffic("10.0.105.99", { downBytes: 5000, upBytes: 5000 });
    expect(await firewall.markRules([a])).toEqual([
      { mark: 0x6d, direction: "down", source: "0.0.0.0/0", destination: "10.0.105.18", packets: 2, bytes: 1000 },
      { mark: 0x6d, direction: "up", source: "10.0.105.18", destination: "0.0.0.0/0", packets: 1, bytes: 300 },
      { mark: 0x6d, direction: "down", source: "::/0", destination: "fd00:105::18", packets: 0, bytes: 70 },
      { mark: 0x6d, direction: "up", source: "fd00:105::18", destination: "::/0", packets: 0, bytes: 0 },
    ]);
    expect((await firewall.markRules([b])).map((rule) => rule.bytes)).toEqual([0, 0]);
  });

  test("resetCounters zeroes every counter but keeps the rules", async () => {
    const firewall = new FakeFirewall();
    await firewall.apply(state);
    firewall.simulateTraffic("10.0.105.19", { downBytes: 10, upBytes: 20 });
    firewall.resetCounters();
    const rules = await firewall.markRules();
    expect(rules).toHaveLength(6);
    expect(rules.every((rule) => rule.bytes === 0 && rule.packets === 0)).toBe(true);
  });

  test("exposes what is applied, read-only, and counts the changing operations", async () => {
    const firewall = new FakeFirewall();
    expect(firewall.applied).toBe(false);
    await firewall.apply(state);
    await firewall.updateAccounts({ upsert: [{ ...b, ipv4: "10.0.105.20" }], remove: [] });
    expect(firewall.applied).toBe(true);
    expect(firewall.wanInterface).toBe("eth0");
    expect(firewall.accounts).toEqual([a, { ...b, ipv4: "10.0.105.20" }]);
    (firewall.accounts as FirewallAccountSpec[]).pop();
    (firewall.servers as unknown[]).pop();
    expect(firewall.accounts).toHaveLength(2);
    expect(firewall.servers).toHaveLength(1);
    expect(firewall.calls).toEqual({ apply: 1, updateAccounts: 1, clear: 0 });
    await firewall.clear();
    expect(firewall.applied).toBe(false);
    expect(firewall.accounts).toEqual([]);
  });
});
