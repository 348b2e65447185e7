/**
 * The firewall port in memory, for tests of everything above the drivers. It
 * behaves like the real drivers in what the contract checks: mark counters
 * live per address and direction (like nft map elements / iptables rules),
 * `apply` starts every counter from zero (an atomic replace does), and
 * `updateAccounts` keeps the counters of what it does not change; a download
 * gets its account's class by address where it leaves through a server's
 * interface or one of `shapedInterfaces`. `simulateTraffic`, `resetCounters`
 * and `downloadClass` stand in for packets, a reload and an HTB.
 */
import { isIPv4, isIPv6 } from "node:net";
import type {
  FilterRuleState,
  FirewallAccountChange,
  FirewallAccountSpec,
  FirewallPort,
  FirewallServerSpec,
  FirewallState,
  MarkRuleState,
  NatRuleState,
} from "@vpncp/core";
import { firewallChecks, markRuleState } from "./checks.js";

export const DRIVER_NAME = "fake";

export interface SimulatedFirewallTraffic {
  /** Bytes and packets sent to the account (its download). */
  readonly downBytes?: number;
  readonly downPackets?: number;
  /** Bytes and packets sent by the account (its upload). */
  readonly upBytes?: number;
  readonly upPackets?: number;
}

interface Counter {
  readonly mark: number;
  packets: number;
  bytes: number;
}

type ElementMaps = Record<"down4" | "up4" | "down6" | "up6", Map<string, Counter>>;
const ELEMENT_MAPS = ["down4", "up4", "down6", "up6"] as const;

const { canonicalIp } = firewallChecks(DRIVER_NAME);

function emptyElements(): ElementMaps {
  return { down4: new Map(), up4: new Map(), down6: new Map(), up6: new Map() };
}

/** The map elements (map, canonical address) an account holds. */
function elementKeys(account: FirewallAccountSpec): Array<[keyof ElementMaps, string]> {
  const keys: Array<[keyof ElementMaps, string]> = [
    ["down4", account.ipv4],
    ["up4", account.ipv4],
  ];
  if (account.ipv6) {
    const v6 = canonicalIp(account.ipv6);
    keys.push(["down6", v6], ["up6", v6]);
  }
  return keys;
}

function markRule(map: keyof ElementMaps, address: string, counter: Counter): MarkRuleState {
  return markRuleState(map.startsWith("down") ? "down" : "up", map.endsWith("6") ? 6 : 4, address, counter);
}

export class FakeFirewall implements FirewallPort {
  readonly driverName = DRIVER_NAME;
  /** Rules of the host that vpncp does not own: tests put some here; the fake never touches them. */
  readonly hostRules = new Set<string>();
  #applied: {
    wanInterface: string | undefined;
    servers: FirewallServerSpec[];
    shapedInterfaces: string[];
    accounts: Map<number, FirewallAccountSpec>;
  } | null = null;
  #elements: ElementMaps = emptyElements();
  #calls = { apply: 0, updateAccounts: 0, clear: 0 };

  /** Whether a state is applied (apply called, clear not called since). */
  get applied(): boolean {
    return this.#applied !== null;
  }

  get wanInterface(): string | undefined {
    return this.#applied?.wanInterface;
  }

  get servers(): readonly FirewallServerSpec[] {
    return [...(this.#applied?.servers ?? [])];
  }

  /** The extra shaped interfaces of the applied state (the servers' interfaces are shaped anyway). */
  get shapedInterfaces(): readonly string[] {
    return [...(this.#applied?.shapedInterfaces ?? [])];
  }

  /** Applied accounts, by mark. */
  get accounts(): readonly FirewallAccountSpec[] {
    return [...(this.#applied?.accounts.values() ?? [])].sort((a, b) => a.mark - b.mark);
  }

  /** How often each changing operation ran (each is one transaction on the real drivers). */
  get calls(): Readonly<{ apply: number; updateAccounts: number; clear: number }> {
    return { ...this.#calls };
  }

  /** Counts traffic of the account holding this address, as real packets would through its mark rules. */
  simulateTraffic(address: string, traffic: SimulatedFirewallTraffic): void {
    const key = canonicalIp(address);
    const family = isIPv4(key) ? "4" : "6";
    const down = this.#elements[`down${family}`].get(key);
    const up = this.#elements[`up${family}`].get(key);
    if (down) {
      down.bytes += traffic.downBytes ?? 0;
      down.packets += traffic.downPackets ?? 0;
    }
    if (up) {
      up.bytes += traffic.upBytes ?? 0;
      up.packets += traffic.upPackets ?? 0;
    }
  }

  /**
   * The HTB class minor (= mark) a download to `address` leaving through `iface` gets, as the real
   * rules pick it: by destination address, on the servers' interfaces and the shaped ones; null: none.
   */
  downloadClass(iface: string, address: string): number | null {
    const applied = this.#applied;
    if (!applied) return null;
    const shaped = applied.servers.some((server) => server.interface === iface) || applied.shapedInterfaces.includes(iface);
    if (!shaped) return null;
    const key = canonicalIp(address);
    return this.#elements[isIPv4(key) ? "down4" : "down6"].get(key)?.mark ?? null;
  }

  /** Zeroes every mark counter, as reloading the real rules does. */
  resetCounters(): void {
    for (const map of ELEMENT_MAPS) {
      for (const counter of this.#elements[map].values()) {
        counter.packets = 0;
        counter.bytes = 0;
      }
    }
  }

  async info(): Promise<Record<string, string>> {
    return { fake: "1" };
  }

  async apply(state: FirewallState): Promise<void> {
    this.#calls.apply += 1;
    const accounts = new Map(state.accounts.map((account) => [account.mark, { ...account }]));
    this.#applied = {
      wanInterface: state.wanInterface,
      servers: state.servers.map((server) => ({ ...server })),
      shapedInterfaces: [...new Set(state.shapedInterfaces ?? [])],
      accounts,
    };
    this.#elements = this.#elementsOf(accounts, emptyElements());
  }

  async updateAccounts(change: FirewallAccountChange): Promise<void> {
    this.#calls.updateAccounts += 1;
    if (!this.#applied) throw new Error("[vpncp] [fake] the firewall state is not applied; apply the state first");
    const accounts = this.#applied.accounts;
    // Only the elements of the marks in the change are touched (one change costs the same at 10 or 10,000 accounts).
    const released = new Map<string, Counter>();
    for (const account of [...change.remove, ...change.upsert]) {
      const applied = accounts.get(account.mark);
      if (!applied) continue;
      for (const [map, address] of elementKeys(applied)) {
        const counter = this.#elements[map].get(address);
        if (counter?.mark !== applied.mark) continue;
        this.#elements[map].delete(address);
        released.set(`${map} ${address}`, counter);
      }
      accounts.delete(account.mark);
    }
    for (const account of change.upsert) {
      accounts.set(account.mark, { ...account });
      for (const [map, address] of elementKeys(account)) {
        const old = released.get(`${map} ${address}`) ?? this.#elements[map].get(address);
        this.#elements[map].set(address, old && old.mark === account.mark ? old : { mark: account.mark, packets: 0, bytes: 0 });
      }
    }
  }

  /** Elements of these accounts; an element that keeps its address and mark keeps its counter. */
  #elementsOf(accounts: Map<number, FirewallAccountSpec>, previous: ElementMaps): ElementMaps {
    const next = emptyElements();
    for (const account of accounts.values()) {
      for (const [map, address] of elementKeys(account)) {
        const old = previous[map].get(address);
        next[map].set(address, old && old.mark === account.mark ? old : { mark: account.mark, packets: 0, bytes: 0 });
      }
    }
    return next;
  }

  async markRules(accounts?: readonly FirewallAccountSpec[]): Promise<MarkRuleState[]> {
    if (accounts === undefined) {
      const family = (map: string) => (map.endsWith("6") ? 6 : 4);
      const rules: Array<MarkRuleState & { order: number }> = [];
      for (const map of ELEMENT_MAPS) {
        for (const [address, counter] of this.#elements[map]) {
          rules.push({ ...markRule(map, address, counter), order: family(map) * 2 + (map.startsWith("down") ? 0 : 1) });
        }
      }
      return rules.sort((a, b) => a.mark - b.mark || a.order - b.order).map(({ order: _, ...rule }) => rule);
    }
    const rules: MarkRuleState[] = [];
    for (const account of accounts) {
      const v6 = account.ipv6 ? canonicalIp(account.ipv6) : undefined;
      const lookups: Array<[keyof ElementMaps, string | undefined]> = [
        ["down4", account.ipv4],
        ["up4", account.ipv4],
        ["down6", v6],
        ["up6", v6],
      ];
      for (const [map, address] of lookups) {
        const counter = address === undefined ? undefined : this.#elements[map].get(address);
        if (address !== undefined && counter?.mark === account.mark) rules.push(markRule(map, address, counter));
      }
    }
    return rules;
  }

  async natRules(server: string): Promise<NatRuleState[]> {
    const spec = this.#applied?.servers.find((candidate) => candidate.name === server);
    if (!spec) return [];
    const rules: NatRuleState[] = [
      {
        source: spec.subnet4,
        destination: "0.0.0.0/0",
        target: isIPv4(spec.externalIp) ? `SNAT to:${spec.externalIp}` : "MASQUERADE",
        packets: 0,
        bytes: 0,
      },
    ];
    if (spec.subnet6) {
      const target = isIPv6(spec.externalIp) ? `SNAT to:${canonicalIp(spec.externalIp)}` : "MASQUERADE";
      rules.push({ source: spec.subnet6, destination: "::/0", target, packets: 0, bytes: 0 });
    }
    return rules;
  }

  async filterRules(server: string): Promise<FilterRuleState[]> {
    const spec = this.#applied?.servers.find((candidate) => candidate.name === server);
    if (!spec) return [];
    const action = spec.internalTraffic ? "ACCEPT" : "DROP";
    const rules: FilterRuleState[] = [{ source: spec.subnet4, destination: spec.subnet4, action, packets: 0, bytes: 0 }];
    if (spec.subnet6) rules.push({ source: spec.subnet6, destination: spec.subnet6, action, packets: 0, bytes: 0 });
    return rules;
  }

  async clear(): Promise<void> {
    this.#calls.clear += 1;
    this.#applied = null;
    this.#elements = emptyElements();
  }

  async dispose(): Promise<void> {}
}

export default function createFakeFirewall(): FakeFirewall {
  return new FakeFirewall();
}
