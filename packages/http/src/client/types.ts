/**
 * Shapes of the PUQVPN control-panel API v1 as vpncp serves it (packages/http/src/presenters.ts).
 * Field names are the API's own, in requests and in responses, so what you read here is what the
 * pages and `curl` show. Values are strings where the pages show strings.
 */

/** A value of a form field: sent as its string (booleans as "1"/"0"). */
export type FormScalar = string | number | boolean;

/** The `{error,msg,status}` envelope of every answer. */
export interface ApiEnvelope<T> {
  readonly error: string;
  readonly msg: T | "";
  readonly status: "success" | "error";
}

export type AccountStatus = "enable" | "disable";

/** The account object of the pages: every value a string. */
export interface Account {
  readonly allowed_IPs: string;
  readonly allowed_IPs_ipv6: string;
  /** Mbit, "0".."10000"; the server's default when the account gives none. */
  readonly b_download: string;
  readonly b_upload: string;
  readonly mangle: string;
  readonly name: string;
  readonly password: string;
  readonly private_key: string;
  readonly public_key: string;
  readonly status: AccountStatus;
  readonly username: string;
  readonly wg_name: string;
}

/** Account ADD: `wg_name` is required; anything left out is generated unique. */
export interface AccountCreate {
  readonly wg_name: string;
  readonly allowed_IPs?: string;
  readonly allowed_IPs_ipv6?: string;
  readonly b_download?: FormScalar;
  readonly b_upload?: FormScalar;
  readonly name?: string;
  readonly password?: string;
  readonly private_key?: string;
  readonly public_key?: string;
  readonly status?: AccountStatus;
  readonly username?: string;
}

/** Account EDIT: the name never changes. */
export type AccountUpdate = Partial<Omit<AccountCreate, "name">>;

/** GET /account/NAME/dump: the peer as the running interface reports it. */
export interface AccountDump {
  readonly allowed_ips: string;
  readonly endpoint: string;
  readonly keepalive: string;
  readonly latest_handshake: string;
  readonly transfer_rx: string;
  readonly transfer_tx: string;
}

/** One day of GET /account/NAME/traffic_statistics/YEAR/MONTH (bytes; numbers, as the page shows). */
export interface DailyTraffic {
  readonly account: string;
  readonly date: string;
  /** Bytes to the client. */
  readonly traffic_download: number;
  /** Bytes from the client. */
  readonly traffic_upload: number;
}

/** The WireGuard server object of API-EXTENDED: strings, except the booleans and keep_alive. */
export interface WireguardServer {
  readonly address: string;
  readonly address_ipv6: string;
  readonly allowed_ips: string;
  readonly b_download: string;
  readonly b_upload: string;
  readonly dns_1: string;
  readonly dns_1_ipv6: string;
  readonly dns_2: string;
  readonly dns_2_ipv6: string;
  readonly endpoint: string;
  readonly external_ip: string;
  readonly ikev2: boolean;
  readonly interface_name: string;
  readonly internal_traffic: boolean;
  readonly ipv6: boolean;
  readonly keep_alive: number;
  readonly listen_port: string;
  readonly mtu: string;
  readonly name: string;
  readonly private_key: string;
  readonly public_key: string;
}

/** POST /wireguard: every field optional; what is left out is generated unique. */
export interface WireguardServerCreate {
  readonly name?: string;
  readonly interface_name?: string;
  readonly listen_port?: FormScalar;
  readonly address?: string;
  readonly ipv6?: boolean;
  readonly address_ipv6?: string;
  readonly private_key?: string;
  readonly public_key?: string;
  readonly external_ip?: string;
  readonly endpoint?: string;
  readonly dns_1?: string;
  readonly dns_2?: string;
  readonly dns_1_ipv6?: string;
  readonly dns_2_ipv6?: string;
  readonly mtu?: FormScalar;
  readonly keep_alive?: FormScalar;
  readonly allowed_ips?: string;
  readonly internal_traffic?: boolean;
  readonly ikev2?: boolean;
  readonly b_download?: FormScalar;
  readonly b_upload?: FormScalar;
}

/** PUT /wireguard/NAME: name, interface and keys are fixed once created. */
export type WireguardServerUpdate = Omit<WireguardServerCreate, "name" | "interface_name" | "private_key" | "public_key">;

export interface WireguardDump {
  readonly port: string;
  readonly public_key: string;
}

export interface WireguardOnlineAccount extends Account {
  readonly endpoint: string;
  /** "2022-12-12 13:02:01" */
  readonly latest_handshake: string;
  readonly transfer_rx: string;
  readonly transfer_tx: string;
}

export interface Ikev2OnlineAccount extends Account {
  readonly endpoint: string;
  /** " 11 seconds ago" */
  readonly uptime: string;
}

export interface SystemStatus {
  readonly count_accounts: number;
  readonly count_accounts_available: number;
  readonly count_wireguard: number;
  readonly license: string;
  readonly license_valid: boolean;
  readonly status: string;
  readonly version: string;
}

export interface SystemInfo {
  readonly cpu_model: string;
  readonly cpu_threads: string;
  readonly cpu_used_load1: string;
  readonly cpu_used_load15: string;
  readonly cpu_used_load5: string;
  readonly hostname: string;
  readonly memory_free: string;
  readonly memory_total: string;
  readonly memory_used: string;
  readonly memory_used_percent: string;
  readonly os_architecture: string;
  readonly os_name: string;
  readonly timezone: string;
}

/** Minutes between statistics samples, months of history, seconds under which a peer counts as online. */
export interface SystemConfig {
  readonly traffic_statistics_frequency: number;
  readonly traffic_statistics_history: number;
  readonly wireguard_handshake_uptime: number;
}

/** PUT /system/statistics/sample: the day the sample was booked on, accounts read, time taken. */
export interface StatisticsSample {
  readonly date: string;
  readonly accounts: number;
  readonly duration_ms: number;
}

export type SystemConfigUpdate = Partial<Record<keyof SystemConfig, FormScalar>>;

/**
 * GET /ikev2/config: the certificates (PEM) and their fields with ca_ / server_ prefixes; a missing
 * certificate shows the same keys, empty.
 */
export interface Ikev2Config {
  readonly enabled: boolean;
  readonly ca_cert: string;
  readonly ca_common_name: string;
  readonly ca_organization: string;
  readonly ca_organizational_unit: string;
  readonly ca_country_name: string;
  readonly ca_state_or_province_name: string;
  readonly ca_locality: string;
  readonly ca_not_before: string;
  readonly ca_not_after: string;
  readonly ca_serial: string;
  readonly ca_fingerprint_sha256: string;
  readonly ca_is_ca: boolean;
  readonly ca_dns_names: readonly string[];
  readonly ca_ip_addresses: readonly string[];
  readonly server_cert: string;
  readonly server_domain: string;
  readonly server_ip: string;
  readonly server_ipv6: string;
  readonly server_common_name: string;
  readonly server_organization: string;
  readonly server_organizational_unit: string;
  readonly server_country_name: string;
  readonly server_state_or_province_name: string;
  readonly server_locality: string;
  readonly server_not_before: string;
  readonly server_not_after: string;
  readonly server_serial: string;
  readonly server_fingerprint_sha256: string;
  readonly server_is_ca: boolean;
  readonly server_dns_names: readonly string[];
  readonly server_ip_addresses: readonly string[];
}

export interface Ikev2CaGenerate {
  readonly ca_common_name?: string;
  readonly ca_organization?: string;
  readonly ca_organizational_unit?: string;
  readonly ca_country_name?: string;
  readonly ca_state_or_province_name?: string;
  readonly ca_locality?: string;
}

export interface Ikev2CaImport {
  readonly ca_cert: string;
  readonly ca_key: string;
}

export interface Ikev2ServerGenerate {
  readonly server_domain?: string;
  readonly server_ip?: string;
  readonly server_ipv6?: string;
  readonly server_common_name?: string;
  readonly server_organization?: string;
  readonly server_organizational_unit?: string;
  readonly server_locality?: string;
  readonly server_state_or_province_name?: string;
  readonly server_country_name?: string;
}

/** The page around one-time links; lifetime in days, as a string. */
export interface OtlConfig {
  readonly title: string;
  readonly css: string;
  readonly before_body: string;
  readonly after_body: string;
  readonly not_relevant: string;
  readonly lifetime: string;
}

export type OtlConfigUpdate = Partial<Record<keyof OtlConfig, FormScalar>>;

export interface OtlListEntry {
  readonly account: string;
  /** "2022-12-09" */
  readonly created_data: string;
  readonly key: string;
  /** The expiry date, "2022-12-19". */
  readonly lifetime: string;
}

export interface OtlList {
  readonly olts: Readonly<Record<string, OtlListEntry>>;
}

export interface OtlClientButton {
  readonly label: string;
  readonly link: string;
}

/** The download buttons and blocks shown on a one-time page for one protocol. */
export interface OtlProtocolConfig {
  readonly enable_config_qr: boolean;
  readonly enable_config_text: boolean;
  readonly download_label: string;
  readonly clients: readonly OtlClientButton[];
}

export type OtlProtocolConfigUpdate = Partial<{
  readonly enable_config_qr: FormScalar;
  readonly enable_config_text: FormScalar;
  readonly download_label: string;
  /** Sent as a JSON string in the form (forms hold no arrays). */
  readonly clients: readonly OtlClientButton[];
}>;
