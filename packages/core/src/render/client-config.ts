/**
 * The client's WireGuard configuration (wg-quick format), as the account's
 * `config_text` returns it and the QR code carries it. A pure function of the
 * stored server and account.
 */
import { isIP } from "node:net";
import type { AccountRecord, ServerRecord } from "../model/records.js";

/** What of a server the client configuration needs. */
export type ClientConfigServer = Pick<
  ServerRecord,
  | "address"
  | "addressIpv6"
  | "ipv6"
  | "publicKey"
  | "externalIp"
  | "endpoint"
  | "listenPort"
  | "dns1"
  | "dns2"
  | "dns1Ipv6"
  | "dns2Ipv6"
  | "mtu"
  | "keepAlive"
  | "allowedIps"
>;

/** What of an account the client configuration needs. */
export type ClientConfigAccount = Pick<AccountRecord, "privateKey" | "allowedIp" | "allowedIpv6">;

export const DEFAULT_CLIENT_ALLOWED_IPS = "0.0.0.0/0";

function prefixLength(cidr: string, fallback: number): number {
  const length = Number(cidr.split("/")[1]);
  return Number.isInteger(length) ? length : fallback;
}

/** The host part of a stored value that may already carry a prefix. */
function hostOf(address: string): string {
  return address.split("/")[0]!.trim();
}

function nonEmpty(values: readonly string[]): string[] {
  return values.map((value) => value.trim()).filter((value) => value !== "");
}

/** "host:port", IPv6 literals in brackets (wg parses the last ":" as the port separator). */
export function formatEndpoint(host: string, port: number): string {
  const bare = host.trim().replace(/^\[(.*)\]$/, "$1");
  return isIP(bare) === 6 ? `[${bare}]:${port}` : `${bare}:${port}`;
}

/**
 * Renders the client's config:
 * - Address: the account's IPv4 with the server subnet's prefix ("10.0.105.18/24", as the
 *   API page shows), plus its IPv6 with the server's IPv6 prefix when the server has IPv6 on;
 * - DNS: dns_1, dns_2, and the IPv6 ones when IPv6 is on; MTU when set;
 * - AllowedIPs: the server's list (default 0.0.0.0/0), plus ::/0 when IPv6 is on and the
 *   list names no IPv6 network, so the client's IPv6 traffic does not bypass the tunnel;
 * - Endpoint: endpoint or external_ip, with the listen port;
 * - PersistentKeepalive when keep_alive > 0.
 */
export function renderClientConfig(server: ClientConfigServer, account: ClientConfigAccount): string {
  const ipv6 = server.ipv6 && hostOf(account.allowedIpv6) !== "";
  const addresses = [`${hostOf(account.allowedIp)}/${prefixLength(server.address, 32)}`];
  if (ipv6) addresses.push(`${hostOf(account.allowedIpv6)}/${prefixLength(server.addressIpv6, 128)}`);
  const dns = nonEmpty(server.ipv6 ? [server.dns1, server.dns2, server.dns1Ipv6, server.dns2Ipv6] : [server.dns1, server.dns2]);

  const allowedIps = nonEmpty((server.allowedIps || DEFAULT_CLIENT_ALLOWED_IPS).split(","));
  if (allowedIps.length === 0) allowedIps.push(DEFAULT_CLIENT_ALLOWED_IPS);
  if (server.ipv6 && !allowedIps.some((cidr) => isIP(hostOf(cidr)) === 6)) allowedIps.push("::/0");

  const lines = ["[Interface]", `PrivateKey = ${account.privateKey}`, `Address = ${addresses.join(", ")}`];
  if (dns.length > 0) lines.push(`DNS = ${dns.join(", ")}`);
  if (server.mtu > 0) lines.push(`MTU = ${server.mtu}`);
  lines.push("", "[Peer]", `PublicKey = ${server.publicKey}`, `AllowedIPs = ${allowedIps.join(", ")}`);
  const host = (server.endpoint || server.externalIp).trim();
  // Without any address to dial the config still parses; the client can fill the endpoint in.
  if (host !== "") lines.push(`Endpoint = ${formatEndpoint(host, server.listenPort)}`);
  if (server.keepAlive > 0) lines.push(`PersistentKeepalive = ${server.keepAlive}`);
  return `${lines.join("\n")}\n`;
}
