import type { FirewallAccountSpec, FirewallState } from "@vpncp/core";
import { describe, expect, test } from "vitest";
import { FakeCommandRunner } from "../../src/command-runner/fake.js";
import { NftablesFirewall, scanMarkCounters } from "../../src/firewall/nftables.js";

const a: FirewallAccountSpec = { mark: 0x6d, interface: "wg0", ipv4: "10.0.105.18", ipv6: "fd00:105:0::18" };
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

// What `nft -j list map` prints (nft 1.0.6): elements with their counters, the mark as a decimal number.
function mapJson(name: string, elements: Array<[string, number, number, number]>): string {
  const elem = elements.map(([val, mark, packets, bytes]) => [{ elem: { val, counter: { packets, bytes } } }, mark]);
  const map = {
    family: "inet",
    name,
    table: "vpncp",
    type: name.endsWith("6") ? "ipv6_addr" : "ipv4_addr",
    handle: 5,
    map: "mark",
    stmt: [{ counter: null }],
  };
  return JSON.stringify({ nftables: [{ metainfo: { version: "1.0.6" } }, { map: elements.length > 0 ? { ...map, elem } : map }] });
}

describe("NftablesFirewall", () => {
  test("apply writes the whole table in one nft -f transaction, then turns forwarding on", async () => {
    const runner = new FakeCommandRunner();
    await new NftablesFirewall({ runner }).apply(state);
    expect(commands(runner)).toEqual(["nft -f -", "sysctl -q -w net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1"]);
    expect(runner.commands[0]?.input).toMatchInlineSnapshot(`
      "table inet vpncp
      delete table inet vpncp
      table inet vpncp {
        set shaped { type ifname; elements = { "wg0", "wg1" } }
        map mark_down4 { type ipv4_addr : mark; counter; elements = { 10.0.105.18 : 0x6d, 10.0.105.19 : 0x6e, 10.0.124.5 : 0x70 } }
        map mark_up4 { type ipv4_addr : mark; counter; elements = { 10.0.105.18 : 0x6d, 10.0.105.19 : 0x6e, 10.0.124.5 : 0x70 } }
        map mark_down6 { type ipv6_addr : mark; counter; elements = { fd00:105::18 : 0x6d } }
        map mark_up6 { type ipv6_addr : mark; counter; elements = { fd00:105::18 : 0x6d } }
        map prio_down4 { type ipv4_addr : classid; elements = { 10.0.105.18 : 1:6d, 10.0.105.19 : 1:6e, 10.0.124.5 : 1:70 } }
        map prio_down6 { type ipv6_addr : classid; elements = { fd00:105::18 : 1:6d } }
        chain mangle_prerouting {
          type filter hook prerouting priority mangle; policy accept;
          meta mark set ip saddr map @mark_up4
          meta mark set ip6 saddr map @mark_up6
        }
        chain mangle_postrouting {
          type filter hook postrouting priority mangle; policy accept;
          meta mark set ip daddr map @mark_down4
          meta mark set ip6 daddr map @mark_down6
          oifname @shaped meta priority set ip daddr map @prio_down4
          oifname @shaped meta priority set ip6 daddr map @prio_down6
        }
        chain nat_postrouting {
          type nat hook postrouting priority srcnat; policy accept;
          oifname "eth0" ip saddr 10.0.105.0/24 counter snat ip to 77.87.125.200 comment "vpncp:srv1:nat4"
          oifname "eth0" ip6 saddr fd00:105::/64 counter masquerade comment "vpncp:srv1:nat6"
          oifname "eth0" ip saddr 10.0.124.0/24 counter masquerade comment "vpncp:srv2:nat4"
        }
        chain forward {
          type filter hook forward priority filter; policy accept;
          ip saddr 10.0.105.0/24 ip daddr 10.0.105.0/24 counter accept comment "vpncp:srv1:internal4"
          ip6 saddr fd00:105::/64 ip6 daddr fd00:105::/64 counter accept comment "vpncp:srv1:internal6"
          ip saddr 10.0.124.0/24 ip daddr 10.0.124.0/24 counter drop comment "vpncp:srv2:internal4"
          iifname { "wg0", "wg1" } accept comment "vpncp:interfaces"
          oifname { "wg0", "wg1" } accept comment "vpncp:interfaces"
        }
      }
      "
    `);
  });

  test("the download class is set where packets leave through the servers' interfaces or shapedInterfaces", async () => {
    const runner = new FakeCommandRunner();
    const firewall = new NftablesFirewall({ runner, manageForwarding: false });
    await firewall.apply({ ...state, shapedInterfaces: ["ipsec0", "wg0"] });
    const script = runner.commands[0]?.input ?? "";
    expect(script).toContain(`  set shaped { type ifname; elements = { "wg0", "wg1", "ipsec0" } }`);
    expect(script).toContain("    oifname @shaped meta priority set ip daddr map @prio_down4\n");
    // NAT and forwarding still concern the servers' interfaces only.
    expect(script).toContain(`iifname { "wg0", "wg1" } accept comment "vpncp:interfaces"`);
    runner.commands.length = 0;
    await firewall.apply({ servers: [], accounts: [] });
    expect(runner.commands[0]?.input).toContain("  set shaped { type ifname; }\n");
    await expect(firewall.apply({ ...state, shapedInterfaces: ["bad name"] })).rejects.toThrow('invalid interface name: "bad name"');
  });

  test("without an uplink NAT matches what leaves through no vpncp interface; IPv4-only states leave IPv6 forwarding alone", async () => {
    const runner = new FakeCommandRunner();
    const v4only: FirewallState = { servers: [state.servers[1]!], accounts: [b] };
    await new NftablesFirewall({ runner, table: "vpn2" }).apply(v4only);
    expect(runner.commands[0]?.input).toContain(`oifname != { "wg1" } ip saddr 10.0.124.0/24 counter masquerade comment "vpncp:srv2:nat4"`);
    expect(runner.commands[0]?.input?.split("\n").slice(0, 3)).toEqual(["table inet vpn2", "delete table inet vpn2", "table inet vpn2 {"]);
    expect(commands(runner)[1]).toBe("sysctl -q -w net.ipv4.ip_forward=1");

    const quiet = new FakeCommandRunner();
    await new NftablesFirewall({ runner: quiet, manageForwarding: false }).apply(v4only);
    expect(commands(quiet)).toEqual(["nft -f -"]);
  });

  test("updateAccounts is one nft -f with the element lines of the change only", async () => {
    const runner = new FakeCommandRunner();
    const firewall = new NftablesFirewall({ runner, manageForwarding: false });
    await firewall.apply(state);
    runner.commands.length = 0;
    const d: FirewallAccountSpec = { mark: 0x71, interface: "wg0", ipv4: "10.0.105.21" };
    // A unchanged, B moves to another address, C goes, D comes.
    await firewall.updateAccounts({ upsert: [a, { ...b, ipv4: "10.0.105.22" }, d], remove: [c] });
    expect(commands(runner)).toEqual(["nft -f -"]);
    expect(runner.commands[0]?.input).toMatchInlineSnapshot(`
      "delete element inet vpncp mark_down4 { 10.0.105.19, 10.0.124.5 }
      delete element inet vpncp mark_up4 { 10.0.105.19, 10.0.124.5 }
      delete element inet vpncp prio_down4 { 10.0.105.19, 10.0.124.5 }
      add element inet vpncp mark_down4 { 10.0.105.22 : 0x6e, 10.0.105.21 : 0x71 }
      add element inet vpncp mark_up4 { 10.0.105.22 : 0x6e, 10.0.105.21 : 0x71 }
      add element inet vpncp prio_down4 { 10.0.105.22 : 1:6e, 10.0.105.21 : 1:71 }
      "
    `);
    // Nothing to change, or removing what is not there: no process at all. Classes are picked by
    // address on every shaped interface, so moving A to another interface changes nothing either.
    runner.commands.length = 0;
    await firewall.updateAccounts({ upsert: [{ ...a, interface: "wg1" }], remove: [] });
    await firewall.updateAccounts({ upsert: [b, { ...b, ipv4: "10.0.105.22" }], remove: [c] });
    await firewall.updateAccounts({ upsert: [], remove: [{ mark: 0x99, interface: "wg0", ipv4: "10.0.105.99" }] });
    expect(runner.commands).toEqual([]);
  });

  test("concurrent updates run one after the other, each against what the previous one left", async () => {
    const runner = new FakeCommandRunner();
    const firewall = new NftablesFirewall({ runner, manageForwarding: false });
    await firewall.apply({ ...state, accounts: [] });
    runner.commands.length = 0;
    await Promise.all([firewall.updateAccounts({ upsert: [b], remove: [] }), firewall.updateAccounts({ upsert: [b, c], remove: [] })]);
    expect(runner.commands.map((command) => command.input?.split("\n")[0])).toEqual([
      "add element inet vpncp mark_down4 { 10.0.105.19 : 0x6e }",
      "add element inet vpncp mark_down4 { 10.0.124.5 : 0x70 }",
    ]);
  });

  test("a new instance reads the applied maps once (nft -j list table) before its first update", async () => {
    const listed = JSON.stringify({
      nftables: [
        { metainfo: { version: "1.0.6" } },
        { table: { family: "inet", name: "vpncp" } },
        JSON.parse(mapJson("mark_down4", [["10.0.105.19", 110, 5, 420]])).nftables[1],
        JSON.parse(mapJson("mark_up4", [["10.0.105.19", 110, 5, 420]])).nftables[1],
        JSON.parse(mapJson("mark_down6", [])).nftables[1],
        {
          map: {
            family: "inet",
            name: "prio_down4",
            table: "vpncp",
            type: "ipv4_addr",
            map: "classid",
            elem: [["10.0.105.19", "1:6e"]],
          },
        },
      ],
    });
    const runner = new FakeCommandRunner().respond((_file, args) =>
      args.join(" ") === "-j list table inet vpncp" ? { stdout: listed } : undefined,
    );
    const firewall = new NftablesFirewall({ runner });
    await firewall.updateAccounts({ upsert: [b, c], remove: [] });
    await firewall.updateAccounts({ upsert: [], remove: [b] });
    expect(commands(runner)).toEqual(["nft -j list table inet vpncp", "nft -f -", "nft -f -"]);
    expect(runner.commands[1]?.input).toBe(
      [
        "add element inet vpncp mark_down4 { 10.0.124.5 : 0x70 }",
        "add element inet vpncp mark_up4 { 10.0.124.5 : 0x70 }",
        "add element inet vpncp prio_down4 { 10.0.124.5 : 1:70 }",
        "",
      ].join("\n"),
    );
    expect(runner.commands[2]?.input).toBe(
      [
        "delete element inet vpncp mark_down4 { 10.0.105.19 }",
        "delete element inet vpncp mark_up4 { 10.0.105.19 }",
        "delete element inet vpncp prio_down4 { 10.0.105.19 }",
        "",
      ].join("\n"),
    );
  });

  test("updateAccounts without the table is refused, and nothing is written", async () => {
    const missing = { exitCode: 1, stderr: "Error: No such file or directory; did you mean table ‘filter’ in family ip?\n" };
    const runner = new FakeCommandRunner().respond((_file, args) => (args[0] === "-j" ? missing : undefined));
    const firewall = new NftablesFirewall({ runner });
    await expect(firewall.updateAccounts({ upsert: [a], remove: [] })).rejects.toThrow(
      "[vpncp] [nftables] table inet vpncp is not applied",
    );
    expect(commands(runner)).toEqual(["nft -j list table inet vpncp"]);
    expect(await firewall.markRules()).toEqual([]);
    expect(await firewall.natRules("srv1")).toEqual([]);
  });

  test("markRules reads the counters of the mark maps, one process per map, all or for the given accounts", async () => {
    const outputs: Record<string, string> = {
      mark_down4: mapJson("mark_down4", [
        ["10.0.105.19", 110, 7, 700],
        ["10.0.105.18", 109, 4, 336],
      ]),
      mark_up4: mapJson("mark_up4", [
        ["10.0.105.18", 109, 3, 252],
        ["10.0.105.19", 110, 0, 0],
      ]),
      mark_down6: mapJson("mark_down6", [["fd00:105::18", 109, 2, 208]]),
      mark_up6: mapJson("mark_up6", [["fd00:105::18", 109, 1, 104]]),
    };
    const runner = new FakeCommandRunner().respond((_file, args) => ({ stdout: outputs[args[5] ?? ""] ?? "" }));
    const firewall = new NftablesFirewall({ runner });
    expect(await firewall.markRules()).toEqual([
      { mark: 109, direction: "down", source: "0.0.0.0/0", destination: "10.0.105.18", packets: 4, bytes: 336 },
      { mark: 109, direction: "up", source: "10.0.105.18", destination: "0.0.0.0/0", packets: 3, bytes: 252 },
      { mark: 109, direction: "down", source: "::/0", destination: "fd00:105::18", packets: 2, bytes: 208 },
      { mark: 109, direction: "up", source: "fd00:105::18", destination: "::/0", packets: 1, bytes: 104 },
      { mark: 110, direction: "down", source: "0.0.0.0/0", destination: "10.0.105.19", packets: 7, bytes: 700 },
      { mark: 110, direction: "up", source: "10.0.105.19", destination: "0.0.0.0/0", packets: 0, bytes: 0 },
    ]);
    expect(commands(runner)).toEqual(
      ["mark_down4", "mark_up4", "mark_down6", "mark_up6"].map((map) => `nft -j list map inet vpncp ${map}`),
    );
    runner.commands.length = 0;
    // IPv4-only accounts need only the IPv4 maps; a mark that does not match the element is not the account's.
    expect(await firewall.markRules([b, { ...c, ipv4: "10.0.105.18" }])).toEqual([
      { mark: 110, direction: "down", source: "0.0.0.0/0", destination: "10.0.105.19", packets: 7, bytes: 700 },
      { mark: 110, direction: "up", source: "10.0.105.19", destination: "0.0.0.0/0", packets: 0, bytes: 0 },
    ]);
    expect(commands(runner)).toEqual(["nft -j list map inet vpncp mark_down4", "nft -j list map inet vpncp mark_up4"]);
    expect((await firewall.markRules([a])).map((rule) => rule.destination)).toEqual(["10.0.105.18", "0.0.0.0/0", "fd00:105::18", "::/0"]);
  });

  test("a mark map's counters are read from nft's own text as its JSON would give them; another shape is left to the JSON", () => {
    // as nft 1.0.6 prints `nft -j list map` (the lab's output)
    const text =
      '{"nftables": [{"metainfo": {"version": "1.0.6", "release_name": "Lester Gooch #5", "json_schema_version": 1}}, {"map": {"family": "inet", "name": "mark_down6", "table": "vpncp", "type": "ipv6_addr", "handle": 2, "map": "mark", "elem": [[{"elem": {"val": "fd00:105::18", "counter": {"packets": 2, "bytes": 208}}}, 109], [{"elem": {"val": "fd00:105::19", "counter": {"packets": 0, "bytes": 0}}}, 110]], "stmt": [{"counter": null}]}}]}';
    const empty = (map: string) =>
      `{"nftables": [{"metainfo": {"version": "1.0.6"}}, {"map": {"family": "inet", "name": "${map}", "table": "vpncp", "type": "ipv4_addr", "handle": 1, "map": "mark", "stmt": [{"counter": null}]}}]}`;
    const viaJson = (stdout: string, compact: boolean) => {
      const answer = (map: string) => {
        const out = map === "mark_down6" ? stdout : empty(map);
        return compact ? JSON.stringify(JSON.parse(out)) : out;
      };
      return new NftablesFirewall({
        runner: new FakeCommandRunner().respond((_file, args) => ({ stdout: answer(args[5] ?? "") })),
      }).markRules();
    };
    const scanned = scanMarkCounters("mark_down6", text);
    expect(scanned).toEqual([
      { mark: 109, direction: "down", source: "::/0", destination: "fd00:105::18", packets: 2, bytes: 208 },
      { mark: 110, direction: "down", source: "::/0", destination: "fd00:105::19", packets: 0, bytes: 0 },
    ]);
    return Promise.all([viaJson(text, false), viaJson(text, true)]).then(([fromText, fromJson]) => {
      expect(fromText).toEqual(scanned);
      expect(fromJson).toEqual(scanned);
      // compact JSON (another nft) or an element the pattern does not know: null, and parseMaps reads it
      expect(scanMarkCounters("mark_down6", JSON.stringify(JSON.parse(text)))).toBeNull();
      expect(scanMarkCounters("mark_down6", text.replace('"packets": 0', '"packets": 0, "extra": 1'))).toBeNull();
    });
  });

  test("natRules and filterRules read the server's rules by comment from the chain's JSON", async () => {
    // Captured from nft 1.0.6 (`nft -j list chain inet vpncp nat_postrouting` / `forward`).
    const nat = `{"nftables": [{"metainfo": {"version": "1.0.6", "release_name": "Lester Gooch #5", "json_schema_version": 1}}, {"chain": {"family": "inet", "table": "vpncp", "name": "nat_postrouting", "handle": 3, "type": "nat", "hook": "postrouting", "prio": 100, "policy": "accept"}}, {"rule": {"family": "inet", "table": "vpncp", "chain": "nat_postrouting", "handle": 17, "comment": "vpncp:srv1:nat4", "expr": [{"match": {"op": "==", "left": {"meta": {"key": "oifname"}}, "right": "eth0"}}, {"match": {"op": "==", "left": {"payload": {"protocol": "ip", "field": "saddr"}}, "right": {"prefix": {"addr": "10.0.124.0", "len": 24}}}}, {"counter": {"packets": 3, "bytes": 180}}, {"snat": {"family": "ip", "addr": "77.87.125.200"}}]}}, {"rule": {"family": "inet", "table": "vpncp", "chain": "nat_postrouting", "handle": 19, "comment": "vpncp:srv1:nat6", "expr": [{"match": {"op": "!=", "left": {"meta": {"key": "oifname"}}, "right": {"set": ["wg0", "wg1"]}}}, {"match": {"op": "==", "left": {"payload": {"protocol": "ip6", "field": "saddr"}}, "right": {"prefix": {"addr": "fd00:105::", "len": 64}}}}, {"counter": {"packets": 0, "bytes": 0}}, {"masquerade": null}]}}, {"rule": {"family": "inet", "table": "vpncp", "chain": "nat_postrouting", "handle": 20, "comment": "vpncp:srv10:nat4", "expr": [{"counter": {"packets": 9, "bytes": 9}}, {"masquerade": null}]}}]}`;
    const forward = `{"nftables": [{"metainfo": {"version": "1.0.6", "release_name": "Lester Gooch #5", "json_schema_version": 1}}, {"rule": {"family": "inet", "table": "vpncp", "chain": "forward", "handle": 20, "comment": "vpncp:srv1:internal4", "expr": [{"match": {"op": "==", "left": {"payload": {"protocol": "ip", "field": "saddr"}}, "right": {"prefix": {"addr": "10.0.124.0", "len": 24}}}}, {"match": {"op": "==", "left": {"payload": {"protocol": "ip", "field": "daddr"}}, "right": {"prefix": {"addr": "10.0.124.0", "len": 24}}}}, {"counter": {"packets": 2, "bytes": 168}}, {"accept": null}]}}, {"rule": {"family": "inet", "table": "vpncp", "chain": "forward", "handle": 21, "comment": "vpncp:srv1:internal6", "expr": [{"match": {"op": "==", "left": {"payload": {"protocol": "ip6", "field": "saddr"}}, "right": {"prefix": {"addr": "fd00:105::", "len": 64}}}}, {"match": {"op": "==", "left": {"payload": {"protocol": "ip6", "field": "daddr"}}, "right": {"prefix": {"addr": "fd00:105::", "len": 64}}}}, {"counter": {"packets": 0, "bytes": 0}}, {"drop": null}]}}, {"rule": {"family": "inet", "table": "vpncp", "chain": "forward", "handle": 23, "comment": "vpncp:interfaces", "expr": [{"match": {"op": "==", "left": {"meta": {"key": "iifname"}}, "right": {"set": ["wg0", "wg1"]}}}, {"accept": null}]}}]}`;
    const runner = new FakeCommandRunner().respond((_file, args) => ({ stdout: args[5] === "nat_postrouting" ? nat : forward }));
    const firewall = new NftablesFirewall({ runner });
    expect(await firewall.natRules("srv1")).toEqual([
      { source: "10.0.124.0/24", destination: "0.0.0.0/0", target: "SNAT to:77.87.125.200", packets: 3, bytes: 180 },
      { source: "fd00:105::/64", destination: "::/0", target: "MASQUERADE", packets: 0, bytes: 0 },
    ]);
    expect(await firewall.filterRules("srv1")).toEqual([
      { source: "10.0.124.0/24", destination: "10.0.124.0/24", action: "ACCEPT", packets: 2, bytes: 168 },
      { source: "fd00:105::/64", destination: "fd00:105::/64", action: "DROP", packets: 0, bytes: 0 },
    ]);
    expect(commands(runner)).toEqual(["nft -j list chain inet vpncp nat_postrouting", "nft -j list chain inet vpncp forward"]);
  });

  test("values that would break out of the script are refused before anything runs", async () => {
    const runner = new FakeCommandRunner();
    const firewall = new NftablesFirewall({ runner });
    const server = state.servers[0]!;
    const bad: FirewallState[] = [
      { ...state, wanInterface: 'eth0" accept' },
      { ...state, servers: [{ ...server, interface: "wg0 }" }] },
      { ...state, servers: [{ ...server, name: 'srv1" drop' }] },
      { ...state, servers: [{ ...server, subnet4: "10.0.105.0/24 accept" }] },
      { ...state, servers: [{ ...server, externalIp: "1.2.3.4; flush ruleset" }] },
      { ...state, accounts: [{ ...a, ipv4: "10.0.105.18 } ; flush ruleset ; {" }] },
      { ...state, accounts: [{ ...a, mark: 0x10000 }] },
    ];
    for (const candidate of bad) await expect(firewall.apply(candidate)).rejects.toThrow(/^\[vpncp\] \[nftables\] invalid /);
    expect(() => new NftablesFirewall({ runner, table: "vpncp; flush ruleset" })).toThrow("invalid table name");
    expect(runner.commands).toEqual([]);
  });

  test("clear deletes the table in a script that also works when it is absent; info reports the nft version", async () => {
    const runner = new FakeCommandRunner().respond((_file, args) =>
      args[0] === "--version" ? { stdout: "nftables v1.0.6 (Lester Gooch #5)\n" } : undefined,
    );
    const firewall = new NftablesFirewall({ runner });
    await firewall.clear();
    expect(runner.commands[0]).toEqual({ file: "nft", args: ["-f", "-"], input: "table inet vpncp\ndelete table inet vpncp\n" });
    expect(await firewall.info()).toEqual({ nftables: "1.0.6" });
    // After clear nothing is applied: reads need no process.
    runner.commands.length = 0;
    expect(await firewall.markRules([a])).toEqual([]);
    expect(await firewall.filterRules("srv1")).toEqual([]);
    expect(runner.commands).toEqual([]);
  });
});
