import { isIPv4, isIPv6 } from "node:net";

/**
 * Small IP arithmetic for pools and validation. Addresses are handled as
 * bigints so IPv4 and IPv6 share one code path.
 */
export type IpFamily = 4 | 6;

export interface ParsedAddress {
  readonly family: IpFamily;
  readonly value: bigint;
}

export interface Cidr {
  readonly family: IpFamily;
  /** The address as written (may be a host address inside the network). */
  readonly address: bigint;
  readonly prefix: number;
  /** First address of the network. */
  readonly network: bigint;
  /** Number of addresses in the network. */
  readonly size: bigint;
}

const BITS: Record<IpFamily, number> = { 4: 32, 6: 128 };

export function parseAddress(text: string): ParsedAddress | null {
  if (typeof text !== "string") return null;
  if (isIPv4(text)) {
    const parts = text.split(".");
    // node accepts only dotted quads without leading zeros, which is what we want
    let value = 0n;
    for (const part of parts) value = (value << 8n) | BigInt(Number(part));
    return { family: 4, value };
  }
  if (isIPv6(text) && !text.includes("%")) {
    return { family: 6, value: parseIpv6(text) };
  }
  return null;
}

function parseIpv6(text: string): bigint {
  let head = text;
  let tailV4: bigint | null = null;
  const lastColon = text.lastIndexOf(":");
  const tail = text.slice(lastColon + 1);
  if (tail.includes(".")) {
    const v4 = parseAddress(tail);
    tailV4 = v4 ? v4.value : 0n;
    head = `${text.slice(0, lastColon + 1)}0:0`;
  }
  const [left = "", right] = head.split("::");
  const leftGroups = left === "" ? [] : left.split(":");
  const rightGroups = right === undefined || right === "" ? [] : right.split(":");
  const missing = 8 - leftGroups.length - rightGroups.length;
  const groups = right === undefined ? leftGroups : [...leftGroups, ...Array(missing).fill("0"), ...rightGroups];
  let value = 0n;
  for (const group of groups) value = (value << 16n) | BigInt(Number.parseInt(group, 16));
  if (tailV4 !== null) value = (value & ~0xffffffffn) | tailV4;
  return value;
}

export function formatAddress(family: IpFamily, value: bigint): string {
  if (family === 4) {
    return [24n, 16n, 8n, 0n].map((shift) => String((value >> shift) & 0xffn)).join(".");
  }
  const groups: number[] = [];
  for (let shift = 112n; shift >= 0n; shift -= 16n) groups.push(Number((value >> shift) & 0xffffn));
  // RFC 5952: compress the longest run (≥ 2) of zero groups, the first one on ties
  let bestStart = -1;
  let bestLength = 0;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i += 1;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j += 1;
    if (j - i > bestLength && j - i >= 2) {
      bestStart = i;
      bestLength = j - i;
    }
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (bestStart < 0) return hex.join(":");
  return `${hex.slice(0, bestStart).join(":")}::${hex.slice(bestStart + bestLength).join(":")}`;
}

/** Canonical text of an address ("010.0.0.1" is not accepted; IPv6 compressed), or null. */
export function normalizeAddress(text: string): string | null {
  const parsed = parseAddress(text);
  return parsed ? formatAddress(parsed.family, parsed.value) : null;
}

/** "10.0.26.1/24" → Cidr; a missing prefix means a single host when `defaultHost` is set. */
export function parseCidr(text: string, options: { defaultHost?: boolean } = {}): Cidr | null {
  if (typeof text !== "string") return null;
  const slash = text.indexOf("/");
  const addressText = slash < 0 ? text : text.slice(0, slash);
  const prefixText = slash < 0 ? null : text.slice(slash + 1);
  const parsed = parseAddress(addressText);
  if (!parsed) return null;
  const bits = BITS[parsed.family];
  let prefix: number;
  if (prefixText === null) {
    if (!options.defaultHost) return null;
    prefix = bits;
  } else {
    if (!/^\d{1,3}$/.test(prefixText)) return null;
    prefix = Number(prefixText);
    if (prefix > bits) return null;
  }
  const hostBits = BigInt(bits - prefix);
  const size = 1n << hostBits;
  const network = (parsed.value >> hostBits) << hostBits;
  return { family: parsed.family, address: parsed.value, prefix, network, size };
}

export function cidrContains(cidr: Cidr, address: ParsedAddress): boolean {
  return cidr.family === address.family && address.value >= cidr.network && address.value < cidr.network + cidr.size;
}

export function cidrsOverlap(a: Cidr, b: Cidr): boolean {
  return a.family === b.family && a.network < b.network + b.size && b.network < a.network + a.size;
}

export function formatNetwork(cidr: Cidr): string {
  return `${formatAddress(cidr.family, cidr.network)}/${cidr.prefix}`;
}

export function formatCidrAddress(cidr: Cidr): string {
  return `${formatAddress(cidr.family, cidr.address)}/${cidr.prefix}`;
}

export function isIpAddress(text: string, family?: IpFamily): boolean {
  const parsed = parseAddress(text);
  return parsed !== null && (family === undefined || parsed.family === family);
}
