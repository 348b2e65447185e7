import type { AccountRecord, ServerRecord } from "../model/records.js";
import { formatNetwork, parseAddress, parseCidr } from "../net/ip.js";
import type {
  FirewallAccountSpec,
  FirewallServerSpec,
  Ikev2ConnectionSpec,
  Ikev2UserSpec,
  ShaperAccountSpec,
  ShaperInterfaceSpec,
  WgInterfaceSpec,
  WgPeerSpec,
} from "../ports/index.js";

/**
 * Pure functions from stored records to what each port should hold. The
 * reconciler compares their results before and after a change, so a change
 * touches exactly the state it alters.
 */

export function isActive(account: AccountRecord | null | undefined, server: ServerRecord | null | undefined): boolean {
  return !!account && !!server && account.status === "enable" && account.wgName === server.name;
}

export function interfaceSpec(server: ServerRecord): WgInterfaceSpec {
  const addresses = [server.address];
  if (server.ipv6 && server.addressIpv6) addresses.push(server.addressIpv6);
  return {
    name: server.interfaceName,
    privateKey: server.privateKey,
    listenPort: server.listenPort,
    addresses,
    mtu: server.mtu > 0 ? server.mtu : undefined,
  };
}

function hostCidr(address: string): string {
  const parsed = parseAddress(address);
  return parsed?.family === 6 ? `${address}/128` : `${address}/32`;
}

export function peerSpec(account: AccountRecord): WgPeerSpec {
  const allowedIps = [hostCidr(account.allowedIp)];
  if (account.allowedIpv6) allowedIps.push(hostCidr(account.allowedIpv6));
  return { publicKey: account.publicKey, allowedIps };
}

export function serverNetworks(server: ServerRecord): { subnet4: string; subnet6: string | undefined } {
  const cidr4 = parseCidr(server.address);
  const cidr6 = server.ipv6 && server.addressIpv6 ? parseCidr(server.addressIpv6) : null;
  return { subnet4: cidr4 ? formatNetwork(cidr4) : server.address, subnet6: cidr6 ? formatNetwork(cidr6) : undefined };
}

export function firewallServerSpec(server: ServerRecord): FirewallServerSpec {
  const { subnet4, subnet6 } = serverNetworks(server);
  return {
    name: server.name,
    interface: server.interfaceName,
    subnet4,
    subnet6,
    externalIp: parseAddress(server.externalIp)?.family === 4 ? server.externalIp : "",
    internalTraffic: server.internalTraffic,
  };
}

export function firewallAccountSpec(account: AccountRecord, server: ServerRecord): FirewallAccountSpec {
  return {
    mark: account.mangle,
    interface: server.interfaceName,
    ipv4: account.allowedIp,
    ipv6: server.ipv6 && account.allowedIpv6 ? account.allowedIpv6 : undefined,
  };
}

/** The account's rate in Mbit/s: its own, else the server's default; 0 = unlimited. */
export function effectiveBandwidth(account: AccountRecord, server: ServerRecord | undefined): { download: number; upload: number } {
  return {
    download: account.bDownload > 0 ? account.bDownload : (server?.bDownload ?? 0),
    upload: account.bUpload > 0 ? account.bUpload : (server?.bUpload ?? 0),
  };
}

export function shaperAccountSpec(account: AccountRecord, server: ServerRecord): ShaperAccountSpec {
  const { download, upload } = effectiveBandwidth(account, server);
  return {
    mark: account.mangle,
    ipv4: account.allowedIp,
    ipv6: server.ipv6 && account.allowedIpv6 ? account.allowedIpv6 : undefined,
    downloadMbit: download,
    uploadMbit: upload,
  };
}

export function shaperInterfaceSpec(server: ServerRecord, accounts: readonly AccountRecord[]): ShaperInterfaceSpec {
  const { subnet4, subnet6 } = serverNetworks(server);
  return {
    interface: server.interfaceName,
    subnets: subnet6 ? [subnet4, subnet6] : [subnet4],
    accounts: accounts.filter((a) => isActive(a, server)).map((a) => shaperAccountSpec(a, server)),
  };
}

/**
 * The shaping of the IKEv2 tunnel device (strongSwan's libipsec TUN): the active accounts of
 * the servers with IKEv2 on, at the same rates and classes as on their WireGuard interfaces.
 */
export function tunnelShaperSpec(
  tunnel: string,
  servers: readonly { readonly server: ServerRecord; readonly accounts: readonly AccountRecord[] }[],
): ShaperInterfaceSpec {
  const specs = servers.filter(({ server }) => server.ikev2).map(({ server, accounts }) => shaperInterfaceSpec(server, accounts));
  return { interface: tunnel, subnets: specs.flatMap((spec) => spec.subnets), accounts: specs.flatMap((spec) => spec.accounts) };
}

export interface Ikev2Certificates {
  readonly caCertificatePem: string;
  readonly serverCertificatePem: string;
  readonly serverPrivateKeyPem: string;
  readonly serverId: string;
}

export function ikev2ConnectionSpec(server: ServerRecord, certificates: Ikev2Certificates): Ikev2ConnectionSpec {
  const { subnet4, subnet6 } = serverNetworks(server);
  const localTs = server.allowedIps
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean);
  if (server.ipv6 && !localTs.some((ts) => ts.includes(":"))) localTs.push("::/0");
  const dns = [server.dns1, server.dns2];
  if (server.ipv6) dns.push(server.dns1Ipv6, server.dns2Ipv6);
  return {
    name: server.name,
    localAddrs: [],
    serverId: certificates.serverId,
    serverCertificatePem: certificates.serverCertificatePem,
    serverPrivateKeyPem: certificates.serverPrivateKeyPem,
    caCertificatePem: certificates.caCertificatePem,
    subnet4,
    subnet6,
    localTs,
    dns: dns.filter(Boolean),
  };
}

export function ikev2UserSpec(account: AccountRecord, server: ServerRecord): Ikev2UserSpec {
  return {
    connection: server.name,
    username: account.username,
    password: account.password,
    ipv4: account.allowedIp,
    ipv6: server.ipv6 && account.allowedIpv6 ? account.allowedIpv6 : undefined,
  };
}

/** Field-wise equality of plain port specs (arrays and primitives only). */
export function sameSpec(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}
