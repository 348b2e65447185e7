import type { FirewallAccountSpec, FirewallState } from "@vpncp/core";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { IptablesFirewall } from "../../src/firewall/iptables.js";
import { FIREWALL_FIXTURE as F, testFirewallDriver } from "../contract/firewall.js";
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

for (const variant of ["legacy", "nft"] as const) {
  const tools = [
    `iptables-${variant}`,
    `iptables-${variant}-restore`,
    `iptables-${variant}-save`,
    `ip6tables-${variant}-restore`,
    "nft",
    "ping",
    "tc",
  ];
  const skip = realToolsUnavailable([...tools, "sysctl", "node"]);

  describe.skipIf(skip)(`iptables (${variant}) firewall in network namespaces`, () => {
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
      name: `iptables ${variant}`,
      create: () => new IptablesFirewall({ runner: lab.server.runner, variant }),
      interfaces: [names.bridge, names.srv2],
      wanInterface: names.wan,
      sendTraffic: (_firewall, address) => lab.sendTraffic(address),
      downloadClass: (_firewall, device, address) => lab.downloadClass(device, address, CLASS_MARKS),
      extraInterface: { name: names.roam, account: LAB.roamer },
      hostRule: {
        async install() {
          installHostRules(lab.server, variant);
          snapshot = hostRules(lab.server, variant);
        },
        async intact() {
          return hostRules(lab.server, variant) === snapshot;
        },
      },
    });

    testFirewallInLab(
      `iptables ${variant}`,
      () => lab,
      (runner) => new IptablesFirewall({ runner, variant }),
    );

    describe("jumps, host policy, processes and scale", () => {
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
            externalIp: F.externalIp,
            internalTraffic: true,
          },
        ],
        accounts: Array.from({ length: count }, (_, i) => account(i)),
      });

      test("jumps from the built-in chains are added once, first in their chain, and removed by clear", async () => {
        const firewall = new IptablesFirewall({ runner: lab.server.runner, variant });
        await firewall.apply(state(2));
        await firewall.apply(state(2));
        const jumps = () =>
          ["mangle", "nat", "filter"].map((table) =>
            lab.server
              .exec(`iptables-${variant}-save`, ["-t", table])
              .split("\n")
              .filter((line) => / -j VPNCP_/.test(line) && /^-A (PREROUTING|POSTROUTING|FORWARD) /.test(line)),
          );
        expect(jumps()).toEqual([
          ["-A PREROUTING -j VPNCP_UP", "-A POSTROUTING -j VPNCP_DOWN"],
          ["-A POSTROUTING -j VPNCP_NAT"],
          ["-A FORWARD -j VPNCP_FWD"],
        ]);
        const forward = lab.server
          .exec(`ip6tables-${variant}-save`, ["-t", "filter"])
          .split("\n")
          .filter((line) => line.startsWith("-A FORWARD"));
        expect(forward[0]).toBe("-A FORWARD -j VPNCP_FWD");
        await firewall.clear();
        expect(jumps()).toEqual([[], [], []]);
        expect(lab.server.exec(`iptables-${variant}-save`, []).includes("VPNCP")).toBe(false);
      });

      test("forwarding from and to the vpncp interfaces is accepted even when the host's FORWARD policy drops", async () => {
        const firewall = new IptablesFirewall({ runner: lab.server.runner, variant });
        lab.server.exec(`iptables-${variant}`, ["-w", "-P", "FORWARD", "DROP"]);
        lab.server.exec(`ip6tables-${variant}`, ["-w", "-P", "FORWARD", "DROP"]);
        try {
          expect(await lab.ping(F.a.ipv4, LAB.internet4, 1)).toBe(false);
          await firewall.apply({ ...state(0), servers: [{ ...state(0).servers[0]!, subnet4: F.subnet4, subnet6: F.subnet6 }] });
          expect(await lab.ping(F.a.ipv4, LAB.internet4, 1)).toBe(true);
          expect(await lab.ping(F.a.ipv6, LAB.internet6, 1)).toBe(true);
        } finally {
          lab.server.exec(`iptables-${variant}`, ["-w", "-P", "FORWARD", "ACCEPT"]);
          lab.server.exec(`ip6tables-${variant}`, ["-w", "-P", "FORWARD", "ACCEPT"]);
          await firewall.clear();
        }
      });

      test("updateAccounts is one restore per address family that changes; a new instance reads the rules once", async () => {
        const first = new IptablesFirewall({ runner: lab.server.runner, variant });
        await first.apply(state(3));
        const runner = new CountingRunner(lab.server.runner);
        const second = new IptablesFirewall({ runner, variant });
        await second.updateAccounts({ upsert: [{ ...account(3), ipv6: undefined }], remove: [] });
        expect(runner.commands).toEqual([
          `iptables-${variant}-save -t mangle`,
          `ip6tables-${variant}-save -t mangle`,
          `iptables-${variant}-restore -w --noflush`,
        ]);
        runner.commands.length = 0;
        await second.updateAccounts({ upsert: [account(4), { ...account(1), ipv4: "10.64.9.9" }], remove: [account(2)] });
        expect(runner.commands).toEqual([`iptables-${variant}-restore -w --noflush`, `ip6tables-${variant}-restore -w --noflush`]);
        const down4 = (await first.markRules()).filter((rule) => rule.direction === "down" && !rule.destination.includes(":"));
        expect(down4.map((rule) => [rule.mark, rule.destination])).toEqual([
          [0x100, "10.64.0.0"],
          [0x101, "10.64.9.9"],
          [0x103, "10.64.0.3"],
          [0x104, "10.64.0.4"],
        ]);
        await second.clear();
      });

      test("10 000 accounts: apply, add one (one restore) and read one account", async () => {
        const runner = new CountingRunner(lab.server.runner);
        const firewall = new IptablesFirewall({ runner, variant });
        const timings: Record<string, number> = {};
        const time = async <T>(label: string, task: () => Promise<T>): Promise<T> => {
          const started = performance.now();
          const result = await task();
          timings[label] = Math.round(performance.now() - started);
          return result;
        };
        await time("apply 10k accounts (60k rules)", () => firewall.apply(state(10_000)));
        runner.commands.length = 0;
        await time("updateAccounts +1 (IPv4 only)", () =>
          firewall.updateAccounts({ upsert: [{ ...account(10_000), ipv6: undefined }], remove: [] }),
        );
        expect(runner.commands).toEqual([`iptables-${variant}-restore -w --noflush`]);
        const one = await time("markRules one account", () => firewall.markRules([account(5)]));
        expect(one.map((rule) => [rule.direction, rule.source, rule.destination])).toEqual([
          ["down", "0.0.0.0/0", "10.64.0.5"],
          ["up", "10.64.0.5", "0.0.0.0/0"],
          ["down", "::/0", "fd00:64::5"],
          ["up", "fd00:64::5", "::/0"],
        ]);
        const all = await time("markRules all", () => firewall.markRules());
        expect(all).toHaveLength(4 * 10_000 + 2);
        await time("clear", () => firewall.clear());
        console.log(`[iptables ${variant}] ${JSON.stringify(timings)}`);
      });
    });
  });
}
