import {
  type AccountRecord,
  type CertificateDescription,
  effectiveBandwidth,
  type Ikev2Config,
  type ServerRecord,
  type SystemConfig,
  type SystemInfo,
  type SystemStatus,
} from "@vpncp/core";

/** The account object of the pages: every value a string. */
export function presentAccount(account: AccountRecord, server: ServerRecord | undefined) {
  const { download, upload } = effectiveBandwidth(account, server);
  return {
    allowed_IPs: account.allowedIp,
    allowed_IPs_ipv6: account.allowedIpv6,
    b_download: String(download),
    b_upload: String(upload),
    mangle: String(account.mangle),
    name: account.name,
    password: account.password,
    private_key: account.privateKey,
    public_key: account.publicKey,
    status: account.status,
    username: account.username,
    wg_name: account.wgName,
  };
}

export type ApiAccount = ReturnType<typeof presentAccount>;

/** The server object of API-EXTENDED: strings, except the booleans and keep_alive. */
export function presentServer(server: ServerRecord) {
  return {
    address: server.address,
    address_ipv6: server.addressIpv6,
    allowed_ips: server.allowedIps,
    b_download: String(server.bDownload),
    b_upload: String(server.bUpload),
    dns_1: server.dns1,
    dns_1_ipv6: server.dns1Ipv6,
    dns_2: server.dns2,
    dns_2_ipv6: server.dns2Ipv6,
    endpoint: server.endpoint || server.externalIp,
    external_ip: server.externalIp,
    ikev2: server.ikev2,
    interface_name: server.interfaceName,
    internal_traffic: server.internalTraffic,
    ipv6: server.ipv6,
    keep_alive: server.keepAlive,
    listen_port: String(server.listenPort),
    mtu: server.mtu > 0 ? String(server.mtu) : "",
    name: server.name,
    private_key: server.privateKey,
    public_key: server.publicKey,
  };
}

export type ApiServer = ReturnType<typeof presentServer>;

export function presentStatus(status: SystemStatus) {
  return {
    count_accounts: status.countAccounts,
    count_accounts_available: status.countAccountsAvailable,
    count_wireguard: status.countWireguard,
    license: status.license,
    license_valid: status.licenseValid,
    status: status.status,
    version: status.version,
  };
}

export function presentInfo(info: SystemInfo) {
  return {
    cpu_model: info.cpuModel,
    cpu_threads: String(info.cpuThreads),
    cpu_used_load1: info.cpuUsedLoad1,
    cpu_used_load15: info.cpuUsedLoad15,
    cpu_used_load5: info.cpuUsedLoad5,
    hostname: info.hostname,
    memory_free: String(info.memoryFreeMb),
    memory_total: String(info.memoryTotalMb),
    memory_used: String(info.memoryUsedMb),
    memory_used_percent: String(info.memoryUsedPercent),
    os_architecture: info.osArchitecture,
    os_name: info.osName,
    timezone: info.timezone,
  };
}

export function presentConfig(config: SystemConfig) {
  return {
    traffic_statistics_frequency: config.trafficStatisticsFrequency,
    traffic_statistics_history: config.trafficStatisticsHistory,
    wireguard_handshake_uptime: config.wireguardHandshakeUptime,
  };
}

/** What a missing certificate shows: the same keys, empty, so clients read one shape. */
const NO_CERTIFICATE: CertificateDescription = {
  common_name: "",
  organization: "",
  organizational_unit: "",
  country_name: "",
  state_or_province_name: "",
  locality: "",
  not_before: "",
  not_after: "",
  serial: "",
  fingerprint_sha256: "",
  is_ca: false,
  dns_names: [],
  ip_addresses: [],
};

function prefixed(prefix: string, value: CertificateDescription): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(NO_CERTIFICATE) as (keyof CertificateDescription)[]) out[`${prefix}_${key}`] = value[key];
  return out;
}

/** CA and server certificates with their subject fields, server_domain, server_ip, enabled. */
export function presentIkev2Config(config: Ikev2Config) {
  const { certificate: caCertificate, ...ca } = config.ca ?? { ...NO_CERTIFICATE, certificate: "" };
  const {
    certificate: serverCertificate,
    domain,
    ip,
    ipv6,
    ...server
  } = config.server ?? { ...NO_CERTIFICATE, certificate: "", domain: "", ip: "", ipv6: "" };
  return {
    enabled: config.enabled,
    ca_cert: caCertificate,
    ...prefixed("ca", ca),
    server_cert: serverCertificate,
    server_domain: domain,
    server_ip: ip,
    server_ipv6: ipv6,
    ...prefixed("server", server),
  };
}
