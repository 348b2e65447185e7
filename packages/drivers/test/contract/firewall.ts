/**
 * What every firewall driver promises, through the port only: run against the
 * fake always and against nftables / iptables (legacy and nft) in network
 * namespaces when root. The fixture's addresses are exported so that real
 * runs can build a topology where these clients exist and send packets.
 */
import type { FirewallAccountSpec, FirewallPort, FirewallServerSpec, FirewallState, MarkRuleState } from "@vpncp/core";
import { afterEach, beforeEach, describe, expect, test } from "vitest";

export const FIREWALL_FIXTURE = {
  externalIp: "203.0.113.10",
  subnet4: "10.0.105.0/24",
  subnet6: "fd00:105::/64",
  otherSubnet4: "10.0.124.0/24",
  /** Client A (server 1): IPv4 and IPv6. */
  a: { mark: 0x6d, ipv4: "10.0.105.18", ipv6: "fd00:105::18" },
  /** Client B (server 1): IPv4 and IPv6. */
  b: { mark: 0x6e, ipv4: "10.0.105.19", ipv6: "fd00:105::19" },
  /** Client C (server 2): IPv4 only. */
  c: { mark: 0x70, ipv4: "10.0.124.5" },
  /** Client D, added by updateAccounts (server 1). */
  d: { mark: 0x71, ipv4: "10.0.105.21" },
} as const;

export interface FirewallContractOptions<T extends FirewallPort> {
  readonly name: string;
  readonly create: () => T | Promise<T>;
  /** WireGuard interfaces of the fixture's servers 1 and 2 (server 1's clients are A and B). */
  readonly interfaces?: readonly [string, string];
  /** Uplink of the fixture's state. */
  readonly wanInterface?: string;
  /** Exchanges packets (at least one each way) between the client holding `address` and the outside. */
  readonly sendTraffic?: (firewall: T, address: string) => Promise<void>;
  /**
   * Sends a download to the client holding `address` out through `iface` and tells which HTB
   * class minor (= mark) it got, null when none of an account's.
   */
  readonly downloadClass?: (firewall: T, iface: string, address: string) => Promise<number | null>;
  /**
   * An interface that is no server's (as IKEv2's tunnel device), and an account whose address is
   * reached through it; default "ipsec0" and mark 0x75 at 10.0.105.30.
   */
  readonly extraInterface?: { readonly name: string; readonly account: { readonly mark: number; readonly ipv4: string } };
  /** A rule of the host that vpncp does not own: install it, and tell whether it is still exactly as installed. */
  readonly hostRule?: {
    install(firewall: T): Promise<void>;
    intact(firewall: T): Promise<boolean>;
  };
}

type RuleShape = Omit<MarkRuleState, "packets" | "bytes">;

function shape<R extends { packets: number; bytes: number }>({ packets: _p, bytes: _b, ...rule }: R): Omit<R, "packets" | "bytes"> {
  return rule;
}

function expected(account: { mark: number; ipv4: string; ipv6?: string }): RuleShape[] {
  const rules: RuleShape[] = [
    { mark: account.mark, direction: "down", source: "0.0.0.0/0", destination: account.ipv4 },
    { mark: account.mark, direction: "up", source: account.ipv4, destination: "0.0.0.0/0" },
  ];
  if (account.ipv6) {
    rules.push(
      { mark: account.mark, direction: "down", source: "::/0", destination: account.ipv6 },
      { mark: account.mark, direction: "up", source: account.ipv6, destination: "::/0" },
    );
  }
  return rules;
}

function find(rules: readonly MarkRuleState[], mark: number, direction: "down" | "up", address: string): MarkRuleState | undefined {
  return rules.find(
    (rule) => rule.mark === mark && rule.direction === direction && (direction === "down" ? rule.destination : rule.source) === address,
  );
}

export function testFirewallDriver<T extends FirewallPort>(options: FirewallContractOptions<T>): void {
  const F = FIREWALL_FIXTURE;
  const [if1, if2] = options.interfaces ?? ["wgt0", "wgt1"];
  const servers = (): FirewallServerSpec[] => [
    { name: "srv1", interface: if1, subnet4: F.subnet4, subnet6: F.subnet6, externalIp: F.externalIp, internalTraffic: true },
    { name: "srv2", interface: if2, subnet4: F.otherSubnet4, externalIp: "", internalTraffic: false },
  ];
  const a: FirewallAccountSpec = { ...F.a, interface: if1 };
  const b: FirewallAccountSpec = { ...F.b, interface: if1 };
  const c: FirewallAccountSpec = { ...F.c, interface: if2 };
  const d: FirewallAccountSpec = { ...F.d, interface: if1 };
  const state = (): FirewallState => ({ wanInterface: options.wanInterface, servers: servers(), accounts: [a, b, c] });

  describe(`firewall contract: ${options.name}`, () => {
    let firewall: T;

    beforeEach(async () => {
      firewall = await options.create();
    });

    afterEach(async () => {
      await firewall.clear();
      await firewall.dispose();
    });

    test("apply shows a down and an up mark rule per account and address family, with the account's mark", async () => {
      await firewall.apply(state());
      const rules = await firewall.markRules();
      expect(rules.map(shape)).toEqual([...expected(F.a), ...expected(F.b), ...expected(F.c)]);
      for (const rule of rules) {
        expect(Number.isSafeInteger(rule.packets) && rule.packets >= 0).toBe(true);
        expect(Number.isSafeInteger(rule.bytes) && rule.bytes >= 0).toBe(true);
      }
      // No IPv4 packet was sent: the counters start at zero.
      expect(rules.filter((rule) => !rule.source.includes(":") && !rule.destination.includes(":")).map((rule) => rule.bytes)).toEqual([
        0, 0, 0, 0, 0, 0,
      ]);
    });

    test("markRules of given accounts shows only theirs, in the order given", async () => {
      await firewall.apply(state());
      expect((await firewall.markRules([c, a])).map(shape)).toEqual([...expected(F.c), ...expected(F.a)]);
      expect(await firewall.markRules([])).toEqual([]);
      // An account that is not applied, or an address applied under another mark, has no rules.
      expect(await firewall.markRules([d])).toEqual([]);
      expect(await firewall.markRules([{ ...a, mark: 0x99 }])).toEqual([]);
    });

    test("updateAccounts adds, changes and removes only the given accounts", async () => {
      await firewall.apply(state());
      const movedB: FirewallAccountSpec = { ...b, ipv4: "10.0.105.22", ipv6: undefined };
      await firewall.updateAccounts({ upsert: [d, movedB], remove: [c] });
      expect((await firewall.markRules()).map(shape)).toEqual([
        ...expected(F.a),
        ...expected({ mark: F.b.mark, ipv4: "10.0.105.22" }),
        ...expected(F.d),
      ]);
      // A new mark for an address: the old mark's rules go, the new one's come.
      await firewall.updateAccounts({ upsert: [{ ...d, mark: 0x72 }], remove: [d] });
      expect((await firewall.markRules()).map(shape)).toEqual([
        ...expected(F.a),
        ...expected({ mark: F.b.mark, ipv4: "10.0.105.22" }),
        ...expected({ mark: 0x72, ipv4: F.d.ipv4 }),
      ]);
      expect(await firewall.natRules("srv2")).toHaveLength(1);
    });

    test("updateAccounts with nothing new, or removing what is not applied, changes nothing", async () => {
      await firewall.apply(state());
      const before = (await firewall.markRules()).map(shape);
      await firewall.updateAccounts({ upsert: [], remove: [] });
      await firewall.updateAccounts({ upsert: [a, c], remove: [d] });
      expect((await firewall.markRules()).map(shape)).toEqual(before);
    });

    test("updateAccounts before anything is applied is refused", async () => {
      await expect(firewall.updateAccounts({ upsert: [a], remove: [] })).rejects.toThrow();
      expect(await firewall.markRules()).toEqual([]);
    });

    test("NAT rules per server: SNAT to the external address, masquerade without one and for IPv6", async () => {
      await firewall.apply(state());
      expect((await firewall.natRules("srv1")).map(shape)).toEqual([
        { source: F.subnet4, destination: "0.0.0.0/0", target: `SNAT to:${F.externalIp}` },
        { source: F.subnet6, destination: "::/0", target: "MASQUERADE" },
      ]);
      expect((await firewall.natRules("srv2")).map(shape)).toEqual([
        { source: F.otherSubnet4, destination: "0.0.0.0/0", target: "MASQUERADE" },
      ]);
      expect(await firewall.natRules("nosuch")).toEqual([]);
      // Without an uplink interface the rules NAT whatever leaves through a non-vpncp interface: same texts.
      await firewall.apply({ ...state(), wanInterface: undefined });
      expect((await firewall.natRules("srv2")).map(shape)).toEqual([
        { source: F.otherSubnet4, destination: "0.0.0.0/0", target: "MASQUERADE" },
      ]);
    });

    test("filter rules per server: traffic between its clients is accepted or dropped as configured", async () => {
      await firewall.apply(state());
      expect((await firewall.filterRules("srv1")).map(shape)).toEqual([
        { source: F.subnet4, destination: F.subnet4, action: "ACCEPT" },
        { source: F.subnet6, destination: F.subnet6, action: "ACCEPT" },
      ]);
      expect((await firewall.filterRules("srv2")).map(shape)).toEqual([
        { source: F.otherSubnet4, destination: F.otherSubnet4, action: "DROP" },
      ]);
      expect(await firewall.filterRules("nosuch")).toEqual([]);
      for (const rule of [...(await firewall.filterRules("srv1")), ...(await firewall.natRules("srv1"))]) {
        expect(Number.isSafeInteger(rule.packets) && Number.isSafeInteger(rule.bytes)).toBe(true);
      }
    });

    test("apply is idempotent, and replaces: what the new state leaves out is gone", async () => {
      await firewall.apply(state());
      const first = {
        marks: (await firewall.markRules()).map(shape),
        nat: (await firewall.natRules("srv1")).map(shape),
        filter: (await firewall.filterRules("srv1")).map(shape),
      };
      await firewall.apply(state());
      expect({
        marks: (await firewall.markRules()).map(shape),
        nat: (await firewall.natRules("srv1")).map(shape),
        filter: (await firewall.filterRules("srv1")).map(shape),
      }).toEqual(first);

      await firewall.apply({ wanInterface: options.wanInterface, servers: servers().slice(0, 1), accounts: [b] });
      expect((await firewall.markRules()).map(shape)).toEqual(expected(F.b));
      expect(await firewall.natRules("srv2")).toEqual([]);
      expect(await firewall.filterRules("srv2")).toEqual([]);
      expect(await firewall.natRules("srv1")).toHaveLength(2);
    });

    test("clear removes everything vpncp owns; it can be repeated and applied again", async () => {
      await firewall.apply(state());
      await firewall.clear();
      expect(await firewall.markRules()).toEqual([]);
      expect(await firewall.markRules([a])).toEqual([]);
      expect(await firewall.natRules("srv1")).toEqual([]);
      expect(await firewall.filterRules("srv1")).toEqual([]);
      await firewall.clear();
      await firewall.apply(state());
      expect((await firewall.markRules([a])).map(shape)).toEqual(expected(F.a));
    });

    test("info names the tools in use", async () => {
      const info = await firewall.info();
      expect(Object.keys(info).length).toBeGreaterThan(0);
      for (const value of Object.values(info)) expect(value).toMatch(/\S/);
    });

    test.skipIf(!options.hostRule)("rules of the host that vpncp does not own survive apply, updateAccounts and clear", async () => {
      const hostRule = options.hostRule!;
      await hostRule.install(firewall);
      expect(await hostRule.intact(firewall)).toBe(true);
      await firewall.apply(state());
      expect(await hostRule.intact(firewall)).toBe(true);
      await firewall.updateAccounts({ upsert: [d], remove: [a] });
      expect(await hostRule.intact(firewall)).toBe(true);
      await firewall.apply(state());
      await firewall.clear();
      expect(await hostRule.intact(firewall)).toBe(true);
    });

    describe.skipIf(!options.downloadClass)("download classes", () => {
      const classOf = (iface: string, address: string) => options.downloadClass!(firewall, iface, address);
      const extra = options.extraInterface ?? { name: "ipsec0", account: { mark: 0x75, ipv4: "10.0.105.30" } };
      const roamer: FirewallAccountSpec = { ...extra.account, interface: if1 };
      const withRoamer = (shapedInterfaces?: readonly string[]): FirewallState => ({
        ...state(),
        accounts: [a, b, c, roamer],
        ...(shapedInterfaces ? { shapedInterfaces } : {}),
      });

      test("a download gets its account's class where it leaves through a server's interface", async () => {
        await firewall.apply(withRoamer());
        expect(await classOf(if1, F.a.ipv4)).toBe(F.a.mark);
        expect(await classOf(if1, F.b.ipv6)).toBe(F.b.mark);
        // Through an interface that is not shaped, an account's download gets no class.
        expect(await classOf(extra.name, roamer.ipv4)).toBeNull();
      });

      test("and where it leaves through an extra shaped interface, by its address; updateAccounts keeps that", async () => {
        await firewall.apply(withRoamer([extra.name]));
        expect(await classOf(extra.name, roamer.ipv4)).toBe(roamer.mark);
        expect(await classOf(if1, F.a.ipv4)).toBe(F.a.mark);
        await firewall.updateAccounts({ upsert: [{ ...roamer, mark: 0x76 }], remove: [roamer] });
        expect(await classOf(extra.name, roamer.ipv4)).toBe(0x76);
        await firewall.updateAccounts({ upsert: [], remove: [{ ...roamer, mark: 0x76 }] });
        expect(await classOf(extra.name, roamer.ipv4)).toBeNull();
        // A new state without it: no longer shaped there.
        await firewall.apply(withRoamer());
        expect(await classOf(extra.name, roamer.ipv4)).toBeNull();
      });
    });

    describe.skipIf(!options.sendTraffic)("with traffic", () => {
      const send = (address: string) => options.sendTraffic!(firewall, address);

      test("counters grow with traffic in both directions, per account and address family", async () => {
        await firewall.apply(state());
        await send(F.a.ipv4);
        await send(F.a.ipv6);
        const rules = await firewall.markRules();
        for (const [direction, address] of [
          ["down", F.a.ipv4],
          ["up", F.a.ipv4],
          ["down", F.a.ipv6],
          ["up", F.a.ipv6],
        ] as const) {
          const rule = find(rules, F.a.mark, direction, address);
          expect(rule?.packets, `${direction} ${address}`).toBeGreaterThan(0);
          expect(rule?.bytes, `${direction} ${address}`).toBeGreaterThan(0);
        }
        // B sent nothing.
        expect(find(rules, F.b.mark, "down", F.b.ipv4)?.bytes).toBe(0);
        expect(find(rules, F.b.mark, "up", F.b.ipv4)?.bytes).toBe(0);
        expect((await firewall.markRules([a])).map((rule) => rule.bytes)).toEqual(
          expected(F.a).map(
            (rule) => find(rules, rule.mark, rule.direction, rule.direction === "down" ? rule.destination : rule.source)?.bytes,
          ),
        );
      });

      test("updateAccounts keeps the counters of the accounts it does not change", async () => {
        await firewall.apply(state());
        await send(F.a.ipv4);
        await send(F.b.ipv4);
        const before = await firewall.markRules();
        const aDown = find(before, F.a.mark, "down", F.a.ipv4)?.bytes ?? 0;
        const bUp = find(before, F.b.mark, "up", F.b.ipv4)?.bytes ?? 0;
        expect(aDown).toBeGreaterThan(0);
        expect(bUp).toBeGreaterThan(0);
        // A is upserted unchanged, B moves to a new mark, C goes, D comes.
        await firewall.updateAccounts({ upsert: [a, d, { ...b, mark: 0x73 }], remove: [c, b] });
        const after = await firewall.markRules();
        expect(find(after, F.a.mark, "down", F.a.ipv4)?.bytes).toBeGreaterThanOrEqual(aDown);
        expect(find(after, 0x73, "up", F.b.ipv4)?.bytes).toBeLessThan(bUp);
        expect(find(after, F.d.mark, "up", F.d.ipv4)?.bytes).toBe(0);
      });

      test("apply starts every counter from zero, as a reload does", async () => {
        await firewall.apply(state());
        await send(F.a.ipv4);
        expect(find(await firewall.markRules([a]), F.a.mark, "down", F.a.ipv4)?.bytes).toBeGreaterThan(0);
        await firewall.apply(state());
        const rules = await firewall.markRules([a]);
        expect(find(rules, F.a.mark, "down", F.a.ipv4)?.bytes).toBe(0);
        expect(find(rules, F.a.mark, "up", F.a.ipv4)?.bytes).toBe(0);
      });
    });
  });
}
