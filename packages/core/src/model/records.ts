/** What vpncp stores. The API's string-typed objects are presented from these. */

export interface ServerRecord {
  readonly name: string;
  /** "wg28": also the name of the interface on the machine. */
  readonly interfaceName: string;
  readonly listenPort: number;
  /** Server address with prefix: "10.0.26.1/24". */
  readonly address: string;
  readonly ipv6: boolean;
  /** Server IPv6 address with prefix: "fd00:0:0:1a::1/64". */
  readonly addressIpv6: string;
  readonly privateKey: string;
  readonly publicKey: string;
  readonly externalIp: string;
  /** What clients dial, when not external_ip. */
  readonly endpoint: string;
  readonly dns1: string;
  readonly dns2: string;
  readonly dns1Ipv6: string;
  readonly dns2Ipv6: string;
  /** 0 = not set (the tools' default). */
  readonly mtu: number;
  /** Seconds of persistent keep-alive written to client configs; 0 = off. */
  readonly keepAlive: number;
  /** Comma-separated CIDRs clients route through the tunnel. */
  readonly allowedIps: string;
  readonly internalTraffic: boolean;
  readonly ikev2: boolean;
  /** Default Mbit/s for accounts that give none; 0 = unlimited. */
  readonly bDownload: number;
  readonly bUpload: number;
  readonly createdAt: string;
}

export type AccountStatus = "enable" | "disable";

export interface AccountRecord {
  readonly name: string;
  readonly username: string;
  readonly password: string;
  readonly privateKey: string;
  readonly publicKey: string;
  readonly status: AccountStatus;
  /** Name of the WireGuard server. */
  readonly wgName: string;
  /** IPv4 address (no prefix): "10.0.110.4". */
  readonly allowedIp: string;
  /** IPv6 address (no prefix), "" when none. */
  readonly allowedIpv6: string;
  /** Mbit/s; 0 = the server's default. */
  readonly bDownload: number;
  readonly bUpload: number;
  /** Firewall mark and tc class minor. */
  readonly mangle: number;
  /** Stable per account, for the .sswan profile. */
  readonly uuid: string;
  readonly createdAt: string;
}

export interface SystemConfig {
  /** Minutes between statistics samples. */
  readonly trafficStatisticsFrequency: number;
  /** Months of daily statistics kept. */
  readonly trafficStatisticsHistory: number;
  /** Seconds since the last handshake under which a peer counts as online. */
  readonly wireguardHandshakeUptime: number;
}

export const DEFAULT_SYSTEM_CONFIG: SystemConfig = Object.freeze({
  trafficStatisticsFrequency: 5,
  trafficStatisticsHistory: 2,
  wireguardHandshakeUptime: 180,
});
