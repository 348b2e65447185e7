import type { FirewallAccountSpec, FirewallState } from "@vpncp/core";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { NftablesFirewall, renderNftRuleset } from "../../src/firewall/nftables.js";
import { FIREWALL_FIXTURE, testFirewallDriver } from "../contract/firewall.js";
import { realToolsUnavailable } from "../netns.js";
import {
  CLASS_MARKS,
  CountingRunner,
  createFirewallLab,
  type FirewallLab,
  firewallLabNames,
  hostRules,
  installHostRules,
  LAB,
  testFirewallInLab,
} from "./lab.js";

const skip = realToolsUnavailable(["nft", "iptables-nft", "ping", "tc", "sysctl", "node"]);

describe.skipIf(skip)("nftables firewall in network namespaces", () => {
  const names = firewallLabNames();
  let lab: FirewallLab;
  let snapshot = "";

  beforeAll(async () => {
    lab = await createFirewallLab(names);
  });

  afterAll(async () => {
    await lab?.dispose();
  });

  testFirewallDriver({
    name: "nftables",
    create: () => new NftablesFirewall({ runner: lab.server.runner }),
    interfaces: [names.bridge, names.srv2],
    wanInterface: names.wan,
    sendTraffic: (_firewall, address) => lab.sendTraffic(address),
    downloadClass: (_firewall, device, address) => lab.downloadClass(device, address, CLASS_MARKS),
    extraInterface: { name: names.roam, account: LAB.roamer },
    hostRule: {
      async install() {
        installHostRules(lab.server, "nft");
        snapshot = hostRules(lab.server, "nft");
      },
      async intact() {
        return hostRules(lab.server, "nft") === snapshot;
      },
    },
  });

  testFirewallInLab(
    "nftables",
    () => lab,
    (runner) => new NftablesFirewall({ runner }),
  );

  describe("processes and scale", () => {
    const account = (i: number): FirewallAccountSpec => ({
      mark: 0x100 + i,
      interface: names.bridge,
      ipv4: `10.64.${i >> 8}.${i & 255}`,
      ipv6: `fd00:64::${i.toString(16)}`,
    });
    const state = (count: number): FirewallState => ({
      wanInterface: names.wan,
      servers: [
        {
          name: "big",
          interface: names.bridge,
          subnet4: "10.64.0.0/16",
          subnet6: "fd00:64::/64",
          externalIp: FIREWALL_FIXTURE.externalIp,
          internalTraffic: true,
        },
      ],
      accounts: Array.from({ length: count }, (_, i) => account(i)),
    });

    test("updateAccounts is one nft process; a new instance reads the applied maps once, then also needs one", async () => {
      const first = new NftablesFirewall({ runner: lab.server.runner });
      await first.apply(state(3));
      const runner = new CountingRunner(lab.server.runner);
      const second = new NftablesFirewall({ runner });
      await second.updateAccounts({ upsert: [account(3)], remove: [account(0)] });
      expect(runner.commands).toEqual(["nft -j list table inet vpncp", "nft -f -"]);
      runner.commands.length = 0;
      await second.updateAccounts({ upsert: [account(4), { ...account(1), ipv4: "10.64.9.9" }], remove: [account(2)] });
      expect(runner.commands).toEqual(["nft -f -"]);
      expect((await first.markRules()).filter((rule) => rule.direction === "down" && !rule.destination.includes(":"))).toEqual(
        ["10.64.9.9", "10.64.0.3", "10.64.0.4"].map((destination, i) => ({
          mark: [0x101, 0x103, 0x104][i],
          direction: "down",
          source: "0.0.0.0/0",
          destination,
          packets: 0,
          bytes: 0,
        })),
      );
      await second.clear();
    });

    test("10 000 accounts: nft -c accepts the ruleset, apply, add one (one process) and read one account", async () => {
      const big = state(10_000);
      lab.server.exec("nft", ["-c", "-f", "-"], renderNftRuleset("vpncp", big));
      const runner = new CountingRunner(lab.server.runner);
      const firewall = new NftablesFirewall({ runner });
      const timings: Record<string, number> = {};
      const time = async <T>(label: string, task: () => Promise<T>): Promise<T> => {
        const started = performance.now();
        const result = await task();
        timings[label] = Math.round(performance.now() - started);
        return result;
      };
      await time("apply 10k accounts (40k counted elements)", () => firewall.apply(big));
      runner.commands.length = 0;
      await time("updateAccounts +1", () => firewall.updateAccounts({ upsert: [account(10_000)], remove: [] }));
      expect(runner.commands).toEqual(["nft -f -"]);
      const one = await time("markRules one account", () => firewall.markRules([account(10_000)]));
      expect(one.map((rule) => rule.mark)).toEqual([0x100 + 10_000, 0x100 + 10_000, 0x100 + 10_000, 0x100 + 10_000]);
      const all = await time("markRules all", () => firewall.markRules());
      expect(all).toHaveLength(4 * 10_001);
      console.log(`[nftables] ${JSON.stringify(timings)}`);
      await firewall.clear();
    });
  });
});
