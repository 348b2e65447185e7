import type { FirewallAccountSpec, FirewallState } from "@vpncp/core";
import { describe, expect, test } from "vitest";
import { FakeCommandRunner } from "../../src/command-runner/fake.js";
import { IptablesFirewall } from "../../src/firewall/iptables.js";

const a: FirewallAccountSpec = { mark: 0x6d, interface: "wg0", ipv4: "10.0.105.18", ipv6: "fd00:105::18" };
const b: FirewallAccountSpec = { mark: 0x6e, interface: "wg0", ipv4: "10.0.105.19" };
const c: FirewallAccountSpec = { mark: 0x70, interface: "wg1", ipv4: "10.0.124.5" };
const state: FirewallState = {
  wanInterface: "eth0",
  servers: [
    {
      name: "srv1",
      interface: "wg0",
      subnet4: "10.0.105.0/24",
      subnet6: "fd00:105::/64",
      externalIp: "77.87.125.200",
      internalTraffic: true,
    },
    { name: "srv2", interface: "wg1", subnet4: "10.0.124.0/24", externalIp: "", internalTraffic: false },
  ],
  accounts: [a, b, c],
};

const commands = (runner: FakeCommandRunner) => runner.commands.map((command) => [command.file, ...command.args].join(" "));
const restores = (runner: FakeCommandRunner) => runner.commands.filter((command) => command.file.endsWith("-restore"));

/** -C answers: the jumps listed exist, the others do not (exit 1, as iptables says for a missing rule). */
function jumpsPresent(present: readonly string[]) {
  return (_file: string, args: readonly string[]) => {
    if (!args.includes("-C")) return undefined;
    return present.includes(`${args[2]} ${args[4]}`)
      ? { exitCode: 0 }
      : { exitCode: 1, stderr: "iptables: Bad rule (does a matching rule exist in that chain?).\n" };
  };
}

describe("IptablesFirewall", () => {
  test("apply checks the jumps with -C, then writes each family with one iptables-restore --noflush", async () => {
    const runner = new FakeCommandRunner().respond(jumpsPresent(["mangle PREROUTING", "filter FORWARD"]));
    await new IptablesFirewall({ runner }).apply(state);
    expect(commands(runner)).toEqual([
      "iptables-nft -w -t mangle -C PREROUTING -j VPNCP_UP",
      "iptables-nft -w -t mangle -C POSTROUTING -j VPNCP_DOWN",
      "iptables-nft -w -t nat -C POSTROUTING -j VPNCP_NAT",
      "iptables-nft -w -t filter -C FORWARD -j VPNCP_FWD",
      "ip6tables-nft -w -t mangle -C PREROUTING -j VPNCP_UP",
      "ip6tables-nft -w -t mangle -C POSTROUTING -j VPNCP_DOWN",
      "ip6tables-nft -w -t nat -C POSTROUTING -j VPNCP_NAT",
      "ip6tables-nft -w -t filter -C FORWARD -j VPNCP_FWD",
      "iptables-nft-restore -w --noflush",
      "ip6tables-nft-restore -w --noflush",
      "sysctl -q -w net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1",
    ]);
    expect(restores(runner)[0]?.input).toMatchInlineSnapshot(`
      "*mangle
      :VPNCP_UP - [0:0]
      :VPNCP_DOWN - [0:0]
      :VPNCP_CLASS - [0:0]
      -I POSTROUTING 1 -j VPNCP_DOWN
      -A VPNCP_DOWN -o wg0 -m comment --comment "vpncp:shaped" -j VPNCP_CLASS
      -A VPNCP_DOWN -o wg1 -m comment --comment "vpncp:shaped" -j VPNCP_CLASS
      -A VPNCP_UP -s 10.0.105.18/32 -m comment --comment "vpncp:6d:up" -j MARK --set-xmark 0x6d/0xffffffff
      -A VPNCP_DOWN -d 10.0.105.18/32 -m comment --comment "vpncp:6d:down" -j MARK --set-xmark 0x6d/0xffffffff
      -A VPNCP_CLASS -d 10.0.105.18/32 -m comment --comment "vpncp:6d:class" -j CLASSIFY --set-class 0001:006d
      -A VPNCP_UP -s 10.0.105.19/32 -m comment --comment "vpncp:6e:up" -j MARK --set-xmark 0x6e/0xffffffff
      -A VPNCP_DOWN -d 10.0.105.19/32 -m comment --comment "vpncp:6e:down" -j MARK --set-xmark 0x6e/0xffffffff
      -A VPNCP_CLASS -d 10.0.105.19/32 -m comment --comment "vpncp:6e:class" -j CLASSIFY --set-class 0001:006e
      -A VPNCP_UP -s 10.0.124.5/32 -m comment --comment "vpncp:70:up" -j MARK --set-xmark 0x70/0xffffffff
      -A VPNCP_DOWN -d 10.0.124.5/32 -m comment --comment "vpncp:70:down" -j MARK --set-xmark 0x70/0xffffffff
      -A VPNCP_CLASS -d 10.0.124.5/32 -m comment --comment "vpncp:70:class" -j CLASSIFY --set-class 0001:0070
      COMMIT
      *nat
      :VPNCP_NAT - [0:0]
      -I POSTROUTING 1 -j VPNCP_NAT
      -A VPNCP_NAT -s 10.0.105.0/24 -o eth0 -m comment --comment "vpncp:srv1:nat" -j SNAT --to-source 77.87.125.200
      -A VPNCP_NAT -s 10.0.124.0/24 -o eth0 -m comment --comment "vpncp:srv2:nat" -j MASQUERADE
      COMMIT
      *filter
      :VPNCP_FWD - [0:0]
      -A VPNCP_FWD -s 10.0.105.0/24 -d 10.0.105.0/24 -m comment --comment "vpncp:srv1:internal" -j ACCEPT
      -A VPNCP_FWD -s 10.0.124.0/24 -d 10.0.124.0/24 -m comment --comment "vpncp:srv2:internal" -j DROP
      -A VPNCP_FWD -i wg0 -m comment --comment "vpncp:interfaces" -j ACCEPT
      -A VPNCP_FWD -o wg0 -m comment --comment "vpncp:interfaces" -j ACCEPT
      -A VPNCP_FWD -i wg1 -m comment --comment "vpncp:interfaces" -j ACCEPT
      -A VPNCP_FWD -o wg1 -m comment --comment "vpncp:interfaces" -j ACCEPT
      COMMIT
      "
    `);
    expect(restores(runner)[1]?.input).toMatchInlineSnapshot(`
      "*mangle
      :VPNCP_UP - [0:0]
      :VPNCP_DOWN - [0:0]
      :VPNCP_CLASS - [0:0]
      -I POSTROUTING 1 -j VPNCP_DOWN
      -A VPNCP_DOWN -o wg0 -m comment --comment "vpncp:shaped" -j VPNCP_CLASS
      -A VPNCP_DOWN -o wg1 -m comment --comment "vpncp:shaped" -j VPNCP_CLASS
      -A VPNCP_UP -s fd00:105::18/128 -m comment --comment "vpncp:6d:up" -j MARK --set-xmark 0x6d/0xffffffff
      -A VPNCP_DOWN -d fd00:105::18/128 -m comment --comment "vpncp:6d:down" -j MARK --set-xmark 0x6d/0xffffffff
      -A VPNCP_CLASS -d fd00:105::18/128 -m comment --comment "vpncp:6d:class" -j CLASSIFY --set-class 0001:006d
      COMMIT
      *nat
      :VPNCP_NAT - [0:0]
      -I POSTROUTING 1 -j VPNCP_NAT
      -A VPNCP_NAT -s fd00:105::/64 -o eth0 -m comment --comment "vpncp:srv1:nat" -j MASQUERADE
      COMMIT
      *filter
      :VPNCP_FWD - [0:0]
      -A VPNCP_FWD -s fd00:105::/64 -d fd00:105::/64 -m comment --comment "vpncp:srv1:internal" -j ACCEPT
      -A VPNCP_FWD -i wg0 -m comment --comment "vpncp:interfaces" -j ACCEPT
      -A VPNCP_FWD -o wg0 -m comment --comment "vpncp:interfaces" -j ACCEPT
      -A VPNCP_FWD -i wg1 -m comment --comment "vpncp:interfaces" -j ACCEPT
      -A VPNCP_FWD -o wg1 -m comment --comment "vpncp:interfaces" -j ACCEPT
      COMMIT
      "
    `);
  });

  test("shapedInterfaces get a jump into the class chain beside the servers' interfaces; clear removes the chain", async () => {
    const runner = new FakeCommandRunner().respond(jumpsPresent(["mangle PREROUTING", "mangle POSTROUTING", "nat POSTROUTING"]));
    const firewall = new IptablesFirewall({ runner, manageForwarding: false });
    await firewall.apply({ ...state, accounts: [b], shapedInterfaces: ["ipsec0", "wg1"] });
    expect(restores(runner)[0]?.input?.split("\n").slice(0, 9)).toEqual([
      "*mangle",
      ":VPNCP_UP - [0:0]",
      ":VPNCP_DOWN - [0:0]",
      ":VPNCP_CLASS - [0:0]",
      '-A VPNCP_DOWN -o wg0 -m comment --comment "vpncp:shaped" -j VPNCP_CLASS',
      '-A VPNCP_DOWN -o wg1 -m comment --comment "vpncp:shaped" -j VPNCP_CLASS',
      '-A VPNCP_DOWN -o ipsec0 -m comment --comment "vpncp:shaped" -j VPNCP_CLASS',
      '-A VPNCP_UP -s 10.0.105.19/32 -m comment --comment "vpncp:6e:up" -j MARK --set-xmark 0x6e/0xffffffff',
      '-A VPNCP_DOWN -d 10.0.105.19/32 -m comment --comment "vpncp:6e:down" -j MARK --set-xmark 0x6e/0xffffffff',
    ]);
    await expect(firewall.apply({ ...state, shapedInterfaces: ["bad name"] })).rejects.toThrow('invalid interface name: "bad name"');
    runner.commands.length = 0;
    await firewall.clear();
    expect(restores(runner)[0]?.input?.split("\n").slice(0, 9)).toEqual([
      "*mangle",
      ":VPNCP_UP - [0:0]",
      ":VPNCP_DOWN - [0:0]",
      ":VPNCP_CLASS - [0:0]",
      "-D PREROUTING -j VPNCP_UP",
      "-D POSTROUTING -j VPNCP_DOWN",
      "-X VPNCP_UP",
      "-X VPNCP_DOWN",
      "-X VPNCP_CLASS",
    ]);
  });

  test("legacy uses the iptables-legacy tools; without an uplink NAT skips the vpncp interfaces first", async () => {
    const runner = new FakeCommandRunner();
    await new IptablesFirewall({ runner, variant: "legacy", chainPrefix: "VPN2", manageForwarding: false }).apply({
      servers: [state.servers[1]!],
      accounts: [],
    });
    expect(new Set(runner.commands.map((command) => command.file))).toEqual(
      new Set(["iptables-legacy", "ip6tables-legacy", "iptables-legacy-restore", "ip6tables-legacy-restore"]),
    );
    expect(restores(runner)[0]?.input).toContain(
      [
        '-A VPN2_NAT -o wg1 -m comment --comment "vpncp:interfaces" -j RETURN',
        '-A VPN2_NAT -s 10.0.124.0/24 -m comment --comment "vpncp:srv2:nat" -j MASQUERADE',
      ].join("\n"),
    );
  });

  test("a -C that fails for another reason than a missing rule (e.g. the xtables lock) stops apply before any write", async () => {
    const runner = new FakeCommandRunner().respond((_file, args) =>
      args.includes("-C") ? { exitCode: 4, stderr: "Another app is currently holding the xtables lock.\n" } : undefined,
    );
    await expect(new IptablesFirewall({ runner }).apply(state)).rejects.toThrow("xtables lock");
    expect(restores(runner)).toEqual([]);
  });

  test("updateAccounts is one restore per family that changes, with -D/-A lines of the change only", async () => {
    const runner = new FakeCommandRunner();
    const firewall = new IptablesFirewall({ runner, manageForwarding: false });
    await firewall.apply(state);
    runner.commands.length = 0;
    const d: FirewallAccountSpec = { mark: 0x71, interface: "wg0", ipv4: "10.0.105.21" };
    await firewall.updateAccounts({ upsert: [a, { ...b, ipv4: "10.0.105.22" }, d], remove: [c] });
    expect(commands(runner)).toEqual(["iptables-nft-restore -w --noflush"]);
    expect(runner.commands[0]?.input).toMatchInlineSnapshot(`
      "*mangle
      -D VPNCP_UP -s 10.0.105.19/32 -m comment --comment "vpncp:6e:up" -j MARK --set-xmark 0x6e/0xffffffff
      -D VPNCP_DOWN -d 10.0.105.19/32 -m comment --comment "vpncp:6e:down" -j MARK --set-xmark 0x6e/0xffffffff
      -D VPNCP_CLASS -d 10.0.105.19/32 -m comment --comment "vpncp:6e:class" -j CLASSIFY --set-class 0001:006e
      -D VPNCP_UP -s 10.0.124.5/32 -m comment --comment "vpncp:70:up" -j MARK --set-xmark 0x70/0xffffffff
      -D VPNCP_DOWN -d 10.0.124.5/32 -m comment --comment "vpncp:70:down" -j MARK --set-xmark 0x70/0xffffffff
      -D VPNCP_CLASS -d 10.0.124.5/32 -m comment --comment "vpncp:70:class" -j CLASSIFY --set-class 0001:0070
      -A VPNCP_UP -s 10.0.105.22/32 -m comment --comment "vpncp:6e:up" -j MARK --set-xmark 0x6e/0xffffffff
      -A VPNCP_DOWN -d 10.0.105.22/32 -m comment --comment "vpncp:6e:down" -j MARK --set-xmark 0x6e/0xffffffff
      -A VPNCP_CLASS -d 10.0.105.22/32 -m comment --comment "vpncp:6e:class" -j CLASSIFY --set-class 0001:006e
      -A VPNCP_UP -s 10.0.105.21/32 -m comment --comment "vpncp:71:up" -j MARK --set-xmark 0x71/0xffffffff
      -A VPNCP_DOWN -d 10.0.105.21/32 -m comment --comment "vpncp:71:down" -j MARK --set-xmark 0x71/0xffffffff
      -A VPNCP_CLASS -d 10.0.105.21/32 -m comment --comment "vpncp:71:class" -j CLASSIFY --set-class 0001:0071
      COMMIT
      "
    `);
    // Classes are picked by address on every shaped interface: moving A to another interface changes no rule.
    runner.commands.length = 0;
    await firewall.updateAccounts({ upsert: [{ ...a, interface: "wg1" }], remove: [] });
    await firewall.updateAccounts({ upsert: [{ ...b, ipv4: "10.0.105.22" }, d], remove: [c] });
    expect(runner.commands).toEqual([]);
  });

  test("a new instance reads vpncp's mangle rules (iptables-save) once before its first update; without the chains it refuses", async () => {
    const saved4 = [
      "# Generated by iptables-save v1.8.9 on Mon Nov 23 13:20:53 2026",
      "*mangle",
      ":PREROUTING ACCEPT [0:0]",
      ":POSTROUTING ACCEPT [0:0]",
      ":VPNCP_CLASS - [0:0]",
      ":VPNCP_DOWN - [0:0]",
      ":VPNCP_UP - [0:0]",
      "-A PREROUTING -j VPNCP_UP",
      "-A POSTROUTING -j VPNCP_DOWN",
      "-A PREROUTING -s 192.0.2.99/32 -j MARK --set-xmark 0x7/0xffffffff",
      '-A VPNCP_CLASS -d 10.0.105.19/32 -m comment --comment "vpncp:6e:class" -j CLASSIFY --set-class 0001:006e',
      '-A VPNCP_DOWN -d 10.0.105.19/32 -m comment --comment "vpncp:6e:down" -j MARK --set-xmark 0x6e/0xffffffff',
      '-A VPNCP_DOWN -o wg0 -m comment --comment "vpncp:shaped" -j VPNCP_CLASS',
      '-A VPNCP_UP -s 10.0.105.19/32 -m comment --comment "vpncp:6e:up" -j MARK --set-xmark 0x6e/0xffffffff',
      "COMMIT",
      "",
    ].join("\n");
    const saved6 = "*mangle\n:VPNCP_CLASS - [0:0]\n:VPNCP_DOWN - [0:0]\n:VPNCP_UP - [0:0]\nCOMMIT\n";
    const runner = new FakeCommandRunner().respond((file) =>
      file.endsWith("-save") ? { stdout: file.startsWith("ip6") ? saved6 : saved4 } : undefined,
    );
    const firewall = new IptablesFirewall({ runner });
    await firewall.updateAccounts({ upsert: [b, c], remove: [] });
    expect(commands(runner)).toEqual(["iptables-nft-save -t mangle", "ip6tables-nft-save -t mangle", "iptables-nft-restore -w --noflush"]);
    expect(runner.commands[2]?.input?.split("\n").filter((line) => line.startsWith("-"))).toHaveLength(3);
    runner.commands.length = 0;
    await firewall.updateAccounts({ upsert: [], remove: [b] });
    // Its three rules go, and only those: the jump into VPNCP_CLASS is no account's rule.
    expect(runner.commands[0]?.input?.split("\n").filter((line) => line.startsWith("-"))).toEqual([
      '-D VPNCP_UP -s 10.0.105.19/32 -m comment --comment "vpncp:6e:up" -j MARK --set-xmark 0x6e/0xffffffff',
      '-D VPNCP_DOWN -d 10.0.105.19/32 -m comment --comment "vpncp:6e:down" -j MARK --set-xmark 0x6e/0xffffffff',
      '-D VPNCP_CLASS -d 10.0.105.19/32 -m comment --comment "vpncp:6e:class" -j CLASSIFY --set-class 0001:006e',
    ]);

    const empty = new FakeCommandRunner().respond((file) =>
      file.endsWith("-save") ? { stdout: "*mangle\n:PREROUTING ACCEPT [0:0]\nCOMMIT\n" } : undefined,
    );
    await expect(new IptablesFirewall({ runner: empty }).updateAccounts({ upsert: [a], remove: [] })).rejects.toThrow(
      "[vpncp] [iptables] chains",
    );
    expect(restores(empty)).toEqual([]);
  });

  test("markRules, natRules and filterRules read the counters of vpncp's rules from iptables-save -c", async () => {
    const mangle4 = [
      "*mangle",
      ":VPNCP_DOWN - [0:0]",
      ":VPNCP_UP - [0:0]",
      "[9:900] -A PREROUTING -s 10.0.105.18/32 -j MARK --set-xmark 0x6d/0xffffffff",
      '[4:336] -A VPNCP_DOWN -d 10.0.105.18/32 -m comment --comment "vpncp:6d:down" -j MARK --set-xmark 0x6d/0xffffffff',
      '[4:336] -A VPNCP_CLASS -d 10.0.105.18/32 -m comment --comment "vpncp:6d:class" -j CLASSIFY --set-class 0001:006d',
      '[3:252] -A VPNCP_UP -s 10.0.105.18/32 -m comment --comment "vpncp:6d:up" -j MARK --set-xmark 0x6d/0xffffffff',
      '[0:0] -A VPNCP_UP -s 10.0.105.19/32 -m comment --comment "vpncp:6e:up" -j MARK --set-xmark 0x6e/0xffffffff',
      '[1:60] -A VPNCP_DOWN -d 10.0.105.19/32 -m comment --comment "vpncp:6e:down" -j MARK --set-xmark 0x6e/0xffffffff',
      "COMMIT",
    ].join("\n");
    const mangle6 = [
      "*mangle",
      '[2:208] -A VPNCP_DOWN -d fd00:105::18/128 -m comment --comment "vpncp:6d:down" -j MARK --set-xmark 0x6d/0xffffffff',
      '[1:104] -A VPNCP_UP -s fd00:105::18/128 -m comment --comment "vpncp:6d:up" -j MARK --set-xmark 0x6d/0xffffffff',
      "COMMIT",
    ].join("\n");
    const nat4 = [
      "*nat",
      '[0:0] -A VPNCP_NAT -o wg1 -m comment --comment "vpncp:interfaces" -j RETURN',
      '[3:180] -A VPNCP_NAT -s 10.0.105.0/24 -m comment --comment "vpncp:srv1:nat" -j SNAT --to-source 77.87.125.200',
      '[5:300] -A VPNCP_NAT -s 10.0.124.0/24 -m comment --comment "vpncp:srv10:nat" -j MASQUERADE',
      "COMMIT",
    ].join("\n");
    const nat6 = '*nat\n[1:80] -A VPNCP_NAT -s fd00:105::/64 -o eth0 -m comment --comment "vpncp:srv1:nat" -j MASQUERADE\nCOMMIT\n';
    const filter4 =
      '*filter\n[2:168] -A VPNCP_FWD -s 10.0.105.0/24 -d 10.0.105.0/24 -m comment --comment "vpncp:srv1:internal" -j DROP\nCOMMIT\n';
    const filter6 = "*filter\nCOMMIT\n";
    const outputs: Record<string, string> = { mangle4, mangle6, nat4, nat6, filter4, filter6 };
    const runner = new FakeCommandRunner().respond((file, args) => ({
      stdout: outputs[`${args[2]}${file.startsWith("ip6") ? 6 : 4}`] ?? "",
    }));
    const firewall = new IptablesFirewall({ runner, variant: "legacy" });
    expect(await firewall.markRules()).toEqual([
      { mark: 0x6d, direction: "down", source: "0.0.0.0/0", destination: "10.0.105.18", packets: 4, bytes: 336 },
      { mark: 0x6d, direction: "up", source: "10.0.105.18", destination: "0.0.0.0/0", packets: 3, bytes: 252 },
      { mark: 0x6d, direction: "down", source: "::/0", destination: "fd00:105::18", packets: 2, bytes: 208 },
      { mark: 0x6d, direction: "up", source: "fd00:105::18", destination: "::/0", packets: 1, bytes: 104 },
      { mark: 0x6e, direction: "down", source: "0.0.0.0/0", destination: "10.0.105.19", packets: 1, bytes: 60 },
      { mark: 0x6e, direction: "up", source: "10.0.105.19", destination: "0.0.0.0/0", packets: 0, bytes: 0 },
    ]);
    runner.commands.length = 0;
    expect((await firewall.markRules([b, { ...a, mark: 0x99 }])).map((rule) => [rule.direction, rule.bytes])).toEqual([
      ["down", 60],
      ["up", 0],
    ]);
    expect(commands(runner)).toEqual(["iptables-legacy-save -c -t mangle", "ip6tables-legacy-save -c -t mangle"]);
    expect(await firewall.natRules("srv1")).toEqual([
      { source: "10.0.105.0/24", destination: "0.0.0.0/0", target: "SNAT to:77.87.125.200", packets: 3, bytes: 180 },
      { source: "fd00:105::/64", destination: "::/0", target: "MASQUERADE", packets: 1, bytes: 80 },
    ]);
    expect(await firewall.filterRules("srv1")).toEqual([
      { source: "10.0.105.0/24", destination: "10.0.105.0/24", action: "DROP", packets: 2, bytes: 168 },
    ]);
  });

  test("clear deletes the jumps it finds and vpncp's chains, in one restore per family", async () => {
    const runner = new FakeCommandRunner().respond(jumpsPresent(["mangle PREROUTING", "nat POSTROUTING"]));
    const firewall = new IptablesFirewall({ runner });
    await firewall.clear();
    expect(restores(runner).map((command) => command.file)).toEqual(["iptables-nft-restore", "ip6tables-nft-restore"]);
    expect(restores(runner)[0]?.input).toMatchInlineSnapshot(`
      "*mangle
      :VPNCP_UP - [0:0]
      :VPNCP_DOWN - [0:0]
      :VPNCP_CLASS - [0:0]
      -D PREROUTING -j VPNCP_UP
      -X VPNCP_UP
      -X VPNCP_DOWN
      -X VPNCP_CLASS
      COMMIT
      *nat
      :VPNCP_NAT - [0:0]
      -D POSTROUTING -j VPNCP_NAT
      -X VPNCP_NAT
      COMMIT
      *filter
      :VPNCP_FWD - [0:0]
      -X VPNCP_FWD
      COMMIT
      "
    `);
    runner.commands.length = 0;
    expect(await firewall.markRules()).toEqual([]);
    expect(runner.commands).toEqual([]);
  });

  test("values that would break out of the restore script are refused before anything runs; info reports the version", async () => {
    const runner = new FakeCommandRunner().respond((_file, args) =>
      args[0] === "--version" ? { stdout: "iptables v1.8.9 (nf_tables)\n" } : undefined,
    );
    const firewall = new IptablesFirewall({ runner });
    const server = state.servers[0]!;
    const bad: FirewallState[] = [
      { ...state, wanInterface: "eth0 -j ACCEPT" },
      { ...state, servers: [{ ...server, interface: "wg0\nCOMMIT" }] },
      { ...state, servers: [{ ...server, name: 'srv1" -j DROP' }] },
      { ...state, servers: [{ ...server, subnet6: "fd00::/64 -j DROP" }] },
      { ...state, servers: [{ ...server, externalIp: "1.2.3.4 --random" }] },
      { ...state, accounts: [{ ...a, ipv6: "fd00::18/128 -j DROP" }] },
    ];
    for (const candidate of bad) await expect(firewall.apply(candidate)).rejects.toThrow(/^\[vpncp\] \[iptables\] invalid /);
    expect(runner.commands).toEqual([]);
    expect(() => new IptablesFirewall({ runner, chainPrefix: "VPNCP -F" })).toThrow("invalid chain prefix");
    expect(await firewall.info()).toEqual({ iptables: "1.8.9 (nf_tables)" });
  });
});
