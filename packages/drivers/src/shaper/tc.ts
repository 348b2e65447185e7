/**
 * Per-account shaping with tc/HTB. Each WireGuard interface NAME gets an HTB root
 * (download = egress of NAME) and an IFB twin fed by an `ingress` qdisc on NAME with a
 * u32 catch-all `mirred` redirect (upload = egress of the IFB). No qdisc ever holds
 * more than one server's accounts, because adding an HTB class walks every class of
 * its qdisc. Account classes are 1:<mark in hex> on both devices.
 *
 * Downloads are classified by the firewall (skb priority = 1:<mark hex>). Uploads are
 * classified on the IFB by u32 on the source address: one 256-bucket hash table per
 * subnet, keyed by the address's last byte, so a packet is compared with the few
 * accounts of its bucket instead of all of them (cls_fw, flower and matchall do not
 * exist everywhere). Filter handles are chosen here and kept in a mirror, so deletes
 * are exact and every change is one `tc -batch`.
 *
 * Processes per call:
 * - applyInterfaces reads the kernel state (it is the reconciliation step: `tc qdisc show`,
 *   `ip -o link show`, then per interface up to four `tc … show`, all in parallel) and
 *   writes only the difference: at most one `ip -batch` (IFB devices missing or down) and
 *   one `tc -batch` for all interfaces; nothing when nothing differs.
 * - updateAccounts works from the mirror: one `tc -batch` (none when nothing changes), with
 *   `class change` for rate changes so queued traffic and tokens survive. Only an address
 *   outside every known subnet changes the hash-table layout; then the upload filters of
 *   that interface are rebuilt inside the same batch.
 * - removeInterface: two reads, at most one `tc -batch` and one `ip -batch`.
 */
import { createHash } from "node:crypto";
import {
  CommandError,
  type CommandRunner,
  type ShaperAccountChange,
  type ShaperAccountSpec,
  type ShaperClassState,
  type ShaperInterfaceSpec,
  type ShaperPort,
  type ShaperRateState,
} from "@vpncp/core";

export const DRIVER_NAME = "tc";

/** What an account with 0 Mbit/s ("unlimited") gets, and the root class's rate. */
export const UNLIMITED_MBIT = 10_000;
/** Class minors below and above the account range: 1:1 is the parent, 1:fffe the default. */
export const ROOT_CLASS_MINOR = 0x1;
export const DEFAULT_CLASS_MINOR = 0xfffe;
/** Marks that can be class minors (1 and 0xfffe are taken, 0xffff is HTB's limit). */
export const MIN_MARK = 0x2;
export const MAX_MARK = 0xfffd;

export interface TcShaperLogger {
  info(message: string): void;
  warn(message: string): void;
}

export interface TcShaperOptions {
  /** Runs `tc` and `ip`; its netns is where the interfaces live. */
  readonly runner: CommandRunner;
  readonly logger?: TcShaperLogger | undefined;
}

// Names end up in a tc batch line: nothing that could be read as whitespace, an option or a path.
const INTERFACE_NAME = /^[A-Za-z0-9_=+.][A-Za-z0-9_=+.-]{0,14}$/;
const IPV4_PRIO = 10;
const IPV6_PRIO = 11;
const BUCKETS = 256;
/** Hash table ids (12 bits; 0x800 and up are u32's own roots): IPv4 subnets from 1, IPv6 from 0x400. */
const FIRST_TABLE: Record<Family, number> = { 4: 0x1, 6: 0x400 };
const LAST_TABLE: Record<Family, number> = { 4: 0x3ff, 6: 0x7ff };
const MAX_NODE = 0xfff;
/** Time a batch may take: this, plus this per line. */
const BATCH_TIMEOUT_MS = 120_000;
const BATCH_TIMEOUT_PER_LINE_MS = 10;

function fail(message: string, cause?: unknown): Error {
  return new Error(`[vpncp] [${DRIVER_NAME}] ${message}`, cause === undefined ? undefined : { cause });
}

export function assertShaperInterfaceName(name: string): void {
  if (!INTERFACE_NAME.test(name)) throw fail(`invalid interface name: ${JSON.stringify(name)}`);
}

export function assertMark(mark: number): void {
  if (!Number.isInteger(mark) || mark < MIN_MARK || mark > MAX_MARK) {
    throw fail(`mark ${mark} cannot be an HTB class minor (${MIN_MARK}..0x${MAX_MARK.toString(16)})`);
  }
}

function assertMbit(value: number, what: string): void {
  if (!Number.isInteger(value) || value < 0 || value > UNLIMITED_MBIT) throw fail(`${what} ${value} is not 0..${UNLIMITED_MBIT} Mbit/s`);
}

/**
 * The IFB of an interface: `ifb-NAME` when that fits in 15 characters, else `ifb` and 12
 * hex digits of NAME's SHA-1 (never a dash at index 3, so the two forms cannot collide).
 */
export function ifbNameOf(name: string): string {
  assertShaperInterfaceName(name);
  if (name.length <= 11) return `ifb-${name}`;
  return `ifb${createHash("sha1").update(name).digest("hex").slice(0, 12)}`;
}

/** "1:6d" for mark 109: tc reads class minors as hex. */
export function classIdOf(mark: number): string {
  return `1:${mark.toString(16)}`;
}

/** Mbit/s of an account as HTB gets it (0 = unlimited), in bit/s. */
export function bitsOf(mbit: number): number {
  return (mbit === 0 ? UNLIMITED_MBIT : mbit) * 1_000_000;
}

/** A rate as tc prints it (iproute2 sprint_rate): "20Mbit", "1500Mbit", "10Gbit". */
export function formatTcRate(bits: number): string {
  const units = ["bit", "Kbit", "Mbit", "Gbit", "Tbit"];
  let rate = bits;
  let unit = 0;
  for (; unit < units.length - 1; unit++) {
    if (rate < 1000) break;
    if (rate % 1000 !== 0 && rate < 1000 * 1000) break;
    rate /= 1000;
  }
  return `${Math.round(rate)}${units[unit]}`;
}

/** A rate for a tc command line, exact and readable: "20mbit", "10gbit". */
function rateArg(bits: number): string {
  for (const [factor, unit] of [
    [1e9, "gbit"],
    [1e6, "mbit"],
    [1e3, "kbit"],
  ] as const) {
    if (bits % factor === 0) return `${bits / factor}${unit}`;
  }
  return `${bits}bit`;
}

/** HTB's own quantum (rate / r2q 10), clamped to the range where it does not warn. */
function quantumOf(bits: number): number {
  return Math.min(200_000, Math.max(1514, Math.floor(bits / 8 / 10)));
}

function parseTcRate(text: string): number | undefined {
  const m = /^(\d+(?:\.\d+)?)(bit|Kbit|Mbit|Gbit|Tbit)$/.exec(text);
  if (!m) return undefined;
  const factor = { bit: 1, Kbit: 1e3, Mbit: 1e6, Gbit: 1e9, Tbit: 1e12 }[m[2] as "bit"];
  return Math.round(Number(m[1]) * factor);
}

// ---------------------------------------------------------------- addresses

type Family = 4 | 6;

interface Address {
  readonly family: Family;
  readonly value: bigint;
}

interface Subnet {
  readonly family: Family;
  readonly network: bigint;
  readonly prefix: number;
}

const BITS: Record<Family, number> = { 4: 32, 6: 128 };

const IPV4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/;

function parseIPv4(text: string): bigint | undefined {
  const m = IPV4.exec(text);
  if (!m) return undefined;
  let value = 0;
  for (let i = 1; i <= 4; i++) {
    const byte = Number(m[i]);
    if (byte > 255) return undefined;
    value = value * 256 + byte;
  }
  // one BigInt per address (a reload parses every account's)
  return BigInt(value);
}

function parseIPv6(text: string): bigint | undefined {
  const halves = text.split("::");
  if (halves.length > 2) return undefined;
  const groups = (half: string): number[] | undefined => {
    if (half === "") return [];
    const out: number[] = [];
    const parts = half.split(":");
    for (const [i, part] of parts.entries()) {
      if (i === parts.length - 1 && part.includes(".")) {
        const v4 = parseIPv4(part);
        if (v4 === undefined) return undefined;
        out.push(Number(v4 >> 16n), Number(v4 & 0xffffn));
      } else if (/^[0-9a-fA-F]{1,4}$/.test(part)) out.push(Number.parseInt(part, 16));
      else return undefined;
    }
    return out;
  };
  const head = groups(halves[0] ?? "");
  const tail = halves.length === 2 ? groups(halves[1] ?? "") : [];
  if (!head || !tail) return undefined;
  const missing = 8 - head.length - tail.length;
  if (halves.length === 2 ? missing < 1 : missing !== 0) return undefined;
  let value = 0n;
  for (const group of [...head, ...new Array<number>(missing).fill(0), ...tail]) value = (value << 16n) | BigInt(group);
  return value;
}

function parseAddress(text: string): Address {
  const bare = text.replace(/\/(32|128)$/, "");
  const v4 = parseIPv4(bare);
  if (v4 !== undefined) return { family: 4, value: v4 };
  const v6 = parseIPv6(bare);
  if (v6 !== undefined) return { family: 6, value: v6 };
  throw fail(`invalid address: ${JSON.stringify(text)}`);
}

function parseSubnet(text: string): Subnet {
  const m = /^([^/]+)\/(\d{1,3})$/.exec(text);
  const address = m ? tryParseAddress(m[1] ?? "") : undefined;
  const prefix = Number(m?.[2]);
  if (!address || prefix > BITS[address.family]) throw fail(`invalid subnet: ${JSON.stringify(text)}`);
  return { family: address.family, network: address.value & maskOf(address.family, prefix), prefix };
}

function tryParseAddress(text: string): Address | undefined {
  try {
    return parseAddress(text);
  } catch {
    return undefined;
  }
}

function computeMask(family: Family, prefix: number): bigint {
  const bits = BigInt(BITS[family]);
  return ((1n << bits) - 1n) ^ ((1n << (bits - BigInt(prefix))) - 1n);
}

/** Every prefix's mask, computed once: `contains` runs for every account of a reload. */
const MASKS: Readonly<Record<Family, readonly bigint[]>> = {
  4: Array.from({ length: 33 }, (_, prefix) => computeMask(4, prefix)),
  6: Array.from({ length: 129 }, (_, prefix) => computeMask(6, prefix)),
};

function maskOf(family: Family, prefix: number): bigint {
  return MASKS[family][prefix] ?? computeMask(family, prefix);
}

function contains(subnet: Subnet, address: Address): boolean {
  return subnet.family === address.family && (address.value & maskOf(subnet.family, subnet.prefix)) === subnet.network;
}

function formatAddress(family: Family, value: bigint): string {
  if (family === 4) return [24n, 16n, 8n, 0n].map((shift) => String((value >> shift) & 0xffn)).join(".");
  const groups = [112n, 96n, 80n, 64n, 48n, 32n, 16n, 0n].map((shift) => Number((value >> shift) & 0xffffn));
  // RFC 5952: the longest run (≥ 2) of zero groups becomes "::".
  let best = { at: -1, length: 1 };
  for (let i = 0; i < 8; ) {
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > best.length) best = { at: i, length: j - i };
    i = j === i ? i + 1 : j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (best.at < 0) return hex.join(":");
  return `${hex.slice(0, best.at).join(":")}::${hex.slice(best.at + best.length).join(":")}`;
}

/** "fd00:105::12" for "fd00:0105:0:0::0012": one spelling per address. */
export function canonicalAddress(text: string): string {
  const address = parseAddress(text);
  return formatAddress(address.family, address.value);
}

function subnetText(subnet: Subnet): string {
  return `${formatAddress(subnet.family, subnet.network)}/${subnet.prefix}`;
}

function addressKey(address: Address): string {
  return `${address.family}/${address.value.toString(16)}`;
}

/** The hash bucket of an address: its last byte (what `hashkey mask 0x000000ff` picks). */
function bucketOf(address: Address): number {
  return Number(address.value & 0xffn);
}

// ---------------------------------------------------------------- state

/** rate = ceil on every class vpncp makes; both kept to notice a class changed by hand. */
interface ClassRate {
  readonly rate: number;
  readonly ceil: number;
}

/** "ours": htb 1: with default fffe; "default": a handle-0 qdisc (noqueue, pfifo_fast, noop…). */
type RootState = "ours" | "default" | "foreign";

interface HashTable {
  readonly id: number;
  readonly subnet: Subnet;
}

/** One u32 filter on the IFB: handle table:bucket:node, source address → class 1:<minor>. */
interface UploadNode {
  readonly table: number;
  readonly bucket: number;
  readonly node: number;
  readonly address: Address;
  readonly minor: number;
}

/** What is on the system for one interface (read back from tc, then mirrored). */
interface InterfaceState {
  readonly name: string;
  readonly ifb: string;
  readonly downloadRoot: RootState;
  readonly ifbLink: "missing" | "down" | "up";
  readonly uploadRoot: RootState;
  /** An ingress qdisc on NAME / its u32 filter redirecting everything to the IFB. */
  readonly ingress: boolean;
  readonly redirect: boolean;
  readonly download: ReadonlyMap<number, ClassRate>;
  readonly upload: ReadonlyMap<number, ClassRate>;
  /** Per family, in evaluation order (the link filters' order). */
  readonly tables: readonly HashTable[];
  readonly nodes: readonly UploadNode[];
  /** Our u32 priorities that exist on the IFB (10 = IPv4, 11 = IPv6). */
  readonly filterFamilies: ReadonlySet<Family>;
  /** Hash tables or filters that do not fit the layout: the filters are rebuilt. */
  readonly layoutBroken: boolean;
}

interface AccountRates {
  readonly download: number;
  readonly upload: number;
}

interface Route {
  readonly address: Address;
  readonly minor: number;
}

interface Wanted {
  readonly accounts: ReadonlyMap<number, AccountRates>;
  readonly tables: readonly HashTable[];
  readonly routes: ReadonlyMap<string, Route>;
}

// ---------------------------------------------------------------- parsers of tc/ip output

interface DeviceQdiscs {
  readonly root: RootState;
  readonly ingress: boolean;
}

/** `tc qdisc show` (all devices): "qdisc htb 1: dev wg0 root refcnt 2 r2q 10 default 0xfffe …". */
export function parseQdiscList(text: string): Map<string, DeviceQdiscs> {
  const devices = new Map<string, { root: RootState; ingress: boolean }>();
  for (const line of text.split("\n")) {
    const m = /^qdisc (\S+) ([0-9a-f]+): dev (\S+) (root|parent \S+)(.*)$/.exec(line);
    if (!m) continue;
    const [, kind, handle, device = "", where, rest = ""] = m;
    const entry = devices.get(device) ?? { root: "default" as RootState, ingress: false };
    if (where === "root") {
      if (kind === "htb" && handle === "1" && /\bdefault 0xfffe\b/.test(rest)) entry.root = "ours";
      else entry.root = handle === "0" ? "default" : "foreign";
    } else if (kind === "ingress") entry.ingress = true;
    devices.set(device, entry);
  }
  return devices;
}

/** `ip -o link show`: "4: ifb-wg0: <BROADCAST,NOARP,UP,LOWER_UP> mtu 1500 …" → name → administratively up. */
export function parseLinkList(text: string): Map<string, boolean> {
  const links = new Map<string, boolean>();
  for (const line of text.split("\n")) {
    const m = /^\d+: ([^:@\s]+)(?:@\S+)?: <([^>]*)>/.exec(line);
    if (m?.[1]) links.set(m[1], (m[2] ?? "").split(",").includes("UP"));
  }
  return links;
}

/** `tc class show dev X`: minor → rate/ceil of every HTB class of qdisc 1:. */
export function parseClassList(text: string): Map<number, ClassRate> {
  const classes = new Map<number, ClassRate>();
  for (const line of text.split("\n")) {
    const m = /^class htb 1:([0-9a-f]+) .*?\brate (\S+) ceil (\S+)/.exec(line);
    if (!m) continue;
    const rate = parseTcRate(m[2] ?? "");
    const ceil = parseTcRate(m[3] ?? "");
    if (rate !== undefined && ceil !== undefined) classes.set(Number.parseInt(m[1] ?? "", 16), { rate, ceil });
  }
  return classes;
}

interface ParsedFilter {
  readonly family: Family;
  readonly handle: string;
  readonly rest: string;
  readonly matches: { value: number; mask: number; at: number }[];
}

/** Address and mask a filter's `match …/… at N` lines compare the source with (IPv4 at 12, IPv6 at 8..20). */
function sourceMatch(filter: ParsedFilter): { value: bigint; prefix: number } | undefined {
  const first = filter.family === 4 ? 12 : 8;
  const words = filter.family === 4 ? 1 : 4;
  let value = 0n;
  let mask = 0n;
  for (let i = 0; i < words; i++) {
    const at = first + 4 * i;
    const m = filter.matches.find((x) => x.at === at);
    value = (value << 32n) | BigInt(m?.value ?? 0);
    mask = (mask << 32n) | BigInt(m?.mask ?? 0);
  }
  if (filter.matches.some((m) => m.at < first || m.at >= first + 4 * words)) return undefined;
  const bits = BITS[filter.family];
  let prefix = 0;
  while (prefix < bits && ((mask >> BigInt(bits - 1 - prefix)) & 1n) === 1n) prefix++;
  if (mask !== maskOf(filter.family, prefix) || (value & ~mask) !== 0n) return undefined;
  return { value, prefix };
}

/** `tc filter show dev IFB parent 1:`: our hash tables (from their link filters) and account filters. */
export function parseUploadFilters(text: string): {
  tables: HashTable[];
  nodes: UploadNode[];
  families: Set<Family>;
  broken: boolean;
} {
  const filters: ParsedFilter[] = [];
  const families = new Set<Family>();
  const tableIds = new Set<number>();
  let current: ParsedFilter | undefined;
  for (const line of text.split("\n")) {
    const head = /^filter (?:parent 1: )?protocol (\S+) pref (\d+) u32 chain 0(?: fh (\S+)(.*))?/.exec(line);
    if (head) {
      current = undefined;
      const family: Family | undefined =
        head[1] === "ip" && Number(head[2]) === IPV4_PRIO ? 4 : head[1] === "ipv6" && Number(head[2]) === IPV6_PRIO ? 6 : undefined;
      if (!family) continue;
      families.add(family);
      const handle = head[3];
      if (!handle) continue;
      const table = /^([0-9a-f]+):$/.exec(handle);
      if (table) {
        const id = Number.parseInt(table[1] ?? "", 16);
        if (id < 0x800) tableIds.add(id);
        continue;
      }
      current = { family, handle, rest: head[4] ?? "", matches: [] };
      filters.push(current);
      continue;
    }
    const match = /^\s+match ([0-9a-f]{8})\/([0-9a-f]{8}) at (\d+)/.exec(line);
    if (match && current)
      current.matches.push({ value: Number.parseInt(match[1] ?? "", 16), mask: Number.parseInt(match[2] ?? "", 16), at: Number(match[3]) });
  }
  const tables: HashTable[] = [];
  const nodes: UploadNode[] = [];
  let broken = false;
  for (const filter of filters) {
    const source = sourceMatch(filter);
    const link = /\blink ([0-9a-f]+):/.exec(filter.rest);
    const flowid = /\bflowid 1:([0-9a-f]+)/.exec(filter.rest);
    const handle = /^([0-9a-f]+):([0-9a-f]+):([0-9a-f]+)$/.exec(filter.handle);
    if (link && source) {
      tables.push({
        id: Number.parseInt(link[1] ?? "", 16),
        subnet: { family: filter.family, network: source.value, prefix: source.prefix },
      });
    } else if (flowid && source && handle && source.prefix === BITS[filter.family]) {
      nodes.push({
        table: Number.parseInt(handle[1] ?? "", 16),
        bucket: Number.parseInt(handle[2] ?? "", 16),
        node: Number.parseInt(handle[3] ?? "", 16),
        address: { family: filter.family, value: source.value },
        minor: Number.parseInt(flowid[1] ?? "", 16),
      });
    } else broken = true;
  }
  const linked = new Set(tables.map((t) => t.id));
  if (tables.length !== linked.size || [...tableIds].some((id) => !linked.has(id)) || nodes.some((n) => !linked.has(n.table)))
    broken = true;
  return { tables, nodes, families, broken };
}

// ---------------------------------------------------------------- what should be

function tableRange(tables: readonly HashTable[], family: Family): number {
  const used = tables.filter((t) => t.subnet.family === family).map((t) => t.id);
  const next = used.length === 0 ? FIRST_TABLE[family] : Math.max(...used) + 1;
  if (next > LAST_TABLE[family]) throw fail(`too many IPv${family} subnets for the upload classifier`);
  return next;
}

/**
 * Every route needs a table: an address outside the given subnets gets its /24 (IPv4) or
 * /64 (IPv6). Returns IPv4 tables first, the order `tc filter show` lists them in.
 */
function coverRoutes(tables: HashTable[], routes: Iterable<Route>): HashTable[] {
  for (const route of routes) {
    if (tables.some((t) => contains(t.subnet, route.address))) continue;
    const prefix = route.address.family === 4 ? 24 : 64;
    tables.push({
      id: tableRange(tables, route.address.family),
      subnet: { family: route.address.family, network: route.address.value & maskOf(route.address.family, prefix), prefix },
    });
  }
  return [...tables.filter((t) => t.subnet.family === 4), ...tables.filter((t) => t.subnet.family === 6)];
}

function accountRates(account: ShaperAccountSpec): AccountRates {
  assertMark(account.mark);
  assertMbit(account.downloadMbit, "download");
  assertMbit(account.uploadMbit, "upload");
  return { download: bitsOf(account.downloadMbit), upload: bitsOf(account.uploadMbit) };
}

function accountAddresses(account: ShaperAccountSpec): Address[] {
  const v4 = parseAddress(account.ipv4);
  if (v4.family !== 4) throw fail(`ipv4 of mark ${account.mark} is not an IPv4 address: ${JSON.stringify(account.ipv4)}`);
  if (!account.ipv6) return [v4];
  const v6 = parseAddress(account.ipv6);
  if (v6.family !== 6) throw fail(`ipv6 of mark ${account.mark} is not an IPv6 address: ${JSON.stringify(account.ipv6)}`);
  return [v4, v6];
}

/** Throws what applyInterfaces/updateAccounts would throw for this account (the fake checks the same). */
export function assertShaperAccount(account: ShaperAccountSpec): void {
  accountRates(account);
  accountAddresses(account);
}

/** Throws unless `text` is a subnet in CIDR notation ("10.0.105.0/24", "fd00:105::/64"). */
export function assertShaperSubnet(text: string): void {
  parseSubnet(text);
}

function wantedFromSpec(spec: ShaperInterfaceSpec): Wanted {
  const accounts = new Map<number, AccountRates>();
  const routes = new Map<string, Route>();
  for (const account of spec.accounts) {
    if (accounts.has(account.mark)) throw fail(`mark ${account.mark} appears twice on ${spec.interface}`);
    accounts.set(account.mark, accountRates(account));
    for (const address of accountAddresses(account)) {
      const key = addressKey(address);
      if (routes.has(key)) throw fail(`address ${formatAddress(address.family, address.value)} appears twice on ${spec.interface}`);
      routes.set(key, { address, minor: account.mark });
    }
  }
  const tables: HashTable[] = [];
  for (const text of spec.subnets) {
    const subnet = parseSubnet(text);
    if (tables.some((t) => t.subnet.family === subnet.family && t.subnet.network === subnet.network && t.subnet.prefix === subnet.prefix))
      continue;
    tables.push({ id: tableRange(tables, subnet.family), subnet });
  }
  return { accounts, tables: coverRoutes(tables, routes.values()), routes };
}

function wantedFromChange(state: InterfaceState, change: ShaperAccountChange): Wanted {
  const accounts = new Map<number, AccountRates>();
  for (const [minor, download] of state.download) {
    if (minor === ROOT_CLASS_MINOR || minor === DEFAULT_CLASS_MINOR) continue;
    accounts.set(minor, { download: download.ceil, upload: state.upload.get(minor)?.ceil ?? bitsOf(0) });
  }
  const routes = new Map<string, Route>(state.nodes.map((n) => [addressKey(n.address), { address: n.address, minor: n.minor }]));
  const dropRoutesOf = (mark: number, keep: ReadonlySet<string>) => {
    for (const [key, route] of routes) if (route.minor === mark && !keep.has(key)) routes.delete(key);
  };
  for (const account of change.remove) {
    assertMark(account.mark);
    accounts.delete(account.mark);
    dropRoutesOf(account.mark, new Set());
  }
  for (const account of change.upsert) {
    const rates = accountRates(account);
    const addresses = accountAddresses(account);
    accounts.set(account.mark, rates);
    dropRoutesOf(account.mark, new Set(addresses.map(addressKey)));
    for (const address of addresses) routes.set(addressKey(address), { address, minor: account.mark });
  }
  const tables = [...state.tables];
  return { accounts, tables: coverRoutes(tables, routes.values()), routes };
}

// ---------------------------------------------------------------- the batch

function familyArgs(family: Family): { protocol: string; prio: number; match: string; hashAt: number } {
  return family === 4
    ? { protocol: "ip", prio: IPV4_PRIO, match: "ip", hashAt: 12 }
    : { protocol: "ipv6", prio: IPV6_PRIO, match: "ip6", hashAt: 20 };
}

function sameTables(a: readonly HashTable[], b: readonly HashTable[]): boolean {
  return (
    a.length === b.length &&
    a.every((t, i) => {
      const u = b[i];
      return (
        u !== undefined &&
        t.id === u.id &&
        t.subnet.family === u.subnet.family &&
        t.subnet.network === u.subnet.network &&
        t.subnet.prefix === u.subnet.prefix
      );
    })
  );
}

function hex(n: number): string {
  return n.toString(16);
}

// The lines a reload writes for every account are joined from parts: a template literal makes a
// chain of concatenations (~700 bytes for a class line) until the batch is joined; this, ~130.

function classLine(verb: "add" | "change", dev: string, parent: string, minor: number, rate: number): string {
  const r = rateArg(rate);
  return [
    "class ",
    verb,
    " dev ",
    dev,
    " parent ",
    parent,
    " classid 1:",
    hex(minor),
    " htb rate ",
    r,
    " ceil ",
    r,
    " quantum ",
    String(quantumOf(rate)),
  ].join("");
}

function nodeLine(ifb: string, verb: "add" | "replace", n: UploadNode): string {
  const f = familyArgs(n.address.family);
  const slot = [hex(n.table), ":", hex(n.bucket)].join("");
  return [
    "filter ",
    verb,
    " dev ",
    ifb,
    " parent 1: protocol ",
    f.protocol,
    " prio ",
    String(f.prio),
    " handle ",
    slot,
    ":",
    hex(n.node),
    " u32 ht ",
    slot,
    ": match ",
    f.match,
    " src ",
    formatAddress(n.address.family, n.address.value),
    "/",
    String(BITS[n.address.family]),
    " flowid 1:",
    hex(n.minor),
  ].join("");
}

function nodeDeleteLine(ifb: string, n: UploadNode): string {
  const f = familyArgs(n.address.family);
  return [
    "filter del dev ",
    ifb,
    " parent 1: protocol ",
    f.protocol,
    " prio ",
    String(f.prio),
    " handle ",
    hex(n.table),
    ":",
    hex(n.bucket),
    ":",
    hex(n.node),
    " u32",
  ].join("");
}

interface Plan {
  readonly ip: string[];
  readonly tc: string[];
  readonly next: InterfaceState;
}

/** The `ip` and `tc` batch lines that turn `state` into `wanted`, and the state afterwards. */
function plan(state: InterfaceState, wanted: Wanted): Plan {
  const { name, ifb } = state;
  const ip: string[] = [];
  const tc: string[] = [];
  const later: string[] = [];
  if (state.ifbLink === "missing") ip.push(`link add ${ifb} type ifb`);
  if (state.ifbLink !== "up") ip.push(`link set dev ${ifb} up`);

  const fixed = new Map<number, { parent: string; rate: number }>([
    [ROOT_CLASS_MINOR, { parent: "1:", rate: bitsOf(0) }],
    [DEFAULT_CLASS_MINOR, { parent: "1:1", rate: bitsOf(0) }],
  ]);
  const devices = [
    { dev: name, root: state.downloadRoot, current: state.download, pick: (r: AccountRates) => r.download },
    {
      dev: ifb,
      root: state.ifbLink === "missing" ? ("default" as const) : state.uploadRoot,
      current: state.upload,
      pick: (r: AccountRates) => r.upload,
    },
  ];
  const nextClasses: Map<number, ClassRate>[] = [];
  for (const { dev, root, current, pick } of devices) {
    if (root === "foreign") tc.push(`qdisc del dev ${dev} root`);
    if (root !== "ours")
      tc.push(`qdisc ${root === "foreign" ? "add" : "replace"} dev ${dev} root handle 1: htb default ${hex(DEFAULT_CLASS_MINOR)}`);
    const existing = root === "ours" ? current : new Map<number, ClassRate>();
    const classes = new Map<number, { parent: string; rate: number }>(fixed);
    for (const [minor, rates] of wanted.accounts) classes.set(minor, { parent: "1:1", rate: pick(rates) });
    const next = new Map<number, ClassRate>();
    // forEach: no [key, value] pair allocated per account
    classes.forEach(({ parent, rate }, minor) => {
      const now = existing.get(minor);
      if (!now) tc.push(classLine("add", dev, parent, minor, rate));
      else if (now.rate !== rate || now.ceil !== rate) tc.push(classLine("change", dev, parent, minor, rate));
      next.set(minor, { rate, ceil: rate });
    });
    // After the filters: HTB refuses to delete a class a filter still points to.
    for (const minor of existing.keys()) if (!classes.has(minor)) later.push(`class del dev ${dev} classid 1:${hex(minor)}`);
    nextClasses.push(next);
  }

  // Upload classifier on the IFB.
  const uploadFresh = state.ifbLink === "missing" || state.uploadRoot !== "ours";
  const keepLayout = !uploadFresh && !state.layoutBroken && sameTables(state.tables, wanted.tables);
  const existingNodes = keepLayout ? state.nodes : [];
  if (!keepLayout) {
    // u32 hash tables outlive their priority while another u32 priority of the qdisc exists: drop both.
    if (!uploadFresh)
      for (const family of state.filterFamilies)
        tc.push(`filter del dev ${ifb} parent 1: protocol ${familyArgs(family).protocol} prio ${familyArgs(family).prio}`);
    for (const table of wanted.tables) {
      const f = familyArgs(table.subnet.family);
      tc.push(`filter add dev ${ifb} parent 1: protocol ${f.protocol} prio ${f.prio} handle ${hex(table.id)}: u32 divisor ${BUCKETS}`);
    }
    for (const table of wanted.tables) {
      const f = familyArgs(table.subnet.family);
      tc.push(
        `filter add dev ${ifb} parent 1: protocol ${f.protocol} prio ${f.prio} u32 match ${f.match} src ${subnetText(table.subnet)} hashkey mask 0x000000ff at ${f.hashAt} link ${hex(table.id)}:`,
      );
    }
  }
  const tableOf = (address: Address) => wanted.tables.find((t) => contains(t.subnet, address));
  const deletes: string[] = [];
  const replaces: string[] = [];
  const adds: string[] = [];
  const nodes: UploadNode[] = [];
  const used = new Map<string, Set<number>>();
  const seen = new Set<string>();
  for (const node of existingNodes) {
    const key = addressKey(node.address);
    const route = wanted.routes.get(key);
    if (!route || seen.has(key) || tableOf(node.address)?.id !== node.table || bucketOf(node.address) !== node.bucket) {
      deletes.push(nodeDeleteLine(ifb, node));
      continue;
    }
    seen.add(key);
    const kept = { ...node, minor: route.minor };
    if (node.minor !== route.minor) replaces.push(nodeLine(ifb, "replace", kept));
    nodes.push(kept);
    const slot = `${node.table}:${node.bucket}`;
    used.set(slot, (used.get(slot) ?? new Set()).add(node.node));
  }
  for (const [key, route] of wanted.routes) {
    if (seen.has(key)) continue;
    const table = tableOf(route.address);
    if (!table) throw fail(`no hash table for ${formatAddress(route.address.family, route.address.value)}`);
    const bucket = bucketOf(route.address);
    const slot = `${table.id}:${bucket}`;
    const taken = used.get(slot) ?? new Set<number>();
    let id = 1;
    while (taken.has(id)) id++;
    if (id > MAX_NODE) throw fail(`more than ${MAX_NODE} addresses of ${subnetText(table.subnet)} end in .${bucket}`);
    used.set(slot, taken.add(id));
    const node = { table: table.id, bucket, node: id, address: route.address, minor: route.minor };
    adds.push(nodeLine(ifb, "add", node));
    nodes.push(node);
  }
  tc.push(...deletes, ...replaces, ...adds, ...later);

  // Last, so upload traffic meets a ready IFB.
  if (!state.ingress) tc.push(`qdisc add dev ${name} handle ffff: ingress`);
  if (!state.ingress || !state.redirect) {
    tc.push(
      `filter replace dev ${name} parent ffff: protocol all prio 1 handle 800::1 u32 match u32 0 0 action mirred egress redirect dev ${ifb}`,
    );
  }

  const next: InterfaceState = {
    name,
    ifb,
    downloadRoot: "ours",
    ifbLink: "up",
    uploadRoot: "ours",
    ingress: true,
    redirect: true,
    download: nextClasses[0] ?? new Map(),
    upload: nextClasses[1] ?? new Map(),
    tables: wanted.tables,
    nodes,
    filterFamilies: new Set(wanted.tables.map((t) => t.subnet.family)),
    layoutBroken: false,
  };
  return { ip, tc, next };
}

// ---------------------------------------------------------------- account changes from the mirror

/**
 * What this driver last wrote to one interface, with the indexes an account change needs,
 * so that a change plans only the accounts in it: the 10,000th account costs what the 10th did.
 */
interface Mirror {
  /** The interface's state but its classes and filters (see stateOf). */
  readonly state: InterfaceState;
  readonly download: Map<number, ClassRate>;
  readonly upload: Map<number, ClassRate>;
  /** Upload filters by address key. */
  readonly nodes: Map<string, UploadNode>;
  /** Class minor → address keys of its filters. */
  readonly nodesOf: Map<number, Set<string>>;
  /** "table:bucket" → node ids in use. */
  readonly slots: Map<string, Set<number>>;
}

function slotOf(node: { table: number; bucket: number }): string {
  return `${node.table}:${node.bucket}`;
}

function indexNode(mirror: Mirror, key: string, node: UploadNode): void {
  mirror.nodes.set(key, node);
  const keys = mirror.nodesOf.get(node.minor) ?? new Set<string>();
  mirror.nodesOf.set(node.minor, keys.add(key));
  const slot = slotOf(node);
  mirror.slots.set(slot, (mirror.slots.get(slot) ?? new Set<number>()).add(node.node));
}

function unindexNode(mirror: Mirror, key: string, node: UploadNode): void {
  mirror.nodes.delete(key);
  mirror.nodesOf.get(node.minor)?.delete(key);
  mirror.slots.get(slotOf(node))?.delete(node.node);
}

/** The mirror of a state a full plan left (one node per address, the layout intact). */
function mirrorOf(state: InterfaceState): Mirror {
  const mirror: Mirror = {
    // the classes and filters live in the indexes below only (10,000 accounts are held once)
    state: { ...state, download: new Map(), upload: new Map(), nodes: [] },
    download: new Map(state.download),
    upload: new Map(state.upload),
    nodes: new Map(),
    nodesOf: new Map(),
    slots: new Map(),
  };
  for (const node of state.nodes) indexNode(mirror, addressKey(node.address), node);
  return mirror;
}

/** The state a full plan starts from (when an account change needs a new hash table). */
function stateOf(mirror: Mirror): InterfaceState {
  return { ...mirror.state, download: mirror.download, upload: mirror.upload, nodes: [...mirror.nodes.values()] };
}

/**
 * The `tc -batch` lines of an account change, planned from the mirror for the marks in the
 * change only, and the mirror updated to match (it is only kept when the batch succeeds).
 * Null when an address lies outside every hash table: that changes the layout (full plan).
 * Same lines and order as the full plan: class adds/changes, filter deletes, replaces and
 * adds, then class deletes (HTB refuses to delete a class a filter points to).
 */
function planAccountChange(mirror: Mirror, change: ShaperAccountChange): string[] | null {
  const { name, ifb, tables } = mirror.state;
  // first every check, so that a refused change leaves the mirror as it was
  const final = new Map<number, { rates: AccountRates; addresses: Address[] } | null>();
  for (const account of change.remove) {
    assertMark(account.mark);
    final.set(account.mark, null);
  }
  for (const account of change.upsert) final.set(account.mark, { rates: accountRates(account), addresses: accountAddresses(account) });
  const routes = new Map<string, Route & { table: HashTable }>();
  for (const [minor, wanted] of final) {
    for (const address of wanted?.addresses ?? []) {
      const table = tables.find((t) => contains(t.subnet, address));
      if (!table) return null;
      routes.set(addressKey(address), { address, minor, table });
    }
  }

  const tc: string[] = [];
  const later: string[] = [];
  const devices = [
    { dev: name, classes: mirror.download, pick: (r: AccountRates) => r.download },
    { dev: ifb, classes: mirror.upload, pick: (r: AccountRates) => r.upload },
  ];
  for (const { dev, classes, pick } of devices) {
    for (const [minor, wanted] of final) {
      const now = classes.get(minor);
      if (wanted === null) {
        if (now) later.push(`class del dev ${dev} classid 1:${hex(minor)}`);
        classes.delete(minor);
        continue;
      }
      const rate = pick(wanted.rates);
      if (!now) tc.push(classLine("add", dev, "1:1", minor, rate));
      else if (now.rate !== rate || now.ceil !== rate) tc.push(classLine("change", dev, "1:1", minor, rate));
      classes.set(minor, { rate, ceil: rate });
    }
  }

  const deletes: string[] = [];
  const replaces: string[] = [];
  const adds: string[] = [];
  // filters of the changed marks at addresses they no longer have
  for (const minor of final.keys()) {
    for (const key of [...(mirror.nodesOf.get(minor) ?? [])]) {
      const node = mirror.nodes.get(key);
      if (!node || routes.has(key)) continue;
      deletes.push(nodeDeleteLine(ifb, node));
      unindexNode(mirror, key, node);
    }
  }
  for (const [key, route] of routes) {
    const node = mirror.nodes.get(key);
    if (node) {
      // an address that moves to another account keeps its filter, pointed at the new class
      if (node.minor === route.minor) continue;
      const kept = { ...node, minor: route.minor };
      replaces.push(nodeLine(ifb, "replace", kept));
      unindexNode(mirror, key, node);
      indexNode(mirror, key, kept);
      continue;
    }
    const bucket = bucketOf(route.address);
    const taken = mirror.slots.get(slotOf({ table: route.table.id, bucket })) ?? new Set<number>();
    let id = 1;
    while (taken.has(id)) id++;
    if (id > MAX_NODE) throw fail(`more than ${MAX_NODE} addresses of ${subnetText(route.table.subnet)} end in .${bucket}`);
    const added = { table: route.table.id, bucket, node: id, address: route.address, minor: route.minor };
    adds.push(nodeLine(ifb, "add", added));
    indexNode(mirror, key, added);
  }
  tc.push(...deletes, ...replaces, ...adds, ...later);
  return tc;
}

// ---------------------------------------------------------------- the driver

/** Shapes WireGuard interfaces with tc/HTB (download) and IFB + hashed u32 (upload). */
export class TcShaper implements ShaperPort {
  readonly driverName = DRIVER_NAME;
  readonly #runner: CommandRunner;
  readonly #logger: TcShaperLogger | undefined;
  /** What this driver last wrote, per interface; dropped when a batch fails (then re-read). */
  readonly #mirror = new Map<string, Mirror>();
  #queue: Promise<unknown> = Promise.resolve();

  constructor(options: TcShaperOptions) {
    this.#runner = options.runner;
    this.#logger = options.logger;
  }

  /** One change at a time: the mirror must describe what the kernel holds. */
  #serial<T>(task: () => Promise<T>): Promise<T> {
    const run = this.#queue.then(task, task);
    this.#queue = run.catch(() => undefined);
    return run;
  }

  async info(): Promise<Record<string, string>> {
    const { stdout } = await this.#runner.run("tc", ["-V"]);
    return { tc: /iproute2-[\w.]+/.exec(stdout)?.[0] ?? stdout.trim() };
  }

  applyInterfaces(specs: readonly ShaperInterfaceSpec[]): Promise<void> {
    return this.#serial(async () => {
      const names = specs.map((s) => s.interface);
      for (const name of names) assertShaperInterfaceName(name);
      if (new Set(names).size !== names.length) throw fail("an interface appears twice");
      const wanted: (Wanted | undefined)[] = specs.map(wantedFromSpec);
      const states = await this.#read(names);
      // One interface at a time, its lines joined at once: 10,000 accounts' line strings (each a chain
      // of concatenations until joined) and plans then die young instead of being held all together.
      const ip: string[] = [];
      const tc: string[] = [];
      const mirrors: Mirror[] = [];
      let commands = 0;
      for (const [i, state] of states.entries()) {
        const p = plan(state, wanted[i] as Wanted);
        wanted[i] = undefined;
        ip.push(...p.ip);
        if (p.tc.length > 0) tc.push(p.tc.join("\n"));
        commands += p.tc.length;
        mirrors.push(mirrorOf(p.next));
      }
      for (const name of names) this.#mirror.delete(name);
      await this.#write(ip, tc);
      for (const mirror of mirrors) this.#mirror.set(mirror.state.name, mirror);
      this.#logger?.info(`[${DRIVER_NAME}] applied ${names.join(", ") || "no interfaces"} (${commands} tc commands)`);
    });
  }

  updateAccounts(name: string, change: ShaperAccountChange): Promise<void> {
    return this.#serial(async () => {
      assertShaperInterfaceName(name);
      const mirror = this.#mirror.get(name);
      if (mirror) {
        let lines: string[] | null;
        try {
          lines = planAccountChange(mirror, change);
        } catch (error) {
          // a refusal found while planning may have left the mirror half-changed: read the kernel next time
          this.#mirror.delete(name);
          throw error;
        }
        if (lines) {
          this.#mirror.delete(name);
          await this.#write([], lines);
          this.#mirror.set(name, mirror);
          return;
        }
      }
      let state = mirror ? stateOf(mirror) : undefined;
      if (!state) {
        [state] = await this.#read([name]);
        if (state?.downloadRoot !== "ours" || state.uploadRoot !== "ours" || state.ifbLink === "missing") {
          throw fail(`${name} is not shaped yet (applyInterfaces first)`);
        }
      }
      const p = plan(state, wantedFromChange(state, change));
      this.#mirror.delete(name);
      await this.#write(p.ip, p.tc);
      this.#mirror.set(name, mirrorOf(p.next));
    });
  }

  removeInterface(name: string): Promise<void> {
    return this.#serial(async () => {
      assertShaperInterfaceName(name);
      const ifb = ifbNameOf(name);
      const [qdiscs, links] = await Promise.all([this.#qdiscList(), this.#links()]);
      const device = qdiscs.get(name);
      const tc: string[] = [];
      if (device?.root === "ours") tc.push(`qdisc del dev ${name} root`);
      if (device?.ingress) tc.push(`qdisc del dev ${name} ingress`);
      this.#mirror.delete(name);
      await this.#write(links.has(ifb) ? [`link del dev ${ifb}`] : [], tc);
    });
  }

  async classes(name: string, mark: number): Promise<ShaperClassState[]> {
    assertShaperInterfaceName(name);
    assertMark(mark);
    return this.#show(name, ["-s", "class", "show", "dev"], ["classid", classIdOf(mark)]);
  }

  async accountClasses(name: string): Promise<ShaperRateState[]> {
    assertShaperInterfaceName(name);
    const devices = [
      { device: name, direction: "download" as const },
      { device: ifbNameOf(name), direction: "upload" as const },
    ];
    // a missing device (not shaped, or removed behind our back) shows no classes
    const results = await Promise.all(
      devices.map((d) => this.#runner.run("tc", ["class", "show", "dev", d.device], { allowFailure: true })),
    );
    const out: ShaperRateState[] = [];
    for (const [i, result] of results.entries()) {
      const direction = devices[i]!.direction;
      if (result.exitCode !== 0) continue;
      for (const [minor, { rate }] of parseClassList(result.stdout)) {
        if (minor === 1 || minor === DEFAULT_CLASS_MINOR) continue;
        out.push({ mark: minor, direction, mbit: rate >= bitsOf(0) ? 0 : rate / 1_000_000 });
      }
    }
    return out.sort((a, b) => (a.direction === b.direction ? a.mark - b.mark : a.direction === "download" ? -1 : 1));
  }

  async qdiscs(name: string): Promise<ShaperClassState[]> {
    assertShaperInterfaceName(name);
    return this.#show(name, ["-s", "qdisc", "show", "dev"], []);
  }

  async dispose(): Promise<void> {
    await this.#queue;
    this.#mirror.clear();
  }

  /** The same tc show on NAME and its IFB; a device that does not exist (or shows nothing) is left out. */
  async #show(name: string, head: readonly string[], tail: readonly string[]): Promise<ShaperClassState[]> {
    const targets = [
      { device: name, direction: "download" as const },
      { device: ifbNameOf(name), direction: "upload" as const },
    ];
    const results = await Promise.all(targets.map((t) => this.#runner.run("tc", [...head, t.device, ...tail], { allowFailure: true })));
    const out: ShaperClassState[] = [];
    for (const [i, result] of results.entries()) {
      const target = targets[i];
      const text = result.stdout.trimEnd();
      if (target && result.exitCode === 0 && text !== "") out.push({ ...target, text });
    }
    return out;
  }

  async #qdiscList(): Promise<Map<string, DeviceQdiscs>> {
    return parseQdiscList((await this.#runner.run("tc", ["qdisc", "show"])).stdout);
  }

  /** Every link (a device that is down has no qdisc to show, so `tc qdisc show` cannot tell). */
  async #links(): Promise<Map<string, boolean>> {
    return parseLinkList((await this.#runner.run("ip", ["-o", "link", "show"])).stdout);
  }

  /** The kernel's shaping state of these interfaces (reads only; in parallel). */
  async #read(names: readonly string[]): Promise<InterfaceState[]> {
    if (names.length === 0) return [];
    const [qdiscs, links] = await Promise.all([this.#qdiscList(), this.#links()]);
    const show = async (args: string[]) => (await this.#runner.run("tc", args)).stdout;
    return Promise.all(
      names.map(async (name): Promise<InterfaceState> => {
        if (!links.has(name)) throw fail(`interface ${name} does not exist`);
        const device = qdiscs.get(name) ?? { root: "default" as const, ingress: false };
        const ifb = ifbNameOf(name);
        const up = links.get(ifb);
        const uploadRoot = qdiscs.get(ifb)?.root ?? "default";
        const readUpload = up !== undefined && uploadRoot === "ours";
        const [ingress, download, upload, filters] = await Promise.all([
          device.ingress ? show(["filter", "show", "dev", name, "ingress"]) : "",
          device.root === "ours" ? show(["class", "show", "dev", name]) : "",
          readUpload ? show(["class", "show", "dev", ifb]) : "",
          readUpload ? show(["filter", "show", "dev", ifb, "parent", "1:"]) : "",
        ]);
        const parsed = parseUploadFilters(filters);
        return {
          name,
          ifb,
          downloadRoot: device.root,
          ifbLink: up === undefined ? "missing" : up ? "up" : "down",
          uploadRoot,
          ingress: device.ingress,
          redirect: ingress.includes(`mirred (Egress Redirect to device ${ifb})`),
          download: parseClassList(download),
          upload: parseClassList(upload),
          tables: parsed.tables,
          nodes: parsed.nodes,
          filterFamilies: parsed.families,
          layoutBroken: parsed.broken,
        };
      }),
    );
  }

  /** At most one `ip -batch` and one `tc -batch`, both on stdin. */
  async #write(ipLines: readonly string[], tcBlocks: readonly string[]): Promise<void> {
    if (ipLines.length > 0) await this.#batch("ip", ipLines);
    if (tcBlocks.length > 0) await this.#batch("tc", tcBlocks);
  }

  /** `blocks`: batch lines, or runs of them already joined by newlines. */
  async #batch(tool: "ip" | "tc", blocks: readonly string[]): Promise<void> {
    let count = 0;
    for (const block of blocks) {
      count += 1;
      for (let at = block.indexOf("\n"); at >= 0; at = block.indexOf("\n", at + 1)) count += 1;
    }
    // one flat string (a template literal around the join would be copied once more on its way out)
    const input = [...blocks, ""].join("\n");
    try {
      // a hung tool is cut off, a big batch is not: the kernel's HTB class adds grow with the classes
      // already there (~0.6 ms each at 50 interfaces of 1,000 accounts, ~90 s for their batch)
      const timeoutMs = BATCH_TIMEOUT_MS + count * BATCH_TIMEOUT_PER_LINE_MS;
      const { stderr } = await this.#runner.run(tool, ["-batch", "-"], { input, timeoutMs });
      if (stderr.trim() !== "") this.#logger?.warn(`[${DRIVER_NAME}] ${tool} -batch: ${stderr.trim()}`);
    } catch (error) {
      if (!(error instanceof CommandError)) throw error;
      const at = /Command failed -:(\d+)/.exec(error.stderr);
      const line = at ? input.split("\n")[Number(at[1]) - 1] : undefined;
      const reason = error.stderr
        .split("\n")
        .filter((l) => l.trim() !== "" && !l.startsWith("Command failed"))
        .slice(-2)
        .join(" | ");
      this.#logger?.warn(`[${DRIVER_NAME}] ${tool} -batch failed at ${line ?? "?"}: ${reason}`);
      throw fail(`${tool} -batch failed${line ? ` at "${line}"` : ""}: ${reason}`, error);
    }
  }
}

export default function createTcShaper(options: TcShaperOptions): TcShaper {
  return new TcShaper(options);
}
