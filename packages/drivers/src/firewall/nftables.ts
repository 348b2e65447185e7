/**
 * The firewall port on nftables: one table `inet <table>` owned by vpncp.
 *
 * Accounts live in maps, not rules, so that 10 000 accounts cost one lookup per
 * packet and one element per change: `mark_down4/6` (keyed by destination, in
 * postrouting) and `mark_up4/6` (keyed by source, in prerouting) carry a counter
 * per element, which is what the traffic statistics read; `prio_down4/6`
 * (keyed by destination) set the skb priority to the account's HTB class
 * 1:<mark hex> where the packet leaves through a shaped interface (set
 * `shaped`: the servers' WireGuard interfaces and `shapedInterfaces`, e.g.
 * IKEv2's tunnel device). Everything is keyed by address, not by interface,
 * so IKEv2 clients (same addresses, another interface) are counted and
 * shaped too.
 *
 * `apply` replaces the whole table in one `nft -f -` transaction (counters
 * start from zero); `updateAccounts` is one transaction of element lines,
 * computed against an in-memory mirror of what is applied, so unchanged
 * elements keep their counters and no absent element is ever deleted.
 */
import { isIPv4, isIPv6 } from "node:net";
import {
  CommandError,
  type CommandRunner,
  type FilterRuleState,
  type FirewallAccountChange,
  type FirewallAccountSpec,
  type FirewallPort,
  type FirewallState,
  type MarkRuleState,
  type NatRuleState,
} from "@vpncp/core";
import { ANY, firewallChecks, markRuleState } from "./checks.js";

export const DRIVER_NAME = "nftables";

export interface NftablesOptions {
  readonly runner: CommandRunner;
  /** The table vpncp owns (family inet). Default "vpncp". */
  readonly table?: string;
  /** Turn on IP forwarding (sysctl) in the runner's namespace on apply. Default true. */
  readonly manageForwarding?: boolean;
}

const MAPS = ["mark_down4", "mark_up4", "mark_down6", "mark_up6", "prio_down4", "prio_down6"] as const;
type MapName = (typeof MAPS)[number];
const MARK_MAPS = ["mark_down4", "mark_up4", "mark_down6", "mark_up6"] as const;
type MarkMapName = (typeof MARK_MAPS)[number];

/** Element key → value, exactly as written in a script ("10.0.105.18" → "0x6d" in a mark map, "1:6d" in a priority map). */
export type NftElements = Record<MapName, Map<string, string>>;

const { error: driverError, canonicalIp, checkName, ifname, serverName, subnet, markHex } = firewallChecks(DRIVER_NAME);

function emptyElements(): NftElements {
  return {
    mark_down4: new Map(),
    mark_up4: new Map(),
    mark_down6: new Map(),
    mark_up6: new Map(),
    prio_down4: new Map(),
    prio_down6: new Map(),
  };
}

/** The elements an account contributes to each map. */
function accountElements(account: FirewallAccountSpec): Array<[MapName, string, string]> {
  const hex = markHex(account.mark);
  // Checked though the elements no longer name it: a bad spec is refused the same everywhere.
  ifname(account.interface);
  const out: Array<[MapName, string, string]> = [];
  if (!isIPv4(account.ipv4)) throw driverError(`invalid IPv4 address: ${JSON.stringify(account.ipv4)}`);
  out.push(["mark_down4", account.ipv4, `0x${hex}`], ["mark_up4", account.ipv4, `0x${hex}`], ["prio_down4", account.ipv4, `1:${hex}`]);
  if (account.ipv6) {
    if (!isIPv6(account.ipv6)) throw driverError(`invalid IPv6 address: ${JSON.stringify(account.ipv6)}`);
    const v6 = canonicalIp(account.ipv6);
    out.push(["mark_down6", v6, `0x${hex}`], ["mark_up6", v6, `0x${hex}`], ["prio_down6", v6, `1:${hex}`]);
  }
  return out;
}

export function elementsOf(accounts: readonly FirewallAccountSpec[]): NftElements {
  const elements = emptyElements();
  for (const account of accounts) {
    for (const [map, key, value] of accountElements(account)) elements[map].set(key, value);
  }
  return elements;
}

function elementList(elements: Map<string, string>): string {
  return [...elements].map(([key, value]) => `${key} : ${value}`).join(", ");
}

function comment(server: string, what: string): string {
  return `"vpncp:${server}:${what}"`;
}

/** NAT target of one family: SNAT when the external address is of that family, masquerade otherwise. */
function natTarget(externalIp: string, family: 4 | 6): string {
  if (family === 4 && isIPv4(externalIp)) return `snat ip to ${externalIp}`;
  if (family === 6 && isIPv6(externalIp)) return `snat ip6 to ${canonicalIp(externalIp)}`;
  if (externalIp !== "" && !isIPv4(externalIp) && !isIPv6(externalIp))
    throw driverError(`invalid external IP: ${JSON.stringify(externalIp)}`);
  return "masquerade";
}

/** The whole table as one `nft -f` script: declare, delete, redefine (an atomic replace that also works when absent). */
export function renderNftRuleset(table: string, state: FirewallState): string {
  const elements = elementsOf(state.accounts);
  const interfaces = [...new Set(state.servers.map((server) => ifname(server.interface)))];
  const ifset = `{ ${interfaces.map((name) => `"${name}"`).join(", ")} }`;
  const shaped = [...new Set([...interfaces, ...(state.shapedInterfaces ?? []).map(ifname)])];
  const wan = state.wanInterface ? `oifname "${ifname(state.wanInterface)}"` : `oifname != ${ifset}`;
  const types: Record<MapName, string> = {
    mark_down4: "ipv4_addr : mark; counter;",
    mark_up4: "ipv4_addr : mark; counter;",
    mark_down6: "ipv6_addr : mark; counter;",
    mark_up6: "ipv6_addr : mark; counter;",
    prio_down4: "ipv4_addr : classid;",
    prio_down6: "ipv6_addr : classid;",
  };
  const lines = [`table inet ${table}`, `delete table inet ${table}`, `table inet ${table} {`];
  const shapedList = shaped.length > 0 ? ` elements = { ${shaped.map((name) => `"${name}"`).join(", ")} }` : "";
  lines.push(`  set shaped { type ifname;${shapedList} }`);
  for (const map of MAPS) {
    const list = elements[map].size > 0 ? ` elements = { ${elementList(elements[map])} }` : "";
    lines.push(`  map ${map} { type ${types[map]}${list} }`);
  }
  lines.push(
    "  chain mangle_prerouting {",
    "    type filter hook prerouting priority mangle; policy accept;",
    "    meta mark set ip saddr map @mark_up4",
    "    meta mark set ip6 saddr map @mark_up6",
    "  }",
    "  chain mangle_postrouting {",
    "    type filter hook postrouting priority mangle; policy accept;",
    "    meta mark set ip daddr map @mark_down4",
    "    meta mark set ip6 daddr map @mark_down6",
    "    oifname @shaped meta priority set ip daddr map @prio_down4",
    "    oifname @shaped meta priority set ip6 daddr map @prio_down6",
    "  }",
    "  chain nat_postrouting {",
    "    type nat hook postrouting priority srcnat; policy accept;",
  );
  for (const server of state.servers) {
    const name = serverName(server.name);
    lines.push(
      `    ${wan} ip saddr ${subnet(server.subnet4, 4)} counter ${natTarget(server.externalIp, 4)} comment ${comment(name, "nat4")}`,
    );
    if (server.subnet6) {
      lines.push(
        `    ${wan} ip6 saddr ${subnet(server.subnet6, 6)} counter ${natTarget(server.externalIp, 6)} comment ${comment(name, "nat6")}`,
      );
    }
  }
  lines.push("  }", "  chain forward {", "    type filter hook forward priority filter; policy accept;");
  for (const server of state.servers) {
    const name = serverName(server.name);
    const verdict = server.internalTraffic ? "accept" : "drop";
    const s4 = subnet(server.subnet4, 4);
    lines.push(`    ip saddr ${s4} ip daddr ${s4} counter ${verdict} comment ${comment(name, "internal4")}`);
    if (server.subnet6) {
      const s6 = subnet(server.subnet6, 6);
      lines.push(`    ip6 saddr ${s6} ip6 daddr ${s6} counter ${verdict} comment ${comment(name, "internal6")}`);
    }
  }
  // An accept is this table's verdict only: nftables still runs the host's own forward chains, whose drops win.
  if (interfaces.length > 0) {
    lines.push(`    iifname ${ifset} accept comment "vpncp:interfaces"`, `    oifname ${ifset} accept comment "vpncp:interfaces"`);
  }
  lines.push("  }", "}", "");
  return lines.join("\n");
}

/** The element lines that turn `from` into `to`: deletions first, then additions. Empty when nothing changes. */
export function renderNftElementChange(table: string, from: NftElements, to: NftElements): string {
  const deletes: string[] = [];
  const adds: string[] = [];
  for (const map of MAPS) {
    const gone = [...from[map]].filter(([key, value]) => to[map].get(key) !== value).map(([key]) => key);
    const added = [...to[map]].filter(([key, value]) => from[map].get(key) !== value);
    if (gone.length > 0) deletes.push(`delete element inet ${table} ${map} { ${gone.join(", ")} }`);
    if (added.length > 0) adds.push(`add element inet ${table} ${map} { ${elementList(new Map(added))} }`);
  }
  const lines = [...deletes, ...adds];
  return lines.length > 0 ? `${lines.join("\n")}\n` : "";
}

/** The mark an element points to: "0x6d" (mark maps) or "1:6d" (priority maps) → 0x6d. */
function markOfValue(value: string): number {
  return Number.parseInt(value.startsWith("0x") ? value.slice(2) : value.slice(value.indexOf(":") + 1), 16);
}

/**
 * The applied elements, with every mark's elements indexed, so that an account change
 * finds what its marks hold without walking every element: it costs the same at 10 or
 * 10,000 accounts.
 */
class AppliedElements {
  readonly elements: NftElements;
  readonly #byMark = new Map<number, Set<string>>();

  constructor(elements: NftElements) {
    this.elements = elements;
    for (const map of MAPS) for (const [key, value] of elements[map]) this.#index(map, key, value);
  }

  #index(map: MapName, key: string, value: string): void {
    const mark = markOfValue(value);
    const keys = this.#byMark.get(mark) ?? new Set<string>();
    this.#byMark.set(mark, keys.add(`${map} ${key}`));
  }

  /** The (map, key) of every element holding this mark now. */
  elementsOf(mark: number): Array<[MapName, string]> {
    return [...(this.#byMark.get(mark) ?? [])].map((entry) => {
      const space = entry.indexOf(" ");
      return [entry.slice(0, space) as MapName, entry.slice(space + 1)];
    });
  }

  /** Sets (or, with undefined, deletes) one element. */
  set(map: MapName, key: string, value: string | undefined): void {
    const old = this.elements[map].get(key);
    if (old !== undefined) this.#byMark.get(markOfValue(old))?.delete(`${map} ${key}`);
    if (value === undefined) {
      this.elements[map].delete(key);
      return;
    }
    this.elements[map].set(key, value);
    this.#index(map, key, value);
  }
}

/**
 * The element lines of a change given as the new value of each touched element (undefined:
 * deleted): deletions first, then additions, as `renderNftElementChange` writes them.
 */
function renderTouchedElements(table: string, from: NftElements, touched: Record<MapName, Map<string, string | undefined>>): string {
  const deletes: string[] = [];
  const adds: string[] = [];
  for (const map of MAPS) {
    const gone: string[] = [];
    const added = new Map<string, string>();
    for (const [key, value] of touched[map]) {
      const old = from[map].get(key);
      if (old === value) continue;
      if (old !== undefined) gone.push(key);
      if (value !== undefined) added.set(key, value);
    }
    if (gone.length > 0) deletes.push(`delete element inet ${table} ${map} { ${gone.join(", ")} }`);
    if (added.size > 0) adds.push(`add element inet ${table} ${map} { ${elementList(added)} }`);
  }
  const lines = [...deletes, ...adds];
  return lines.length > 0 ? `${lines.join("\n")}\n` : "";
}

type Counters = Map<MarkMapName, Map<string, { mark: number; packets: number; bytes: number }>>;

/** The maps of `nft -j list table|map`: their elements (as a script writes them) and the mark maps' counters. */
export function parseMaps(stdout: string): { elements: NftElements; counters: Counters } {
  const elements = emptyElements();
  const counters: Counters = new Map();
  for (const object of jsonObjects(stdout)) {
    const map = object.map as { name?: string; elem?: unknown[] } | undefined;
    if (!map?.name || !(MAPS as readonly string[]).includes(map.name)) continue;
    const name = map.name as MapName;
    for (const entry of map.elem ?? []) {
      const [key, value] = entry as [unknown, unknown];
      const wrapped = (key as { elem?: { val?: unknown; counter?: { packets?: number; bytes?: number } } } | null)?.elem;
      const text = canonicalIp(String(wrapped?.val ?? key));
      const data = typeof value === "number" ? `0x${value.toString(16)}` : String(value);
      elements[name].set(text, data);
      if ((MARK_MAPS as readonly string[]).includes(name) && typeof value === "number") {
        const perMap = counters.get(name as MarkMapName) ?? new Map();
        counters.set(name as MarkMapName, perMap);
        perMap.set(text, { mark: value, packets: wrapped?.counter?.packets ?? 0, bytes: wrapped?.counter?.bytes ?? 0 });
      }
    }
  }
  return { elements, counters };
}

/** One element of a mark map as `nft -j list map` (1.0.x) prints it. */
const MARK_ELEMENT = /\{"elem": \{"val": "([0-9a-fA-F.:]+)", "counter": \{"packets": (\d+), "bytes": (\d+)\}\}\}, (\d+)\]/g;

/**
 * The counters of one mark map's `nft -j list map` output, read from the text without building
 * its JSON tree (a statistics sample lists every account's four elements: at 10,000 accounts the
 * tree and its maps were ~20 MB of garbage per sample). Null when the text is not in the shape
 * this expects (another nft version): then `parseMaps` reads it.
 */
export function scanMarkCounters(map: MarkMapName, stdout: string): MarkRuleState[] | null {
  const head = stdout.indexOf(`"name": "${map}"`);
  if (head < 0) return null;
  const rules: MarkRuleState[] = [];
  const family = map.endsWith("6") ? 6 : 4;
  let elements = 0;
  for (let at = stdout.indexOf('{"elem": ', head); at >= 0; at = stdout.indexOf('{"elem": ', at + 1)) elements += 1;
  MARK_ELEMENT.lastIndex = head;
  for (let m = MARK_ELEMENT.exec(stdout); m; m = MARK_ELEMENT.exec(stdout)) {
    const address = family === 6 ? canonicalIp(m[1] as string) : (m[1] as string);
    rules.push(markRule(map, address, { mark: Number(m[4]), packets: Number(m[2]), bytes: Number(m[3]) }));
  }
  return rules.length === elements ? rules : null;
}

interface NftJsonRule {
  readonly chain?: string;
  readonly comment?: string;
  readonly expr?: readonly Record<string, unknown>[];
}

/** One side of a match on an address, as `nft -j` writes it: "10.0.105.18" or { prefix: { addr, len } }. */
function addressOf(right: unknown): string | undefined {
  if (typeof right === "string") return right.includes(":") ? `${right}/128` : `${right}/32`;
  const prefix = (right as { prefix?: { addr?: string; len?: number } } | null)?.prefix;
  return prefix?.addr !== undefined ? `${prefix.addr}/${prefix.len}` : undefined;
}

interface ParsedRule {
  readonly family: 4 | 6;
  readonly source?: string;
  readonly destination?: string;
  readonly counter: { packets: number; bytes: number };
  readonly verdict?: "accept" | "drop";
  readonly nat?: string;
}

function parseRule(rule: NftJsonRule): ParsedRule {
  let family: 4 | 6 = 4;
  let source: string | undefined;
  let destination: string | undefined;
  let counter = { packets: 0, bytes: 0 };
  let verdict: "accept" | "drop" | undefined;
  let nat: string | undefined;
  for (const expr of rule.expr ?? []) {
    const match = expr.match as { left?: { payload?: { protocol?: string; field?: string } }; right?: unknown } | undefined;
    const payload = match?.left?.payload;
    if (payload && (payload.field === "saddr" || payload.field === "daddr")) {
      if (payload.protocol === "ip6") family = 6;
      if (payload.field === "saddr") source = addressOf(match?.right);
      else destination = addressOf(match?.right);
    }
    if (expr.counter && typeof expr.counter === "object") {
      const value = expr.counter as { packets?: number; bytes?: number };
      counter = { packets: value.packets ?? 0, bytes: value.bytes ?? 0 };
    }
    if ("accept" in expr) verdict = "accept";
    if ("drop" in expr) verdict = "drop";
    if ("masquerade" in expr) nat = "MASQUERADE";
    const snat = expr.snat as { addr?: unknown } | undefined;
    if (snat) nat = `SNAT to:${String(snat.addr)}`;
  }
  return {
    family,
    counter,
    ...(source !== undefined ? { source } : {}),
    ...(destination !== undefined ? { destination } : {}),
    ...(verdict !== undefined ? { verdict } : {}),
    ...(nat !== undefined ? { nat } : {}),
  };
}

function jsonObjects(stdout: string): Record<string, unknown>[] {
  const parsed = JSON.parse(stdout) as { nftables?: Record<string, unknown>[] };
  return parsed.nftables ?? [];
}

function isMissing(error: unknown): boolean {
  return error instanceof CommandError && /No such file or directory/.test(error.stderr);
}

function sortRules(rules: MarkRuleState[]): MarkRuleState[] {
  const family = (rule: MarkRuleState) => (rule.source.includes(":") || rule.destination.includes(":") ? 6 : 4);
  return rules.sort(
    (a, b) => a.mark - b.mark || family(a) - family(b) || (a.direction === b.direction ? 0 : a.direction === "down" ? -1 : 1),
  );
}

function markRule(map: MarkMapName, address: string, counter: { mark: number; packets: number; bytes: number }): MarkRuleState {
  return markRuleState(map.startsWith("mark_down") ? "down" : "up", map.endsWith("6") ? 6 : 4, address, counter);
}

export class NftablesFirewall implements FirewallPort {
  readonly driverName = DRIVER_NAME;
  readonly #runner: CommandRunner;
  readonly #table: string;
  readonly #manageForwarding: boolean;
  /** What is applied: undefined = not known yet (read from the kernel on first need), null = no table. */
  #mirror: AppliedElements | null | undefined;
  #queue: Promise<unknown> = Promise.resolve();

  constructor(options: NftablesOptions) {
    this.#runner = options.runner;
    this.#table = checkName("table name", options.table ?? "vpncp", /^[A-Za-z0-9_]{1,64}$/);
    this.#manageForwarding = options.manageForwarding ?? true;
  }

  /** One operation at a time: each change is computed against the mirror the previous one left. */
  #serial<T>(task: () => Promise<T>): Promise<T> {
    const run = this.#queue.then(task, task);
    this.#queue = run.catch(() => undefined);
    return run;
  }

  #nft(script: string): Promise<unknown> {
    return this.#runner.run("nft", ["-f", "-"], { input: script });
  }

  async info(): Promise<Record<string, string>> {
    const { stdout } = await this.#runner.run("nft", ["--version"]);
    return { nftables: /v?(\d+(?:\.\d+)+)/.exec(stdout)?.[1] ?? stdout.trim() };
  }

  apply(state: FirewallState): Promise<void> {
    return this.#serial(async () => {
      const script = renderNftRuleset(this.#table, state);
      await this.#nft(script);
      this.#mirror = new AppliedElements(elementsOf(state.accounts));
      if (this.#manageForwarding) {
        const ipv6 = state.servers.some((server) => server.subnet6) || state.accounts.some((account) => account.ipv6);
        const keys = ["net.ipv4.ip_forward=1", ...(ipv6 ? ["net.ipv6.conf.all.forwarding=1"] : [])];
        await this.#runner.run("sysctl", ["-q", "-w", ...keys]);
      }
    });
  }

  updateAccounts(change: FirewallAccountChange): Promise<void> {
    return this.#serial(async () => {
      // no await while the mirror is known: the nft process starts in this turn, before other tools'
      const applied = this.#mirror !== undefined ? this.#mirror : await this.#applied();
      if (applied === null) throw driverError(`table inet ${this.#table} is not applied; apply the state first`);
      const touched = {} as Record<MapName, Map<string, string | undefined>>;
      for (const map of MAPS) touched[map] = new Map();
      // Removing an account removes what its mark holds now (its addresses may have changed);
      // marks in ascending order, so the lines do not depend on the order of the change.
      const marks = [...new Set([...change.remove, ...change.upsert].map((account) => account.mark))].sort((a, b) => a - b);
      for (const mark of marks) {
        markHex(mark);
        for (const [map, key] of applied.elementsOf(mark)) touched[map].set(key, undefined);
      }
      // The last upsert of a mark wins, as it does for accounts keyed by mark.
      const upserts = new Map(change.upsert.map((account) => [account.mark, account]));
      for (const account of upserts.values()) {
        for (const [map, key, value] of accountElements(account)) touched[map].set(key, value);
      }
      const script = renderTouchedElements(this.#table, applied.elements, touched);
      if (script === "") return;
      await this.#nft(script);
      for (const map of MAPS) for (const [key, value] of touched[map]) applied.set(map, key, value);
    });
  }

  /** The mirror, read from the kernel when this instance has not applied anything yet. */
  async #applied(): Promise<AppliedElements | null> {
    if (this.#mirror !== undefined) return this.#mirror;
    let stdout: string;
    try {
      ({ stdout } = await this.#runner.run("nft", ["-j", "list", "table", "inet", this.#table]));
    } catch (error) {
      if (!isMissing(error)) throw error;
      this.#mirror = null;
      return null;
    }
    this.#mirror = new AppliedElements(parseMaps(stdout).elements);
    return this.#mirror;
  }

  markRules(accounts?: readonly FirewallAccountSpec[]): Promise<MarkRuleState[]> {
    return this.#serial(async () => {
      if (this.#mirror === null || accounts?.length === 0) return [];
      // One `list map` per mark map (in parallel): with 10 000 accounts that is ~3 times faster than
      // `list table` (the prio maps are costly to print), and `get element` costs as much as a list.
      const maps =
        accounts === undefined || accounts.some((account) => account.ipv6) ? MARK_MAPS : MARK_MAPS.filter((map) => map.endsWith("4"));
      let outputs: string[];
      try {
        outputs = await Promise.all(
          maps.map(async (map) => (await this.#runner.run("nft", ["-j", "list", "map", "inet", this.#table, map])).stdout),
        );
      } catch (error) {
        if (isMissing(error)) return [];
        throw error;
      }
      if (accounts === undefined) {
        const scanned = maps.map((map, i) => scanMarkCounters(map, outputs[i] as string));
        if (scanned.every((rules) => rules !== null)) return sortRules(scanned.flat());
      }
      const counters: Counters = new Map();
      for (const output of outputs) for (const [map, elements] of parseMaps(output).counters) counters.set(map, elements);
      if (accounts !== undefined) return this.#rulesOf(accounts, counters);
      const rules: MarkRuleState[] = [];
      for (const [map, elements] of counters) for (const [address, counter] of elements) rules.push(markRule(map, address, counter));
      return sortRules(rules);
    });
  }

  #rulesOf(accounts: readonly FirewallAccountSpec[], counters: Counters): MarkRuleState[] {
    const rules: MarkRuleState[] = [];
    for (const account of accounts) {
      const v6 = account.ipv6 && isIPv6(account.ipv6) ? canonicalIp(account.ipv6) : undefined;
      const lookups: Array<[MarkMapName, string | undefined]> = [
        ["mark_down4", account.ipv4],
        ["mark_up4", account.ipv4],
        ["mark_down6", v6],
        ["mark_up6", v6],
      ];
      for (const [map, address] of lookups) {
        const counter = address === undefined ? undefined : counters.get(map)?.get(address);
        if (address !== undefined && counter && counter.mark === account.mark) rules.push(markRule(map, address, counter));
      }
    }
    return rules;
  }

  async #chainRules(chain: string, server: string, kinds: readonly string[]): Promise<Array<ParsedRule & { kind: string }>> {
    if (this.#mirror === null) return [];
    let stdout: string;
    try {
      ({ stdout } = await this.#runner.run("nft", ["-j", "list", "chain", "inet", this.#table, chain]));
    } catch (error) {
      if (isMissing(error)) return [];
      throw error;
    }
    const rules: Array<ParsedRule & { kind: string }> = [];
    for (const object of jsonObjects(stdout)) {
      const rule = object.rule as NftJsonRule | undefined;
      const kind = kinds.find((k) => rule?.comment === `vpncp:${server}:${k}`);
      if (rule && kind) rules.push({ ...parseRule(rule), kind });
    }
    return rules;
  }

  natRules(server: string): Promise<NatRuleState[]> {
    return this.#serial(async () => {
      const rules = await this.#chainRules("nat_postrouting", server, ["nat4", "nat6"]);
      return rules.map((rule) => ({
        source: rule.source ?? ANY[rule.family === 6 ? 6 : 4],
        destination: rule.destination ?? ANY[rule.family === 6 ? 6 : 4],
        target: rule.nat ?? "",
        packets: rule.counter.packets,
        bytes: rule.counter.bytes,
      }));
    });
  }

  filterRules(server: string): Promise<FilterRuleState[]> {
    return this.#serial(async () => {
      const rules = await this.#chainRules("forward", server, ["internal4", "internal6"]);
      return rules.map((rule) => ({
        source: rule.source ?? ANY[rule.family === 6 ? 6 : 4],
        destination: rule.destination ?? ANY[rule.family === 6 ? 6 : 4],
        action: rule.verdict === "drop" ? "DROP" : "ACCEPT",
        packets: rule.counter.packets,
        bytes: rule.counter.bytes,
      }));
    });
  }

  clear(): Promise<void> {
    return this.#serial(async () => {
      await this.#nft(`table inet ${this.#table}\ndelete table inet ${this.#table}\n`);
      this.#mirror = null;
    });
  }

  async dispose(): Promise<void> {
    await this.#queue;
  }
}

export default function createNftablesFirewall(options: NftablesOptions): NftablesFirewall {
  return new NftablesFirewall(options);
}
