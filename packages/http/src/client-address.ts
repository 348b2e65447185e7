import { type Cidr, cidrContains, normalizeClientIp, parseAddress, parseCidr } from "@vpncp/core";

/**
 * `--trust-proxy`: which direct peers may tell vpncp the client's address in X-Forwarded-For.
 * true, "1" or "true": loopback only (a proxy on the same host); false, "0", "false" or
 * nothing: none; otherwise a comma-separated list of addresses and CIDRs.
 */
export type TrustProxySetting = boolean | string | readonly string[] | undefined;

const LOOPBACK = ["127.0.0.0/8", "::1/128"];

/** The trusted proxies of a setting; throws on an entry that is neither an address nor a CIDR. */
export function parseTrustedProxies(setting: TrustProxySetting): Cidr[] {
  if (setting === undefined || setting === false) return [];
  let entries: readonly string[];
  if (setting === true) entries = LOOPBACK;
  else if (typeof setting === "string") {
    const text = setting.trim().toLowerCase();
    if (text === "" || text === "0" || text === "false") return [];
    entries = text === "1" || text === "true" ? LOOPBACK : text.split(",");
  } else entries = setting;
  return entries.map((entry) => {
    const cidr = parseCidr(entry.trim(), { defaultHost: true });
    if (!cidr) throw new Error(`--trust-proxy: not an address or CIDR: ${JSON.stringify(entry.trim())}`);
    return cidr;
  });
}

/** An X-Forwarded-For hop without port or brackets ("[2001:db8::1]:443" → "2001:db8::1"). */
function hopAddress(hop: string): string {
  const text = hop.trim();
  const bracketed = /^\[([^\]]+)\](?::\d+)?$/.exec(text);
  if (bracketed?.[1]) return bracketed[1];
  const withPort = /^(\d{1,3}(?:\.\d{1,3}){3}):\d+$/.exec(text);
  return withPort?.[1] ?? text;
}

function isTrusted(address: string, trusted: readonly Cidr[]): boolean {
  const parsed = parseAddress(normalizeClientIp(address));
  return parsed !== null && trusted.some((cidr) => cidrContains(cidr, parsed));
}

/**
 * The client's address: the direct peer's, unless the peer is a trusted proxy; then the
 * right-most X-Forwarded-For hop that is not a trusted proxy (hops further left were written by
 * whoever sent the request, and can be anything). All hops trusted: the left-most.
 */
export function resolveClientAddress(peer: string, forwardedFor: string | null, trusted: readonly Cidr[]): string {
  if (trusted.length === 0 || !forwardedFor || !isTrusted(peer, trusted)) return peer;
  const hops = forwardedFor
    .split(",")
    .map(hopAddress)
    .filter((hop) => hop !== "");
  for (let index = hops.length - 1; index >= 0; index -= 1) {
    const hop = hops[index] ?? "";
    if (!isTrusted(hop, trusted)) return hop;
  }
  return hops[0] ?? peer;
}
