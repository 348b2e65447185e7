/**
 * The firewall port on iptables (legacy or nf_tables backend), for hosts that
 * manage their firewall with iptables. vpncp owns five chains per family and
 * nothing else: <P>_UP (mangle, from PREROUTING), <P>_DOWN (mangle, from
 * POSTROUTING), <P>_CLASS (mangle, from <P>_DOWN), <P>_NAT (nat, from
 * POSTROUTING) and <P>_FWD (filter, from FORWARD). Everything is written with `iptables-restore --noflush`, which
 * flushes only the chains a script declares, so the host's other rules are
 * never touched; the jumps from the built-in chains are added once (checked
 * with -C first).
 *
 * Each account has a MARK rule per direction and family (comments
 * `vpncp:<mark hex>:up|down`, counted by address so IKEv2 clients count too)
 * and a CLASSIFY rule by destination (`vpncp:<mark hex>:class`) in <P>_CLASS,
 * which picks the download HTB class. <P>_DOWN jumps there once per shaped
 * interface (`-o IF`: the servers' interfaces and `shapedInterfaces`, e.g.
 * IKEv2's tunnel device). The jumps live in <P>_DOWN, not in POSTROUTING:
 * that chain is rewritten whole on apply, so a jump of an interface no longer
 * shaped cannot stay behind, and the host's chains keep their one jump.
 * Rules are matched one by one per packet (linear), so prefer nftables for
 * thousands of accounts.
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
import { ANY, type Family, firewallChecks } from "./checks.js";

export const DRIVER_NAME = "iptables";

export interface IptablesOptions {
  readonly runner: CommandRunner;
  /** "legacy": iptables-legacy(-restore/-save); "nft": iptables-nft(-restore/-save). Default "nft". */
  readonly variant?: "legacy" | "nft";
  /** Prefix of vpncp's chains. Default "VPNCP". */
  readonly chainPrefix?: string;
  /** Turn on IP forwarding (sysctl) in the runner's namespace on apply. Default true. */
  readonly manageForwarding?: boolean;
}

const FAMILIES: readonly Family[] = [4, 6];
type Table = "mangle" | "nat" | "filter";
/** Account rules of one family: comment → rule spec (chain and matches), in iptables-save's own form. */
type AccountRules = Map<string, string>;
type Mirror = Record<Family, AccountRules>;

const HOST: Record<Family, number> = { 4: 32, 6: 128 };

const { error: driverError, canonicalIp, checkName, ifname, serverName, subnet, markHex } = firewallChecks(DRIVER_NAME);

interface Chains {
  readonly up: string;
  readonly down: string;
  readonly cls: string;
  readonly nat: string;
  readonly fwd: string;
}

function chainsOf(prefix: string): Chains {
  return { up: `${prefix}_UP`, down: `${prefix}_DOWN`, cls: `${prefix}_CLASS`, nat: `${prefix}_NAT`, fwd: `${prefix}_FWD` };
}

/** Comments of account rules (a mark's rules share the prefix `vpncp:<mark hex>:`). */
const ACCOUNT_RULE = /^vpncp:[0-9a-f]+:(?:up|down|class)$/;

interface Jump {
  readonly table: Table;
  readonly from: string;
  readonly to: string;
}

function jumpsOf(chains: Chains): Jump[] {
  return [
    { table: "mangle", from: "PREROUTING", to: chains.up },
    { table: "mangle", from: "POSTROUTING", to: chains.down },
    { table: "nat", from: "POSTROUTING", to: chains.nat },
    { table: "filter", from: "FORWARD", to: chains.fwd },
  ];
}

function addressOf(account: FirewallAccountSpec, family: Family): string | undefined {
  if (family === 4) {
    if (!isIPv4(account.ipv4)) throw driverError(`invalid IPv4 address: ${JSON.stringify(account.ipv4)}`);
    return account.ipv4;
  }
  if (!account.ipv6) return undefined;
  if (!isIPv6(account.ipv6)) throw driverError(`invalid IPv6 address: ${JSON.stringify(account.ipv6)}`);
  return canonicalIp(account.ipv6);
}

/** The account's rules of one family, keyed by comment. */
export function accountRules(chains: Chains, account: FirewallAccountSpec, family: Family): Array<[string, string]> {
  const address = addressOf(account, family);
  if (address === undefined) return [];
  const hex = markHex(account.mark);
  // Checked though the rules no longer name it: a bad spec is refused the same everywhere.
  ifname(account.interface);
  const host = `${address}/${HOST[family]}`;
  const mark = `-j MARK --set-xmark 0x${hex}/0xffffffff`;
  return [
    [`vpncp:${hex}:up`, `${chains.up} -s ${host} -m comment --comment "vpncp:${hex}:up" ${mark}`],
    [`vpncp:${hex}:down`, `${chains.down} -d ${host} -m comment --comment "vpncp:${hex}:down" ${mark}`],
    [
      `vpncp:${hex}:class`,
      `${chains.cls} -d ${host} -m comment --comment "vpncp:${hex}:class" -j CLASSIFY --set-class 0001:${hex.padStart(4, "0")}`,
    ],
  ];
}

function rulesOf(chains: Chains, accounts: readonly FirewallAccountSpec[]): Mirror {
  const mirror: Mirror = { 4: new Map(), 6: new Map() };
  for (const family of FAMILIES) {
    for (const account of accounts) for (const [comment, spec] of accountRules(chains, account, family)) mirror[family].set(comment, spec);
  }
  return mirror;
}

function natTarget(externalIp: string, family: Family): string {
  if (externalIp !== "" && !isIPv4(externalIp) && !isIPv6(externalIp))
    throw driverError(`invalid external IP: ${JSON.stringify(externalIp)}`);
  if (family === 4 && isIPv4(externalIp)) return `SNAT --to-source ${externalIp}`;
  if (family === 6 && isIPv6(externalIp)) return `SNAT --to-source ${canonicalIp(externalIp)}`;
  return "MASQUERADE";
}

/**
 * One family's `iptables-restore --noflush` script for the whole state: declaring
 * vpncp's chains flushes them (and only them); `missingJumps` are the jumps from
 * the built-in chains that -C did not find.
 */
export function renderIptablesRuleset(chains: Chains, state: FirewallState, family: Family, missingJumps: ReadonlySet<string>): string {
  const interfaces = [...new Set(state.servers.map((server) => ifname(server.interface)))];
  const shaped = [...new Set([...interfaces, ...(state.shapedInterfaces ?? []).map(ifname)])];
  const wan = state.wanInterface ? ifname(state.wanInterface) : undefined;
  const jump = (from: string, to: string) => (missingJumps.has(`${from}>${to}`) ? [`-I ${from} 1 -j ${to}`] : []);
  const lines = ["*mangle", `:${chains.up} - [0:0]`, `:${chains.down} - [0:0]`, `:${chains.cls} - [0:0]`];
  lines.push(...jump("PREROUTING", chains.up), ...jump("POSTROUTING", chains.down));
  for (const name of shaped) lines.push(`-A ${chains.down} -o ${name} -m comment --comment "vpncp:shaped" -j ${chains.cls}`);
  for (const spec of rulesOf(chains, state.accounts)[family].values()) lines.push(`-A ${spec}`);
  lines.push("COMMIT", "*nat", `:${chains.nat} - [0:0]`, ...jump("POSTROUTING", chains.nat));
  // Without an uplink, NAT applies to whatever does not leave through a vpncp interface.
  if (!wan) for (const name of interfaces) lines.push(`-A ${chains.nat} -o ${name} -m comment --comment "vpncp:interfaces" -j RETURN`);
  const subnets = state.servers.flatMap((server) => {
    const value = family === 4 ? server.subnet4 : server.subnet6;
    return value ? [{ server, name: serverName(server.name), subnet: subnet(value, family) }] : [];
  });
  for (const { server, name, subnet: net } of subnets) {
    const out = wan ? ` -o ${wan}` : "";
    lines.push(`-A ${chains.nat} -s ${net}${out} -m comment --comment "vpncp:${name}:nat" -j ${natTarget(server.externalIp, family)}`);
  }
  lines.push("COMMIT", "*filter", `:${chains.fwd} - [0:0]`, ...jump("FORWARD", chains.fwd));
  for (const { server, name, subnet: net } of subnets) {
    lines.push(
      `-A ${chains.fwd} -s ${net} -d ${net} -m comment --comment "vpncp:${name}:internal" -j ${server.internalTraffic ? "ACCEPT" : "DROP"}`,
    );
  }
  for (const name of interfaces) {
    lines.push(`-A ${chains.fwd} -i ${name} -m comment --comment "vpncp:interfaces" -j ACCEPT`);
    lines.push(`-A ${chains.fwd} -o ${name} -m comment --comment "vpncp:interfaces" -j ACCEPT`);
  }
  lines.push("COMMIT", "");
  return lines.join("\n");
}

/** The -D/-A lines (mangle only) that turn `from` into `to`; empty when nothing changes. */
export function renderIptablesAccountChange(from: AccountRules, to: AccountRules): string {
  const lines: string[] = [];
  for (const [comment, spec] of from) if (to.get(comment) !== spec) lines.push(`-D ${spec}`);
  for (const [comment, spec] of to) if (from.get(comment) !== spec) lines.push(`-A ${spec}`);
  return lines.length > 0 ? ["*mangle", ...lines, "COMMIT", ""].join("\n") : "";
}

export interface SavedRule {
  readonly chain: string;
  readonly spec: string;
  readonly comment: string | undefined;
  readonly packets: number;
  readonly bytes: number;
}

/** Rules of `iptables-save [-c]` output: "[3:252] -A CHAIN ... --comment "x" ...". */
export function parseSave(text: string): { chains: Set<string>; rules: SavedRule[] } {
  const chains = new Set<string>();
  const rules: SavedRule[] = [];
  for (const line of text.split("\n")) {
    const declared = /^:(\S+) /.exec(line);
    if (declared?.[1]) chains.add(declared[1]);
    const rule = /^(?:\[(\d+):(\d+)\] )?-A (\S+) (.*)$/.exec(line);
    if (!rule) continue;
    const [, packets = "0", bytes = "0", chain = "", spec = ""] = rule;
    const comment = /--comment (?:"([^"]*)"|(\S+))/.exec(spec);
    rules.push({ chain, spec: `${chain} ${spec}`, comment: comment?.[1] ?? comment?.[2], packets: Number(packets), bytes: Number(bytes) });
  }
  return { chains, rules };
}

function option(spec: string, flag: string): string | undefined {
  return new RegExp(`(?:^| )${flag} (\\S+)`).exec(spec)?.[1];
}

function stripHost(address: string): string {
  return address.replace(/\/(?:32|128)$/, "");
}

function sortRules(rules: MarkRuleState[]): MarkRuleState[] {
  const family = (rule: MarkRuleState) => (rule.source.includes(":") || rule.destination.includes(":") ? 6 : 4);
  return rules.sort(
    (a, b) => a.mark - b.mark || family(a) - family(b) || (a.direction === b.direction ? 0 : a.direction === "down" ? -1 : 1),
  );
}

export class IptablesFirewall implements FirewallPort {
  readonly driverName = DRIVER_NAME;
  readonly #runner: CommandRunner;
  readonly #variant: "legacy" | "nft";
  readonly #chains: Chains;
  readonly #manageForwarding: boolean;
  /** Account rules applied: undefined = not known yet (read from the kernel on first need), null = no chains. */
  #mirror: Mirror | null | undefined;
  #queue: Promise<unknown> = Promise.resolve();

  constructor(options: IptablesOptions) {
    this.#runner = options.runner;
    this.#variant = options.variant ?? "nft";
    this.#chains = chainsOf(checkName("chain prefix", options.chainPrefix ?? "VPNCP", /^[A-Za-z0-9_-]{1,20}$/));
    this.#manageForwarding = options.manageForwarding ?? true;
  }

  #bin(family: Family, tool: "" | "-restore" | "-save"): string {
    return `${family === 4 ? "ip" : "ip6"}tables-${this.#variant}${tool}`;
  }

  #serial<T>(task: () => Promise<T>): Promise<T> {
    const run = this.#queue.then(task, task);
    this.#queue = run.catch(() => undefined);
    return run;
  }

  #restore(family: Family, script: string): Promise<unknown> {
    return this.#runner.run(this.#bin(family, "-restore"), ["-w", "--noflush"], { input: script });
  }

  async #save(family: Family, table: Table, counters: boolean): Promise<string> {
    const { stdout } = await this.#runner.run(this.#bin(family, "-save"), [...(counters ? ["-c"] : []), "-t", table]);
    return stdout;
  }

  /** Which jumps from the built-in chains exist (`-C`: exit 1 = no such rule, 2 = no such chain). */
  async #presentJumps(family: Family): Promise<Set<string>> {
    const present = new Set<string>();
    await Promise.all(
      jumpsOf(this.#chains).map(async (jump) => {
        const args = ["-w", "-t", jump.table, "-C", jump.from, "-j", jump.to];
        const result = await this.#runner.run(this.#bin(family, ""), args, { allowFailure: true });
        if (result.exitCode === 0) present.add(`${jump.from}>${jump.to}`);
        else if (result.exitCode !== 1 && result.exitCode !== 2)
          throw new CommandError(this.#bin(family, ""), args, result.exitCode, result.stderr);
      }),
    );
    return present;
  }

  async info(): Promise<Record<string, string>> {
    const { stdout } = await this.#runner.run(this.#bin(4, ""), ["--version"]);
    return { iptables: stdout.trim().replace(/^iptables v/, "") };
  }

  apply(state: FirewallState): Promise<void> {
    return this.#serial(async () => {
      const mirror = rulesOf(this.#chains, state.accounts);
      const scripts = new Map<Family, string>();
      // Render both families before running anything, so that a bad spec changes nothing.
      for (const family of FAMILIES) renderIptablesRuleset(this.#chains, state, family, new Set());
      for (const family of FAMILIES) {
        const present = await this.#presentJumps(family);
        const missing = new Set(
          jumpsOf(this.#chains)
            .map((jump) => `${jump.from}>${jump.to}`)
            .filter((key) => !present.has(key)),
        );
        scripts.set(family, renderIptablesRuleset(this.#chains, state, family, missing));
      }
      try {
        for (const family of FAMILIES) await this.#restore(family, scripts.get(family) ?? "");
      } catch (error) {
        // One family may be applied and the other not: read back what is there next time.
        this.#mirror = undefined;
        throw error;
      }
      this.#mirror = mirror;
      if (this.#manageForwarding) {
        const ipv6 = state.servers.some((server) => server.subnet6) || state.accounts.some((account) => account.ipv6);
        await this.#runner.run("sysctl", ["-q", "-w", "net.ipv4.ip_forward=1", ...(ipv6 ? ["net.ipv6.conf.all.forwarding=1"] : [])]);
      }
    });
  }

  /** The mirror, read from the kernel when this instance has not applied anything yet. */
  async #applied(): Promise<Mirror | null> {
    if (this.#mirror !== undefined) return this.#mirror;
    const mirror: Mirror = { 4: new Map(), 6: new Map() };
    for (const family of FAMILIES) {
      const saved = parseSave(await this.#save(family, "mangle", false));
      const chains = [this.#chains.up, this.#chains.down, this.#chains.cls];
      if (!chains.every((chain) => saved.chains.has(chain))) {
        this.#mirror = null;
        return null;
      }
      for (const rule of saved.rules) {
        if (chains.includes(rule.chain) && rule.comment !== undefined && ACCOUNT_RULE.test(rule.comment)) {
          mirror[family].set(rule.comment, rule.spec);
        }
      }
    }
    this.#mirror = mirror;
    return mirror;
  }

  updateAccounts(change: FirewallAccountChange): Promise<void> {
    return this.#serial(async () => {
      const from = await this.#applied();
      if (from === null)
        throw driverError(`chains ${this.#chains.up}/${this.#chains.down}/${this.#chains.cls} are not applied; apply the state first`);
      const marks = [...change.remove, ...change.upsert].map((account) => `vpncp:${markHex(account.mark)}:`);
      const scripts: Array<[Family, string, AccountRules]> = [];
      for (const family of FAMILIES) {
        const to: AccountRules = new Map([...from[family]].filter(([comment]) => !marks.some((mark) => comment.startsWith(mark))));
        for (const account of change.upsert)
          for (const [comment, spec] of accountRules(this.#chains, account, family)) to.set(comment, spec);
        const script = renderIptablesAccountChange(from[family], to);
        if (script !== "") scripts.push([family, script, to]);
      }
      const next: Mirror = { 4: from[4], 6: from[6] };
      for (const [family, script, to] of scripts) {
        await this.#restore(family, script);
        next[family] = to;
        this.#mirror = { 4: next[4], 6: next[6] };
      }
    });
  }

  markRules(accounts?: readonly FirewallAccountSpec[]): Promise<MarkRuleState[]> {
    return this.#serial(async () => {
      if (this.#mirror === null || accounts?.length === 0) return [];
      const families =
        accounts === undefined ? FAMILIES : FAMILIES.filter((family) => family === 4 || accounts.some((account) => account.ipv6));
      const rules: MarkRuleState[] = [];
      const saves = await Promise.all(
        families.map(async (family) => [family, parseSave(await this.#save(family, "mangle", true))] as const),
      );
      for (const [family, saved] of saves) {
        for (const rule of saved.rules) {
          const parts = /^vpncp:([0-9a-f]+):(up|down)$/.exec(rule.comment ?? "");
          const direction = parts?.[2];
          if (!parts?.[1] || (direction !== "up" && direction !== "down")) continue;
          if (rule.chain !== (direction === "up" ? this.#chains.up : this.#chains.down)) continue;
          const address = option(rule.spec, direction === "up" ? "-s" : "-d");
          if (!address) continue;
          const host = stripHost(address);
          rules.push({
            mark: Number.parseInt(parts[1], 16),
            direction,
            source: direction === "up" ? host : ANY[family],
            destination: direction === "up" ? ANY[family] : host,
            packets: rule.packets,
            bytes: rule.bytes,
          });
        }
      }
      if (accounts === undefined) return sortRules(rules);
      const key = (mark: number, direction: string, address: string | undefined) => `${mark}|${direction}|${address}`;
      const byKey = new Map(
        rules.map((rule) => [key(rule.mark, rule.direction, rule.direction === "up" ? rule.source : rule.destination), rule]),
      );
      const result: MarkRuleState[] = [];
      for (const account of accounts) {
        const v6 = account.ipv6 && isIPv6(account.ipv6) ? canonicalIp(account.ipv6) : undefined;
        const order: Array<[string | undefined, "down" | "up"]> = [
          [account.ipv4, "down"],
          [account.ipv4, "up"],
          [v6, "down"],
          [v6, "up"],
        ];
        for (const [address, direction] of order) {
          const found = byKey.get(key(account.mark, direction, address));
          if (address !== undefined && found) result.push(found);
        }
      }
      return result;
    });
  }

  async #serverRules(table: Table, chain: string, server: string, kind: string): Promise<Array<SavedRule & { family: Family }>> {
    if (this.#mirror === null) return [];
    const found: Array<SavedRule & { family: Family }> = [];
    const saves = await Promise.all(FAMILIES.map(async (family) => [family, parseSave(await this.#save(family, table, true))] as const));
    for (const [family, saved] of saves) {
      for (const rule of saved.rules)
        if (rule.chain === chain && rule.comment === `vpncp:${server}:${kind}`) found.push({ ...rule, family });
    }
    return found;
  }

  natRules(server: string): Promise<NatRuleState[]> {
    return this.#serial(async () => {
      const rules = await this.#serverRules("nat", this.#chains.nat, server, "nat");
      return rules.map((rule) => {
        const to = option(rule.spec, "--to-source");
        return {
          source: option(rule.spec, "-s") ?? ANY[rule.family],
          destination: option(rule.spec, "-d") ?? ANY[rule.family],
          target: to !== undefined ? `SNAT to:${to}` : (option(rule.spec, "-j") ?? ""),
          packets: rule.packets,
          bytes: rule.bytes,
        };
      });
    });
  }

  filterRules(server: string): Promise<FilterRuleState[]> {
    return this.#serial(async () => {
      const rules = await this.#serverRules("filter", this.#chains.fwd, server, "internal");
      return rules.map((rule) => ({
        source: option(rule.spec, "-s") ?? ANY[rule.family],
        destination: option(rule.spec, "-d") ?? ANY[rule.family],
        action: option(rule.spec, "-j") === "DROP" ? "DROP" : "ACCEPT",
        packets: rule.packets,
        bytes: rule.bytes,
      }));
    });
  }

  clear(): Promise<void> {
    return this.#serial(async () => {
      for (const family of FAMILIES) {
        const present = await this.#presentJumps(family);
        const lines: string[] = [];
        for (const table of ["mangle", "nat", "filter"] as const) {
          const jumps = jumpsOf(this.#chains).filter((jump) => jump.table === table);
          // Declared (so flushed) first, then deleted: the jumps into <P>_CLASS go with <P>_DOWN's rules.
          const chains = [...new Set(jumps.map((jump) => jump.to)), ...(table === "mangle" ? [this.#chains.cls] : [])];
          lines.push(`*${table}`, ...chains.map((chain) => `:${chain} - [0:0]`));
          for (const jump of jumps) if (present.has(`${jump.from}>${jump.to}`)) lines.push(`-D ${jump.from} -j ${jump.to}`);
          lines.push(...chains.map((chain) => `-X ${chain}`), "COMMIT");
        }
        await this.#restore(family, `${lines.join("\n")}\n`);
      }
      this.#mirror = null;
    });
  }

  async dispose(): Promise<void> {
    await this.#queue;
  }
}

export default function createIptablesFirewall(options: IptablesOptions): IptablesFirewall {
  return new IptablesFirewall(options);
}
