import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { toNodeHandler } from "h3/node";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { appRoutes, form, type Harness, seedPages, snapshot, startHarness, TRANSPORTS, type TransportKind } from "./harness.js";
import { extendedErrorSentences, PAGE_FILES, readPage } from "./spec-pages.js";

/** Every sentence the pages and API-EXTENDED document, deduplicated. */
const DOCUMENTED = [...new Set([...PAGE_FILES.flatMap((f) => readPage(f).flatMap((s) => s.errors)), ...extendedErrorSentences()])];

interface ErrorCase {
  readonly what: string;
  readonly method: string;
  readonly path: string;
  readonly body?: string | Record<string, unknown>;
  readonly status: number;
  readonly error: string;
  /** State the case needs, made before the "nothing changed" snapshot. */
  readonly given?: (h: Harness) => Promise<void>;
}

const NOT_FOUND = "Account not found";
const SERVER_NOT_FOUND = "Wireguard server not found";
const OUT_OF_RANGE = "The IP address is not within the range of the wireguard server";
const OTHER_KEY = "kC8n0NGFxwqvwIfI8xJg2ZzRtp950ltC4ugPHlPxsm0=";

/** The cases in the order they run (the IKEv2 ones first without, then with a CA). */
const CASES: ErrorCase[] = [
  // ---- accounts: DETAIL and every per-account endpoint
  ...[
    "",
    "/config_text",
    "/config_qr",
    "/ikev2_profile",
    "/ikev2_mobileconfig",
    "/otl",
    "/firewall_mangle_rules",
    "/traffic_control",
    "/dump",
    "/traffic_statistics/2022/11",
  ].map((suffix) => ({
    what: `GET account${suffix} of nobody`,
    method: "GET",
    path: `/api/v1/account/nobody${suffix}`,
    status: 404,
    error: NOT_FOUND,
  })),
  { what: "DELETE nobody", method: "DELETE", path: "/api/v1/account/nobody", status: 404, error: NOT_FOUND },
  { what: "EDIT nobody", method: "PUT", path: "/api/v1/account/nobody", body: "status=disable", status: 404, error: NOT_FOUND },
  { what: "end the IKEv2 sessions of nobody", method: "DELETE", path: "/api/v1/ikev2/online/nobody", status: 404, error: NOT_FOUND },

  // ---- traffic statistics
  ...["13", "0", "ab", "-1", "123"].map((month) => ({
    what: `month ${month}`,
    method: "GET",
    path: `/api/v1/account/ruslan_telefon/traffic_statistics/2022/${month}`,
    status: 400,
    error: "Wrong month setting",
  })),
  ...["20x2", "1969", "22", "-2022", "99999"].map((year) => ({
    what: `year ${year}`,
    method: "GET",
    path: `/api/v1/account/ruslan_telefon/traffic_statistics/${year}/11`,
    status: 400,
    error: "Wrong year setting",
  })),

  // ---- account ADD
  {
    what: "ADD without wg_name",
    method: "POST",
    path: "/api/v1/account",
    body: "allowed_IPs=10.0.110.52",
    status: 400,
    error: "Wireguard server not valid",
  },
  {
    what: "ADD on an unknown server",
    method: "POST",
    path: "/api/v1/account",
    body: "wg_name=nope",
    status: 400,
    error: "Wireguard server not valid",
  },
  ...["bad name", "a/b", "ä", "x".repeat(65), "a.b"].map((name) => ({
    what: `ADD name ${JSON.stringify(name)}`,
    method: "POST",
    path: "/api/v1/account",
    body: form({ wg_name: "77_87_125_209", name }),
    status: 400,
    error: "Wrong name (only letters, numbers and '_', '-')",
  })),
  {
    what: "ADD a taken name",
    method: "POST",
    path: "/api/v1/account",
    body: "wg_name=77_87_125_209&name=peer_10",
    status: 409,
    error: "The name is already in use",
  },
  {
    what: "ADD a taken username",
    method: "POST",
    path: "/api/v1/account",
    body: "wg_name=77_87_125_209&username=user_10",
    status: 409,
    error: "The username is already in use",
  },
  {
    what: "ADD a bad username",
    method: "POST",
    path: "/api/v1/account",
    body: form({ wg_name: "77_87_125_209", username: "bad@user" }),
    status: 400,
    error: "Wrong Username (only letters, numbers and '_', '-')",
  },
  ...["10.0.110.300", "abc", "10.0.110.52/24", "fd00::5", "10.0.110"].map((ip) => ({
    what: `ADD allowed_IPs ${ip}`,
    method: "POST",
    path: "/api/v1/account",
    body: form({ wg_name: "77_87_125_209", allowed_IPs: ip }),
    status: 400,
    error: "Wrong IP format",
  })),
  {
    what: "ADD a taken IP",
    method: "POST",
    path: "/api/v1/account",
    body: "wg_name=77_87_125_209&allowed_IPs=10.0.110.18",
    status: 409,
    error: "IP address already in use",
  },
  ...["10.0.99.5", "10.0.110.0", "10.0.110.1", "10.0.110.255"].map((ip) => ({
    what: `ADD allowed_IPs ${ip} (outside the hosts of 10.0.110.1/24)`,
    method: "POST",
    path: "/api/v1/account",
    body: form({ wg_name: "77_87_125_209", allowed_IPs: ip }),
    status: 400,
    error: OUT_OF_RANGE,
  })),
  {
    what: "ADD a malformed private key",
    method: "POST",
    path: "/api/v1/account",
    body: "wg_name=77_87_125_209&private_key=abc",
    status: 400,
    error: "Keys are invalid",
  },
  {
    what: "ADD a public key that is not the private key's",
    method: "POST",
    path: "/api/v1/account",
    body: form({ wg_name: "77_87_125_209", private_key: "GNuP0siryMimPSuF7Hnmw0D7gY7FXzoY6IgUmt1uuXc=", public_key: OTHER_KEY }),
    status: 400,
    error: "Keys are invalid",
  },
  {
    what: "ADD status maybe",
    method: "POST",
    path: "/api/v1/account",
    body: "wg_name=77_87_125_209&status=maybe",
    status: 400,
    error: "Wrong status (only enable or disable)",
  },
  ...["10001", "-1", "abc", "1.5"].map((value) => ({
    what: `ADD b_download ${value}`,
    method: "POST",
    path: "/api/v1/account",
    body: form({ wg_name: "77_87_125_209", b_download: value }),
    status: 400,
    error: "Wrong download bandwidth (0-10000)",
  })),
  {
    what: "ADD b_upload 10001",
    method: "POST",
    path: "/api/v1/account",
    body: "wg_name=77_87_125_209&b_upload=10001",
    status: 400,
    error: "Wrong upload bandwidth (0-10000)",
  },
  {
    what: "ADD a password with a space",
    method: "POST",
    path: "/api/v1/account",
    body: form({ wg_name: "77_87_125_209", password: "a b" }),
    status: 400,
    error: "Wrong password (1 to 128 printable characters, no spaces or quotes)",
  },
  {
    what: "ADD an object as a value (JSON)",
    method: "POST",
    path: "/api/v1/account",
    body: { wg_name: { $ne: 1 } },
    status: 400,
    error: "Malformed request body",
  },

  // ---- account EDIT
  {
    what: "EDIT onto an unknown server",
    method: "PUT",
    path: "/api/v1/account/peer_10",
    body: "wg_name=nope",
    status: 400,
    error: "Wireguard server not valid",
  },
  ...["10.0.110.300", "x", "10.0.110.60/24"].map((ip) => ({
    what: `EDIT allowed_IPs ${ip}`,
    method: "PUT",
    path: "/api/v1/account/peer_10",
    body: form({ allowed_IPs: ip }),
    status: 400,
    error: "Wrong external IP format",
  })),
  {
    what: "EDIT onto a taken IP",
    method: "PUT",
    path: "/api/v1/account/peer_10",
    body: "allowed_IPs=10.0.110.17",
    status: 409,
    error: "IP address already in use",
  },
  {
    what: "EDIT out of range",
    method: "PUT",
    path: "/api/v1/account/peer_10",
    body: "allowed_IPs=10.0.99.5",
    status: 400,
    error: OUT_OF_RANGE,
  },
  {
    what: "EDIT status",
    method: "PUT",
    path: "/api/v1/account/peer_10",
    body: "status=on",
    status: 400,
    error: "Wrong status (only enable or disable)",
  },
  {
    what: "EDIT b_upload",
    method: "PUT",
    path: "/api/v1/account/peer_10",
    body: "b_upload=99999",
    status: 400,
    error: "Wrong upload bandwidth (0-10000)",
  },
  {
    what: "EDIT a taken username",
    method: "PUT",
    path: "/api/v1/account/peer_10",
    body: "username=user_32",
    status: 409,
    error: "The username is already in use",
  },
  {
    what: "EDIT: a valid field with an invalid one changes neither",
    method: "PUT",
    path: "/api/v1/account/peer_10",
    body: "password=NewPassword1&b_download=abc",
    status: 400,
    error: "Wrong download bandwidth (0-10000)",
  },

  // ---- servers
  ...["", "/peers", "/available_ips", "/dump", "/traffic_control", "/firewall_nat_rules", "/firewall_filter_rules"].map((suffix) => ({
    what: `GET wireguard${suffix} of nope`,
    method: "GET",
    path: `/api/v1/wireguard/nope${suffix}`,
    status: 404,
    error: SERVER_NOT_FOUND,
  })),
  { what: "PUT an unknown server", method: "PUT", path: "/api/v1/wireguard/nope", body: "mtu=1400", status: 404, error: SERVER_NOT_FOUND },
  { what: "DELETE an unknown server", method: "DELETE", path: "/api/v1/wireguard/nope", status: 404, error: SERVER_NOT_FOUND },
  {
    what: "set_bandwidth of an unknown server",
    method: "PUT",
    path: "/api/v1/wireguard/nope/set_bandwidth",
    body: "b_download=5",
    status: 404,
    error: SERVER_NOT_FOUND,
  },
  {
    what: "server with a taken name",
    method: "POST",
    path: "/api/v1/wireguard",
    body: "name=77_87_125_209",
    status: 409,
    error: "The name is already in use",
  },
  ...["eth0", "wg", "wg-1", "WG5", "wg0;reboot"].map((name) => ({
    what: `server interface ${name}`,
    method: "POST",
    path: "/api/v1/wireguard",
    body: form({ interface_name: name }),
    status: 400,
    error: "Wrong network interface name (wgXXX)",
  })),
  {
    what: "server name with a space",
    method: "POST",
    path: "/api/v1/wireguard",
    body: "name=a+b",
    status: 400,
    error: "Wrong name (only letters, numbers and '_', '-')",
  },
  {
    what: "server private key",
    method: "POST",
    path: "/api/v1/wireguard",
    body: "private_key=abc",
    status: 400,
    error: "Keys are invalid",
  },
  {
    what: "server public key alone",
    method: "POST",
    path: "/api/v1/wireguard",
    body: form({ public_key: OTHER_KEY }),
    status: 400,
    error: "Keys are invalid",
  },
  {
    what: "server on a taken interface",
    method: "POST",
    path: "/api/v1/wireguard",
    body: "interface_name=wg0",
    status: 409,
    error: "Interface already in use",
  },
  {
    what: "server on a taken port",
    method: "POST",
    path: "/api/v1/wireguard",
    body: "listen_port=51926",
    status: 409,
    error: "Port already in use",
  },
  {
    what: "PUT a server onto a taken port",
    method: "PUT",
    path: "/api/v1/wireguard/second",
    body: "listen_port=51926",
    status: 409,
    error: "Port already in use",
  },
  ...["1.2.3", "x", "300.1.1.1"].map((ip) => ({
    what: `server external_ip ${ip}`,
    method: "POST",
    path: "/api/v1/wireguard",
    body: form({ external_ip: ip }),
    status: 400,
    error: "Wrong external IP format",
  })),
  {
    what: "PUT external_ip",
    method: "PUT",
    path: "/api/v1/wireguard/second",
    body: "external_ip=1.2",
    status: 400,
    error: "Wrong external IP format",
  },
  ...["0", "65536", "abc", "-5"].map((port) => ({
    what: `server listen_port ${port}`,
    method: "POST",
    path: "/api/v1/wireguard",
    body: form({ listen_port: port }),
    status: 400,
    error: "Wrong Port format",
  })),
  {
    what: "server subnet overlapping",
    method: "POST",
    path: "/api/v1/wireguard",
    body: "address=10.0.110.5/24",
    status: 409,
    error: "IP address or subnet already in use",
  },
  {
    what: "PUT a server onto another's subnet",
    method: "PUT",
    path: "/api/v1/wireguard/second",
    body: "address=10.0.110.9/24",
    status: 409,
    error: "IP address or subnet already in use",
  },
  { what: "server dns_1", method: "POST", path: "/api/v1/wireguard", body: "dns_1=8.8.8", status: 400, error: "Wrong DNS1 IP format" },
  { what: "server dns_2", method: "POST", path: "/api/v1/wireguard", body: "dns_2=fd00::1", status: 400, error: "Wrong DNS2 IP format" },
  { what: "PUT dns_1", method: "PUT", path: "/api/v1/wireguard/second", body: "dns_1=nope", status: 400, error: "Wrong DNS1 IP format" },
  {
    what: "server address 10.0.0.0/24 (a network address)",
    method: "POST",
    path: "/api/v1/wireguard",
    body: "address=10.0.0.0/24",
    status: 400,
    error: "Wrong IP format",
  },
  { what: "server mtu", method: "POST", path: "/api/v1/wireguard", body: "mtu=100", status: 400, error: "Wrong MTU format (1280 to 9000)" },
  {
    what: "server keep_alive",
    method: "POST",
    path: "/api/v1/wireguard",
    body: "keep_alive=70000",
    status: 400,
    error: "Wrong keep alive format (0 to 65535)",
  },
  {
    what: "server allowed_ips",
    method: "POST",
    path: "/api/v1/wireguard",
    body: "allowed_ips=everything",
    status: 400,
    error: "Wrong allowed IPs format (comma-separated CIDRs)",
  },
  {
    what: "server endpoint",
    method: "POST",
    path: "/api/v1/wireguard",
    body: "endpoint=-bad-",
    status: 400,
    error: "Wrong endpoint format (IP address or domain)",
  },
  {
    what: "server ikev2 maybe",
    method: "POST",
    path: "/api/v1/wireguard",
    body: "ikev2=maybe",
    status: 400,
    error: "Wrong boolean value (1/0, true/false)",
  },
  {
    what: "PUT internal_traffic maybe",
    method: "PUT",
    path: "/api/v1/wireguard/second",
    body: "internal_traffic=2",
    status: 400,
    error: "Wrong boolean value (1/0, true/false)",
  },
  {
    what: "PUT a server address that leaves its accounts outside",
    method: "PUT",
    path: "/api/v1/wireguard/77_87_125_209",
    body: "address=10.0.111.1/24",
    status: 400,
    error: OUT_OF_RANGE,
  },
  {
    what: "delete a server with accounts",
    method: "DELETE",
    path: "/api/v1/wireguard/77_87_125_209",
    status: 409,
    error: "Cannot be deleted. There are active peers.",
  },
  {
    what: "set_bandwidth abc",
    method: "PUT",
    path: "/api/v1/wireguard/77_87_125_209/set_bandwidth",
    body: "b_download=abc",
    status: 400,
    error: "Wrong download bandwidth (0-10000)",
  },

  // ---- system configuration
  ...["0", "-1", "abc", "1.5", "2147483648"].map((value) => ({
    what: `traffic_statistics_frequency ${value}`,
    method: "PUT",
    path: "/api/v1/system/config",
    body: form({ traffic_statistics_frequency: value }),
    status: 400,
    error: "Incorrect value Traffic Statistics Frequency (should be 1 to 2147483647)",
  })),
  ...["-1", "x", "2147483648"].map((value) => ({
    what: `traffic_statistics_history ${value}`,
    method: "PUT",
    path: "/api/v1/system/config",
    body: form({ traffic_statistics_history: value }),
    status: 400,
    error: "Incorrect value Traffic Statistics History (should be 0 to 2147483647)",
  })),
  ...["0", "301", "x"].map((value) => ({
    what: `wireguard_handshake_uptime ${value}`,
    method: "PUT",
    path: "/api/v1/system/config",
    body: form({ wireguard_handshake_uptime: value }),
    status: 400,
    error: "Incorrect value Wireguard Handshake Uptime (should be 1 to 300)",
  })),
  {
    what: "a valid and an invalid config value: neither is stored",
    method: "PUT",
    path: "/api/v1/system/config",
    body: "traffic_statistics_frequency=10&wireguard_handshake_uptime=0",
    status: 400,
    error: "Incorrect value Wireguard Handshake Uptime (should be 1 to 300)",
  },

  // ---- one-time link settings
  {
    what: "otl lifetime 0",
    method: "PUT",
    path: "/api/v1/otl/config",
    body: "lifetime=0&title=changed",
    status: 400,
    error: "Incorrect value Lifetime (should be 1 to 3650)",
  },
  {
    what: "otl wireguard switch",
    method: "PUT",
    path: "/api/v1/otl/config_wireguard",
    body: "enable_config_qr=maybe",
    status: 400,
    error: "Wrong boolean value (1/0, true/false)",
  },
  {
    what: "otl clients not JSON",
    method: "PUT",
    path: "/api/v1/otl/config_ikev2",
    body: "clients=nope",
    status: 400,
    error: "Malformed request body",
  },

  // ---- IKEv2 without a CA
  {
    what: "server certificate without a CA",
    method: "PUT",
    path: "/api/v1/ikev2/generate_server_rsa",
    body: "server_domain=vpn.example.com",
    status: 409,
    error: "The ROOT certificate is not present in the system",
  },
  { what: "delete a missing CA", method: "DELETE", path: "/api/v1/ikev2/delete_ca_rsa", status: 404, error: "Certificate not found" },
  {
    what: "delete a missing server certificate",
    method: "DELETE",
    path: "/api/v1/ikev2/delete_server_rsa",
    status: 404,
    error: "Certificate not found",
  },
  {
    what: "import without ca_cert",
    method: "PUT",
    path: "/api/v1/ikev2/import_ca_rsa",
    body: "ca_key=x",
    status: 400,
    error: "CaCert must be filled",
  },
  {
    what: "import without ca_key",
    method: "PUT",
    path: "/api/v1/ikev2/import_ca_rsa",
    body: "ca_cert=x",
    status: 400,
    error: "CaKey must be filled",
  },
  {
    what: "import garbage",
    method: "PUT",
    path: "/api/v1/ikev2/import_ca_rsa",
    body: "ca_cert=x&ca_key=y",
    status: 400,
    error: "Certificate failed",
  },
  {
    what: "CA without a common name",
    method: "PUT",
    path: "/api/v1/ikev2/generate_ca_rsa",
    body: "ca_organization=Org",
    status: 400,
    error: "Common Name must be filled",
  },
  {
    what: "CA without an organization",
    method: "PUT",
    path: "/api/v1/ikev2/generate_ca_rsa",
    body: "ca_common_name=CA",
    status: 400,
    error: "Organization must be filled",
  },
  {
    what: "CA with a three-letter country",
    method: "PUT",
    path: "/api/v1/ikev2/generate_ca_rsa",
    body: "ca_common_name=CA&ca_organization=Org&ca_country_name=POL",
    status: 400,
    error: "Certificate failed",
  },
  {
    what: "ikev2_profile without a CA",
    method: "GET",
    path: "/api/v1/account/peer_10/ikev2_profile",
    status: 409,
    error: "The ROOT certificate is not present in the system",
  },
  {
    what: "IKEv2 switch maybe",
    method: "PUT",
    path: "/api/v1/ikev2",
    body: "enabled=maybe",
    status: 400,
    error: "Wrong boolean value (1/0, true/false)",
  },

  // ---- IKEv2 with a CA
  {
    what: "a second CA",
    method: "PUT",
    path: "/api/v1/ikev2/generate_ca_rsa",
    body: "ca_common_name=CA2&ca_organization=Org",
    status: 409,
    error: "The root certificate is already in the system",
    given: async (h) => {
      await h.api("PUT", "/api/v1/ikev2/generate_ca_rsa", "ca_common_name=PUQ+VPN&ca_organization=PUQ");
    },
  },
  {
    what: "import over a CA",
    method: "PUT",
    path: "/api/v1/ikev2/import_ca_rsa",
    body: "ca_cert=x&ca_key=y",
    status: 409,
    error: "The root certificate is already in the system",
  },
  {
    what: "server certificate without domain or IP",
    method: "PUT",
    path: "/api/v1/ikev2/generate_server_rsa",
    body: "server_organization=Org",
    status: 400,
    error: "Common Name must be filled",
  },
  {
    what: "server certificate with a bad domain",
    method: "PUT",
    path: "/api/v1/ikev2/generate_server_rsa",
    body: "server_domain=-x-.",
    status: 400,
    error: "Certificate failed",
  },
  {
    what: "server certificate with a bad IP",
    method: "PUT",
    path: "/api/v1/ikev2/generate_server_rsa",
    body: "server_ip=1.2.3",
    status: 400,
    error: "Wrong IP format",
  },
];

/** Sentences of the pages no request can cause on a healthy installation (see the report). */
const UNREACHABLE = new Set(["PUQVPNCP status not OK"]);

describe.each(TRANSPORTS)("every documented error through HTTP, with its status, changing nothing (%s)", (kind: TransportKind) => {
  let h: Harness;
  const seen = new Set<string>();
  beforeAll(async () => {
    h = await startHarness(kind);
    await seedPages(h);
    await h.vpncp.servers.update("77_87_125_209", { listenPort: "51926" });
    await h.vpncp.servers.create({ name: "second", address: "10.0.120.1/24" });
  });
  afterAll(async () => {
    await h?.close();
  });

  for (const c of CASES) {
    test(`${c.what}: ${c.method} ${c.path} → ${c.status} ${c.error}`, async () => {
      await c.given?.(h);
      const before = await snapshot(h);
      const result = await h.api(c.method, c.path, c.body);
      expect(result.body).toEqual({ error: c.error, msg: "", status: "error" });
      expect(result.status).toBe(c.status);
      expect(result.headers.get("content-type")).toMatch(/^application\/json/);
      expect(await snapshot(h)).toEqual(before);
      seen.add(c.error);
    });
  }

  test("the account limit: ADD past it is refused with 403, and counts stay", async () => {
    const limited = await startHarness(kind, { accountLimit: 2 });
    try {
      await seedPages(limited);
      const status = await limited.api<{ count_accounts: number; count_accounts_available: number }>("GET", "/api/v1/system/status");
      expect(status.body.msg).toMatchObject({ count_accounts: 2, count_accounts_available: 2 });
      const before = await snapshot(limited);
      const result = await limited.api("POST", "/api/v1/account", "wg_name=77_87_125_209");
      expect([result.status, result.body]).toEqual([403, { error: "VPN account limit exceeded", msg: "", status: "error" }]);
      expect(await snapshot(limited)).toEqual(before);
      seen.add("VPN account limit exceeded");
    } finally {
      await limited.close();
    }
  });

  describe("Not authorized", () => {
    const routes = () =>
      appRoutes(h.app)
        .filter((r) => r.route.startsWith("/api/") && r.route !== "/api/v1/openapi.json")
        .map((r) => ({
          method: r.method,
          path: r.route
            .replace(":name", r.route.startsWith("/api/v1/wireguard") ? "77_87_125_209" : "peer_10")
            .replace(":year", "2022")
            .replace(":month", "11"),
        }));

    test("the app has routes to check", () => {
      expect(routes().length).toBeGreaterThan(40);
    });

    for (const [what, cookie] of [
      ["without the cookie", undefined],
      ["with an unknown hash", `access_hash=${"0".repeat(80)}`],
      ["with the hash in capitals", "UPPER"],
      ["with a hash one character short", "SHORT"],
      ["with the hash under another cookie name", "OTHERNAME"],
      ["with an empty cookie", "access_hash="],
    ] as const) {
      test(`every /api/ route ${what} is 401 Not authorized and changes nothing`, async () => {
        const value =
          cookie === "UPPER"
            ? `access_hash=${h.hash.toUpperCase()}`
            : cookie === "SHORT"
              ? `access_hash=${h.hash.slice(1)}`
              : cookie === "OTHERNAME"
                ? `hash=${h.hash}`
                : cookie;
        const before = await snapshot(h);
        for (const route of routes()) {
          const headers: Record<string, string> = { "content-type": "application/x-www-form-urlencoded" };
          if (value !== undefined) headers.cookie = value;
          const hasBody = route.method === "POST" || route.method === "PUT";
          const response = await h.fetch(route.path, {
            method: route.method,
            headers,
            body: hasBody ? "name=x&status=disable" : undefined,
          });
          expect([route.method, route.path, response.status, await response.json()]).toEqual([
            route.method,
            route.path,
            401,
            { error: "Not authorized", msg: "", status: "error" },
          ]);
        }
        expect(await snapshot(h)).toEqual(before);
        seen.add("Not authorized");
      });
    }

    test("a hash bound to another client address is Not authorized; bound to this one it works", async () => {
      const other = await h.vpncp.accessHashes.create({ ip: "127.0.0.2" });
      const refused = await h.fetch("/api/v1/system/status", { headers: { cookie: `access_hash=${other.hash}` } });
      expect([refused.status, await refused.json()]).toEqual([401, { error: "Not authorized", msg: "", status: "error" }]);
      const mine = await h.vpncp.accessHashes.create({ ip: "127.0.0.1" });
      const response = await h.fetch("/api/v1/system/status", { headers: { cookie: `access_hash=${mine.hash}` } });
      // in-process there is no client address: a bound hash fails closed
      expect(response.status).toBe(kind === "node-server" ? 200 : 401);
    });

    test("X-Forwarded-For does not move a client to the address a hash is bound to", async () => {
      const bound = await h.vpncp.accessHashes.create({ ip: "192.0.2.44" });
      const response = await h.fetch("/api/v1/system/status", {
        headers: {
          cookie: `access_hash=${bound.hash}`,
          "x-forwarded-for": "192.0.2.44",
          "x-real-ip": "192.0.2.44",
          forwarded: "for=192.0.2.44",
        },
      });
      expect([response.status, await response.json()]).toEqual([401, { error: "Not authorized", msg: "", status: "error" }]);
    });

    test.runIf(kind === "node-server")("a hash bound to 127.0.0.1 works on a dual-stack socket (::ffff:127.0.0.1)", async () => {
      const server = createServer(toNodeHandler(h.app));
      const listening = await new Promise<boolean>((resolve) => {
        server.once("error", () => resolve(false));
        server.listen(0, "::", () => resolve(true));
      });
      if (!listening) {
        console.log("skipped: this machine cannot listen on ::");
        return;
      }
      try {
        const { port } = server.address() as AddressInfo;
        const bound = await h.vpncp.accessHashes.create({ ip: "127.0.0.1" });
        const response = await fetch(`http://127.0.0.1:${port}/api/v1/system/status`, { headers: { cookie: `access_hash=${bound.hash}` } });
        expect(response.status).toBe(200);
        const other = await h.vpncp.accessHashes.create({ ip: "127.0.0.2" });
        const refused = await fetch(`http://127.0.0.1:${port}/api/v1/system/status`, { headers: { cookie: `access_hash=${other.hash}` } });
        expect(refused.status).toBe(401);
      } finally {
        server.closeAllConnections();
        await new Promise<void>((resolve) => server.close(() => resolve()));
      }
    });

    test("the cookie among others is read", async () => {
      const response = await h.fetch("/api/v1/system/status", { headers: { cookie: `a=1; access_hash=${h.hash}; b=2` } });
      expect(response.status).toBe(200);
    });
  });

  test("every documented sentence was answered by some request above", () => {
    const missing = DOCUMENTED.filter((sentence) => !seen.has(sentence) && !UNREACHABLE.has(sentence));
    expect(missing).toEqual([]);
    expect(DOCUMENTED.length).toBeGreaterThan(35);
  });
});
