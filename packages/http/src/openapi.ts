import { ERRORS, VPNCP_VERSION } from "@vpncp/core";

type Schema = Record<string, unknown>;

const str = { type: "string" } as const;
const bool = { type: "boolean" } as const;
const int = { type: "integer" } as const;
const obj = (properties: Record<string, Schema>, required?: string[]): Schema => ({
  type: "object",
  properties,
  ...(required ? { required } : {}),
});

const account = obj(
  Object.fromEntries(
    [
      "allowed_IPs",
      "allowed_IPs_ipv6",
      "b_download",
      "b_upload",
      "mangle",
      "name",
      "password",
      "private_key",
      "public_key",
      "status",
      "username",
      "wg_name",
    ].map((k) => [k, str]),
  ),
);
const server = obj({
  address: str,
  address_ipv6: str,
  allowed_ips: str,
  b_download: str,
  b_upload: str,
  dns_1: str,
  dns_1_ipv6: str,
  dns_2: str,
  dns_2_ipv6: str,
  endpoint: str,
  external_ip: str,
  ikev2: bool,
  interface_name: str,
  internal_traffic: bool,
  ipv6: bool,
  keep_alive: int,
  listen_port: str,
  mtu: str,
  name: str,
  private_key: str,
  public_key: str,
});
const config = obj({ traffic_statistics_frequency: int, traffic_statistics_history: int, wireguard_handshake_uptime: int });
const day = obj({ account: str, date: str, traffic_download: int, traffic_upload: int });

const accountFields = {
  wg_name: str,
  allowed_IPs: { type: "string", description: "IPv4 address (CIDR /32 or bare)" },
  allowed_IPs_ipv6: str,
  name: str,
  username: str,
  password: str,
  private_key: str,
  public_key: str,
  status: { type: "string", enum: ["enable", "disable"] },
  b_download: { type: "string", description: "0-10000 Mbit/s; 0 = the server's default" },
  b_upload: { type: "string", description: "0-10000 Mbit/s; 0 = the server's default" },
};
const serverFields = Object.fromEntries(Object.keys((server as { properties: object }).properties).map((k) => [k, str]));

interface Endpoint {
  method: "get" | "post" | "put" | "delete" | "head";
  path: string;
  summary: string;
  msg: Schema;
  body?: Record<string, Schema>;
  errors?: (keyof typeof ERRORS)[];
  public?: boolean;
  /** A 200 that is not the JSON envelope: its media type (the body is text). */
  media?: string;
  /** Who may call it, when not the access hash alone. */
  security?: Record<string, string[]>[];
}

const ACCOUNT_ERRORS: (keyof typeof ERRORS)[] = ["NOT_AUTHORIZED", "ACCOUNT_NOT_FOUND"];
const text = { type: "string" } as const;

const ENDPOINTS: Endpoint[] = [
  {
    method: "get",
    path: "/api/v1/system/status",
    summary: "System status",
    msg: obj({
      count_accounts: int,
      count_accounts_available: int,
      count_wireguard: int,
      license: str,
      license_valid: bool,
      status: str,
      version: str,
    }),
  },
  {
    method: "get",
    path: "/api/v1/system/info",
    summary: "System info",
    msg: obj(
      Object.fromEntries(
        [
          "cpu_model",
          "cpu_threads",
          "cpu_used_load1",
          "cpu_used_load15",
          "cpu_used_load5",
          "hostname",
          "memory_free",
          "memory_total",
          "memory_used",
          "memory_used_percent",
          "os_architecture",
          "os_name",
          "timezone",
        ].map((k) => [k, str]),
      ),
    ),
  },
  { method: "put", path: "/api/v1/system/reload", summary: "System reload", msg: text, errors: ["NOT_AUTHORIZED", "STATUS_NOT_OK"] },
  { method: "get", path: "/api/v1/system/config", summary: "System configuration", msg: config },
  {
    method: "put",
    path: "/api/v1/system/config",
    summary: "Change the system configuration",
    msg: config,
    body: { traffic_statistics_frequency: str, traffic_statistics_history: str, wireguard_handshake_uptime: str },
    errors: ["NOT_AUTHORIZED", "WRONG_FREQUENCY", "WRONG_HISTORY", "WRONG_HANDSHAKE_UPTIME"],
  },
  { method: "put", path: "/api/v1/system/config/default", summary: "Restore the default system configuration", msg: config },
  {
    method: "put",
    path: "/api/v1/system/statistics/sample",
    summary: "vpncp extension: sample the traffic counters now",
    msg: obj({ date: str, accounts: int, duration_ms: { type: "number" } }),
  },
  { method: "get", path: "/api/v1/account", summary: "Accounts list (optional ?limit=&offset=)", msg: { type: "array", items: account } },
  {
    method: "post",
    path: "/api/v1/account",
    summary: "Account add",
    msg: account,
    body: accountFields,
    errors: [
      "NOT_AUTHORIZED",
      "ACCOUNT_LIMIT",
      "SERVER_NOT_VALID",
      "WRONG_NAME",
      "NAME_IN_USE",
      "USERNAME_IN_USE",
      "WRONG_USERNAME",
      "WRONG_IP",
      "IP_IN_USE",
      "IP_OUT_OF_RANGE",
      "KEYS_INVALID",
    ],
  },
  { method: "get", path: "/api/v1/account/{name}", summary: "Account detail", msg: account, errors: ACCOUNT_ERRORS },
  {
    method: "put",
    path: "/api/v1/account/{name}",
    summary: "Account edit",
    msg: account,
    body: accountFields,
    errors: ["NOT_AUTHORIZED", "ACCOUNT_NOT_FOUND", "SERVER_NOT_VALID", "WRONG_EXTERNAL_IP", "IP_IN_USE", "IP_OUT_OF_RANGE"],
  },
  { method: "delete", path: "/api/v1/account/{name}", summary: "Account delete", msg: text, errors: ACCOUNT_ERRORS },
  { method: "get", path: "/api/v1/account/{name}/config_text", summary: "Account config text", msg: text, errors: ACCOUNT_ERRORS },
  {
    method: "get",
    path: "/api/v1/account/{name}/config_qr",
    summary: "Account config QR (PNG, base64)",
    msg: text,
    errors: ACCOUNT_ERRORS,
  },
  {
    method: "get",
    path: "/api/v1/account/{name}/ikev2_profile",
    summary: "Account IKEv2 profile (.sswan)",
    msg: text,
    errors: ACCOUNT_ERRORS,
  },
  {
    method: "get",
    path: "/api/v1/account/{name}/ikev2_mobileconfig",
    summary: "Account IKEv2 Apple profile (.mobileconfig)",
    msg: text,
    errors: ACCOUNT_ERRORS,
  },
  { method: "get", path: "/api/v1/account/{name}/otl", summary: "Account one-time link", msg: text, errors: ACCOUNT_ERRORS },
  {
    method: "get",
    path: "/api/v1/account/{name}/firewall_mangle_rules",
    summary: "Account firewall mangle rules",
    msg: text,
    errors: ACCOUNT_ERRORS,
  },
  { method: "get", path: "/api/v1/account/{name}/traffic_control", summary: "Account traffic control", msg: text, errors: ACCOUNT_ERRORS },
  {
    method: "get",
    path: "/api/v1/account/{name}/dump",
    summary: "Account dump",
    msg: obj({ allowed_ips: str, endpoint: str, keepalive: str, latest_handshake: str, transfer_rx: str, transfer_tx: str }),
    errors: ACCOUNT_ERRORS,
  },
  {
    method: "get",
    path: "/api/v1/account/{name}/traffic_statistics/{year}/{month}",
    summary: "Account traffic statistics",
    msg: { type: "array", items: day },
    errors: ["NOT_AUTHORIZED", "ACCOUNT_NOT_FOUND", "WRONG_MONTH", "WRONG_YEAR"],
  },
  { method: "get", path: "/api/v1/wireguard/info", summary: "WireGuard tool versions", msg: { type: "object", additionalProperties: str } },
  { method: "get", path: "/api/v1/wireguard", summary: "WireGuard servers", msg: { type: "object", additionalProperties: server } },
  {
    method: "post",
    path: "/api/v1/wireguard",
    summary: "WireGuard server add",
    msg: server,
    body: serverFields,
    errors: [
      "NOT_AUTHORIZED",
      "NAME_IN_USE",
      "WRONG_INTERFACE",
      "WRONG_NAME",
      "KEYS_INVALID",
      "INTERFACE_IN_USE",
      "PORT_IN_USE",
      "WRONG_EXTERNAL_IP",
      "WRONG_PORT",
      "SUBNET_IN_USE",
      "WRONG_DNS1",
      "WRONG_DNS2",
    ],
  },
  {
    method: "get",
    path: "/api/v1/wireguard/online",
    summary: "WireGuard peers online",
    msg: { type: "array", items: { allOf: [account, obj({ endpoint: str, latest_handshake: str, transfer_rx: str, transfer_tx: str })] } },
  },
  {
    method: "get",
    path: "/api/v1/wireguard/{name}",
    summary: "WireGuard server",
    msg: server,
    errors: ["NOT_AUTHORIZED", "SERVER_NOT_FOUND"],
  },
  {
    method: "put",
    path: "/api/v1/wireguard/{name}",
    summary: "WireGuard server edit",
    msg: server,
    body: serverFields,
    errors: [
      "NOT_AUTHORIZED",
      "SERVER_NOT_FOUND",
      "PORT_IN_USE",
      "WRONG_EXTERNAL_IP",
      "WRONG_PORT",
      "SUBNET_IN_USE",
      "WRONG_DNS1",
      "WRONG_DNS2",
    ],
  },
  {
    method: "delete",
    path: "/api/v1/wireguard/{name}",
    summary: "WireGuard server delete",
    msg: text,
    errors: ["NOT_AUTHORIZED", "SERVER_NOT_FOUND", "SERVER_HAS_PEERS"],
  },
  {
    method: "get",
    path: "/api/v1/wireguard/{name}/peers",
    summary: "Accounts of the server",
    msg: { type: "object", additionalProperties: account },
  },
  {
    method: "get",
    path: "/api/v1/wireguard/{name}/available_ips",
    summary: "Free addresses of the server",
    msg: { type: "array", items: str },
  },
  { method: "get", path: "/api/v1/wireguard/{name}/dump", summary: "Running interface", msg: obj({ port: str, public_key: str }) },
  { method: "get", path: "/api/v1/wireguard/{name}/traffic_control", summary: "Interface qdiscs", msg: text },
  { method: "get", path: "/api/v1/wireguard/{name}/firewall_nat_rules", summary: "NAT rules", msg: text },
  { method: "get", path: "/api/v1/wireguard/{name}/firewall_filter_rules", summary: "Filter rules", msg: text },
  {
    method: "put",
    path: "/api/v1/wireguard/{name}/set_bandwidth",
    summary: "Apply a bandwidth pair to every account of the server",
    msg: { type: "object", additionalProperties: account },
    body: { b_download: str, b_upload: str },
  },
  {
    method: "get",
    path: "/api/v1/ikev2/info",
    summary: "IKEv2 daemon version and state",
    msg: { type: "object", additionalProperties: str },
  },
  { method: "get", path: "/api/v1/ikev2/config", summary: "IKEv2 certificates and settings", msg: { type: "object" } },
  { method: "put", path: "/api/v1/ikev2", summary: "Turn IKEv2 on or off", msg: { type: "object" }, body: { enabled: str } },
  {
    method: "put",
    path: "/api/v1/ikev2/generate_ca_rsa",
    summary: "Generate the root CA",
    msg: { type: "object" },
    body: Object.fromEntries(
      ["ca_common_name", "ca_organization", "ca_organizational_unit", "ca_country_name", "ca_state_or_province_name", "ca_locality"].map(
        (k) => [k, str],
      ),
    ),
    errors: ["NOT_AUTHORIZED", "CA_EXISTS", "COMMON_NAME_REQUIRED", "ORGANIZATION_REQUIRED"],
  },
  {
    method: "put",
    path: "/api/v1/ikev2/import_ca_rsa",
    summary: "Import the root CA",
    msg: { type: "object" },
    body: { ca_cert: str, ca_key: str },
    errors: ["NOT_AUTHORIZED", "CA_EXISTS", "CA_CERT_REQUIRED", "CA_KEY_REQUIRED", "CERT_FAILED"],
  },
  {
    method: "delete",
    path: "/api/v1/ikev2/delete_ca_rsa",
    summary: "Delete the root CA",
    msg: text,
    errors: ["NOT_AUTHORIZED", "CERT_NOT_FOUND"],
  },
  {
    method: "put",
    path: "/api/v1/ikev2/generate_server_rsa",
    summary: "Generate the server certificate",
    msg: { type: "object" },
    body: Object.fromEntries(
      [
        "server_domain",
        "server_ip",
        "server_ipv6",
        "server_common_name",
        "server_organization",
        "server_organizational_unit",
        "server_locality",
        "server_state_or_province_name",
        "server_country_name",
      ].map((k) => [k, str]),
    ),
    errors: ["NOT_AUTHORIZED", "CA_MISSING", "CERT_FAILED", "COMMON_NAME_REQUIRED"],
  },
  {
    method: "delete",
    path: "/api/v1/ikev2/delete_server_rsa",
    summary: "Delete the server certificate",
    msg: text,
    errors: ["NOT_AUTHORIZED", "CERT_NOT_FOUND"],
  },
  {
    method: "get",
    path: "/api/v1/ikev2/online",
    summary: "IKEv2 sessions",
    msg: { type: "array", items: { allOf: [account, obj({ endpoint: str, uptime: str })] } },
  },
  { method: "delete", path: "/api/v1/ikev2/online/{name}", summary: "End an account's IKEv2 sessions", msg: text, errors: ACCOUNT_ERRORS },
  {
    method: "get",
    path: "/api/v1/otl/config",
    summary: "One-time link page settings",
    msg: obj({ title: str, css: str, before_body: str, after_body: str, not_relevant: str, lifetime: str }),
  },
  {
    method: "put",
    path: "/api/v1/otl/config",
    summary: "Change the one-time link page settings",
    msg: { type: "object" },
    body: { title: str, css: str, before_body: str, after_body: str, not_relevant: str, lifetime: str },
  },
  { method: "get", path: "/api/v1/otl/list", summary: "Live one-time links", msg: obj({ olts: { type: "object" } }) },
  { method: "get", path: "/api/v1/otl/config_wireguard", summary: "WireGuard download buttons", msg: { type: "object" } },
  { method: "get", path: "/api/v1/otl/config_ikev2", summary: "IKEv2 download buttons", msg: { type: "object" } },
  {
    method: "put",
    path: "/api/v1/otl/config_wireguard",
    summary: "Change the WireGuard download buttons",
    msg: { type: "object" },
    body: {
      enable_config_qr: str,
      enable_config_text: str,
      download_label: str,
      clients: { type: "string", description: "JSON array of {label, link}" },
    },
  },
  {
    method: "put",
    path: "/api/v1/otl/config_ikev2",
    summary: "Change the IKEv2 download buttons",
    msg: { type: "object" },
    body: {
      enable_config_qr: str,
      enable_config_text: str,
      download_label: str,
      clients: { type: "string", description: "JSON array of {label, link}" },
    },
  },
  { method: "get", path: "/otl/{key}", summary: "The one-time page (HTML, no cookie)", msg: text, public: true, media: "text/html" },
  {
    method: "head",
    path: "/otl/{key}",
    summary: "The one-time page's headers; does not use the link up",
    msg: text,
    public: true,
    media: "text/html",
  },
  {
    method: "get",
    path: "/api/v1/openapi.json",
    summary: "This document",
    msg: { type: "object" },
    public: true,
    media: "application/json",
  },
  {
    method: "get",
    path: "/metrics",
    summary: "Prometheus metrics (access hash, or the metrics bearer token when one is set)",
    msg: text,
    media: "text/plain",
    security: [{ accessHash: [] }, { metricsToken: [] }],
  },
];

function envelope(msg: Schema): Schema {
  return obj({ error: str, msg, status: { type: "string", enum: ["success", "error"] } }, ["error", "msg", "status"]);
}

/** OpenAPI 3.1 description of the whole API. */
export function openApiDocument(): Record<string, unknown> {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const e of ENDPOINTS) {
    const parameters = [...e.path.matchAll(/\{(\w+)\}/g)].map((m) => ({ name: m[1], in: "path", required: true, schema: str }));
    // every body is read within the size limit (body.ts)
    const errors = [...(e.errors ?? (e.public ? [] : ["NOT_AUTHORIZED"])), ...(e.body ? (["BODY_TOO_LARGE"] as const) : [])];
    const responses: Record<string, unknown> = {
      "200": {
        description: "success",
        content: e.media ? { [e.media]: { schema: e.msg } } : { "application/json": { schema: envelope(e.msg) } },
      },
    };
    for (const code of errors) {
      const { status, message } = ERRORS[code];
      const previous = responses[String(status)] as { description: string } | undefined;
      responses[String(status)] = {
        description: previous ? `${previous.description}; ${message}` : message,
        content: { "application/json": { schema: envelope({ const: "" }) } },
      };
    }
    paths[e.path] ??= {};
    paths[e.path]![e.method] = {
      summary: e.summary,
      ...(parameters.length > 0 ? { parameters } : {}),
      ...(e.public ? { security: [] } : e.security ? { security: e.security } : {}),
      ...(e.body
        ? {
            requestBody: {
              content: {
                "application/x-www-form-urlencoded": { schema: obj(e.body) },
                "application/json": { schema: obj(e.body) },
              },
            },
          }
        : {}),
      responses,
    };
  }
  return {
    openapi: "3.1.0",
    info: {
      title: "vpncp — PUQVPN control-panel API v1",
      version: VPNCP_VERSION,
      description: "Every response is the envelope {error, msg, status}. Bodies are form-encoded (JSON accepted).",
    },
    components: {
      securitySchemes: {
        accessHash: { type: "apiKey", in: "cookie", name: "access_hash" },
        metricsToken: { type: "http", scheme: "bearer" },
      },
    },
    security: [{ accessHash: [] }],
    paths,
  };
}
