/**
 * Issue 8 point 4 (bad input): more than 10,000 malformed requests over every route of the
 * API, in-process (app.fetch is the fastest way through the real request path). Each gets an
 * answer below 500 in the envelope, its error is one of the documented sentences (and the
 * exact one where a field is wrong), and a refused request changes nothing: storage, the
 * services' records and the fake drivers' state are compared before and after each one.
 * Seeded: a failure names its seed and request, and the same seed replays it.
 */
import { ERRORS } from "@vpncp/core";
import { afterAll, beforeAll, describe, expect, test, vi } from "vitest";
import { openApiDocument } from "../../src/openapi.js";
import { appRoutes, type Harness, seedPages, startHarness } from "../harness.js";
import { mulberry32 } from "../support/prng.js";
import { fakeDriverState } from "./state.js";

const DOCUMENTED = new Set<string>(Object.values(ERRORS).map((e) => e.message));
const ENVELOPE_KEYS = ["error", "msg", "status"];
const SEED = 20_260_808;

/** Names with shell, nft, config and path metacharacters; unicode; too long. None is a valid name. */
const HOSTILE_NAMES = [
  "a b",
  "a;b",
  "$(reboot)",
  "`id`",
  "a|b",
  "a&&b",
  "a>b",
  'x"y',
  "x'y",
  "{}",
  "a}b",
  "a{b",
  "a\nb",
  "a\rb",
  "a\tb",
  "ä",
  "😀",
  "../x",
  "a/b",
  "a.b",
  "x".repeat(65),
  "a\u0000b",
  "#x",
  "name=x",
  "a,b",
  "@x",
  "a:b",
  "a*",
  "a\\b",
  "[Peer]",
  "a%b",
  "\u202eabc",
  "a\u00a0b",
  "ﬁ",
  "ａｂ",
];
/** Passwords the pages refuse (space, quotes, backslash, control characters, non-ASCII, too long). */
const HOSTILE_PASSWORDS = [
  "a b",
  'a"b',
  "a'b",
  "a\\b",
  "a\nb",
  "a\rb",
  "pw\n[Peer]",
  "x".repeat(129),
  "ä",
  "😀",
  "a\u0000b",
  "\tx",
  " x",
  "x ",
  "a\u007fb",
  "a\u00a0b",
];
const BAD_IPV4 = [
  "10.0.110.0/24",
  "256.1.1.1",
  "10.0.110.5/33",
  "10.0.110.5/31",
  "1.2.3",
  "abc",
  "10.0.110.5;flush ruleset",
  "fd00::1",
  "10.0.110.5 10.0.110.6",
  "10.0.110.5,10.0.110.6",
  "10.0.110.5\n10.0.110.6",
  "0x0a.0.110.5",
  "10.0.110.-5",
  "10.0.110.5/",
  "/32",
  "10.0.110.5/32/32",
  "１０.0.110.5",
  "10.0.110.5%eth0",
];
const BAD_IPV6 = ["fd00::1::2", "gggg::1", "10.0.110.5", "fd00::/64", "fd00::1/129", "fd00::1;x", ":::", "fd00::1\nx", "fd00::1%eth0"];
const BAD_INTEGERS = ["-1", "10001", "1e3", "0x10", "1.5", "abc", "99999999999999999999", "5 5", "5;", "NaN", "Infinity", "１", "+-1"];
const BAD_KEYS = [
  "abc",
  "A".repeat(44),
  Buffer.alloc(31, 1).toString("base64"),
  Buffer.alloc(33, 1).toString("base64"),
  "kC8n0NGFxwqvwIfI8xJg2ZzRtp950ltC4ugPHlPxsm0=\n[Peer]",
  "kC8n0NGFxwqvwIfI8xJg2ZzRtp950ltC4ugPHlPxsm0=;x",
  "kC8n0NGFxwqvwIfI8xJg2ZzRtp950ltC4ugPHlPxsm0=kC8n",
  "$(wg genkey)",
  "-----BEGIN PRIVATE KEY-----",
  "ä".repeat(44),
];
const BAD_STATUS = ["enabled", "ENABLE", "1", "true", "on", "enable;", "enable\ndisable", "dis able", "😀"];
const BAD_BOOLEANS = ["maybe", "2", "-1", "yes please", "t", "truee", "ja", "1;", "0\n1"];
const BAD_HOSTS = ["a b", "x;y", "host\n[Interface]", "-a.com", "a..b", "a_b.com", "😀.com", "x".repeat(254), "1.2.3.4:51820", "http://x"];
const BAD_CIDR_LISTS = [
  "0.0.0.0/0\n[Peer]",
  "1.2.3.4/33",
  "abc",
  "0.0.0.0/0;",
  "0.0.0.0/0 ::/0 x",
  "10.0.0.0/8\nPostUp = id",
  "0.0.0.0/0,x",
];

interface Case {
  readonly method: string;
  readonly path: string;
  /** Form fields (sent form-encoded or as JSON at random) or a raw body with its content type. */
  readonly fields?: Record<string, string>;
  readonly raw?: { body: string; type: string };
  /** The documented sentence this request must get. */
  readonly expected: string;
}

const E = (code: keyof typeof ERRORS) => ERRORS[code].message;
/** A form no writing route accepts (a wrong value for each route's first checked field). */
const BAD_FORM =
  "status=bogus&wg_name=nowhere&b_download=abc&b_upload=abc&traffic_statistics_frequency=0&lifetime=0&enabled=maybe&mtu=1&ca_common_name=&server_ip=x y";
const ACCOUNT = "/api/v1/account";
const SERVER = "77_87_125_209";

/** One request per (field, bad value) with the sentence the pages document for it. */
function targetedCases(): Case[] {
  const cases: Case[] = [];
  const create = (fields: Record<string, string>, expected: string) =>
    cases.push({ method: "POST", path: ACCOUNT, fields: { wg_name: SERVER, ...fields }, expected });
  const edit = (fields: Record<string, string>, expected: string) =>
    cases.push({ method: "PUT", path: `${ACCOUNT}/peer_10`, fields, expected });
  const server = (method: "POST" | "PUT", fields: Record<string, string>, expected: string) =>
    cases.push({ method, path: method === "POST" ? "/api/v1/wireguard" : `/api/v1/wireguard/${SERVER}`, fields, expected });

  for (const v of HOSTILE_NAMES) {
    create({ name: v }, E("WRONG_NAME"));
    create({ username: v }, E("WRONG_USERNAME"));
    edit({ username: v }, E("WRONG_USERNAME"));
    create({ wg_name: v }, E("SERVER_NOT_VALID"));
    server("POST", { name: v }, E("WRONG_NAME"));
  }
  for (const v of HOSTILE_PASSWORDS) {
    create({ password: v }, E("WRONG_PASSWORD"));
    edit({ password: v }, E("WRONG_PASSWORD"));
  }
  for (const v of BAD_IPV4) {
    create({ allowed_IPs: v }, E("WRONG_IP"));
    edit({ allowed_IPs: v }, E("WRONG_EXTERNAL_IP"));
    // an external IP may be IPv6
    if (!v.includes(":") || v.includes(";")) server("POST", { external_ip: v }, E("WRONG_EXTERNAL_IP"));
    server("PUT", { dns_1: v }, E("WRONG_DNS1"));
    server("PUT", { dns_2: v }, E("WRONG_DNS2"));
  }
  for (const v of BAD_IPV6) {
    create({ allowed_IPs_ipv6: v }, E("WRONG_IPV6"));
    server("PUT", { dns_1_ipv6: v }, E("WRONG_DNS1_IPV6"));
    server("PUT", { dns_2_ipv6: v }, E("WRONG_DNS2_IPV6"));
  }
  for (const v of BAD_INTEGERS) {
    create({ b_download: v }, E("WRONG_DOWNLOAD"));
    create({ b_upload: v }, E("WRONG_UPLOAD"));
    edit({ b_download: v }, E("WRONG_DOWNLOAD"));
    edit({ b_upload: v }, E("WRONG_UPLOAD"));
    server("PUT", { mtu: v }, E("WRONG_MTU"));
    if (v !== "10001") server("POST", { listen_port: v }, E("WRONG_PORT"));
    cases.push({
      method: "PUT",
      path: `/api/v1/wireguard/${SERVER}/set_bandwidth`,
      fields: { b_download: v },
      expected: E("WRONG_DOWNLOAD"),
    });
    if (v !== "10001") {
      cases.push({
        method: "PUT",
        path: "/api/v1/system/config",
        fields: { traffic_statistics_frequency: v },
        expected: E("WRONG_FREQUENCY"),
      });
      cases.push({ method: "PUT", path: "/api/v1/system/config", fields: { traffic_statistics_history: v }, expected: E("WRONG_HISTORY") });
    }
    cases.push({
      method: "PUT",
      path: "/api/v1/system/config",
      fields: { wireguard_handshake_uptime: v },
      expected: E("WRONG_HANDSHAKE_UPTIME"),
    });
    cases.push({ method: "PUT", path: "/api/v1/otl/config", fields: { lifetime: v }, expected: E("WRONG_OTL_LIFETIME") });
  }
  for (const v of ["1279", "9001", "0x500"]) server("PUT", { mtu: v }, E("WRONG_MTU"));
  for (const v of ["65536", "-1", "70000", "abc"]) {
    server("PUT", { keep_alive: v }, E("WRONG_KEEP_ALIVE"));
    server("POST", { listen_port: v }, E("WRONG_PORT"));
  }
  for (const v of BAD_KEYS) {
    create({ private_key: v }, E("KEYS_INVALID"));
    create({ public_key: v }, E("KEYS_INVALID"));
    edit({ private_key: v }, E("KEYS_INVALID"));
    edit({ public_key: v }, E("KEYS_INVALID"));
  }
  for (const v of BAD_STATUS) {
    create({ status: v }, E("WRONG_STATUS"));
    edit({ status: v }, E("WRONG_STATUS"));
  }
  for (const v of BAD_BOOLEANS) {
    server("PUT", { internal_traffic: v }, E("WRONG_BOOLEAN"));
    server("PUT", { ikev2: v }, E("WRONG_BOOLEAN"));
    server("POST", { ipv6: v }, E("WRONG_BOOLEAN"));
  }
  for (const v of BAD_HOSTS) server("PUT", { endpoint: v }, E("WRONG_ENDPOINT"));
  for (const v of BAD_CIDR_LISTS) server("PUT", { allowed_ips: v }, E("WRONG_ALLOWED_IPS"));
  for (const v of [...HOSTILE_NAMES.filter((n) => !n.includes("/")), "eth0", "wg", "wg-1", "wg0;x", "wg12345678901234", "lo", "WG1"]) {
    server("POST", { interface_name: v }, E("WRONG_INTERFACE"));
  }
  for (const [year, month, expected] of [
    ["2022", "13", "WRONG_MONTH"],
    ["2022", "0", "WRONG_MONTH"],
    ["2022", "abc", "WRONG_MONTH"],
    ["abc", "11", "WRONG_YEAR"],
    ["-1", "11", "WRONG_YEAR"],
    ["99999", "11", "WRONG_YEAR"],
  ] as const) {
    cases.push({ method: "GET", path: `${ACCOUNT}/peer_10/traffic_statistics/${year}/${month}`, expected: E(expected) });
  }
  for (const v of HOSTILE_NAMES) {
    const segment = encodeURIComponent(v);
    for (const tail of [
      "",
      "/config_text",
      "/config_qr",
      "/dump",
      "/traffic_control",
      "/firewall_mangle_rules",
      "/otl",
      "/ikev2_profile",
    ]) {
      cases.push({ method: "GET", path: `${ACCOUNT}/${segment}${tail}`, expected: E("ACCOUNT_NOT_FOUND") });
    }
    cases.push({ method: "PUT", path: `${ACCOUNT}/${segment}`, fields: { status: "disable" }, expected: E("ACCOUNT_NOT_FOUND") });
    cases.push({ method: "DELETE", path: `${ACCOUNT}/${segment}`, expected: E("ACCOUNT_NOT_FOUND") });
    cases.push({ method: "DELETE", path: `/api/v1/ikev2/online/${segment}`, expected: E("ACCOUNT_NOT_FOUND") });
    for (const tail of ["", "/peers", "/available_ips", "/dump", "/traffic_control", "/firewall_nat_rules", "/firewall_filter_rules"]) {
      cases.push({ method: "GET", path: `/api/v1/wireguard/${segment}${tail}`, expected: E("SERVER_NOT_FOUND") });
    }
    cases.push({ method: "DELETE", path: `/api/v1/wireguard/${segment}`, expected: E("SERVER_NOT_FOUND") });
  }
  // bodies that are not a form of scalars
  // a field the route reads, given as an array, an object, or in a body that is not a form at all
  for (const [method, path, read] of [
    ["POST", ACCOUNT, "name"],
    ["PUT", `${ACCOUNT}/peer_10`, "status"],
    ["POST", "/api/v1/wireguard", "name"],
    ["PUT", `/api/v1/wireguard/${SERVER}`, "mtu"],
    ["PUT", "/api/v1/system/config", "traffic_statistics_frequency"],
    ["PUT", "/api/v1/otl/config", "lifetime"],
  ] as const) {
    for (const raw of [
      { body: "{bad json", type: "application/json" },
      { body: "[1,2]", type: "application/json" },
      { body: "null", type: "application/json" },
      { body: '"x"', type: "application/json" },
      { body: JSON.stringify({ wg_name: SERVER, [read]: ["5"] }), type: "application/json" },
      { body: JSON.stringify({ wg_name: SERVER, [read]: { toString: "5" } }), type: "application/json" },
      { body: JSON.stringify({ wg_name: SERVER, [read]: [] }), type: "application/json" },
      { body: `{"wg_name": "77_87_125_209", "${read}": "5"`, type: "application/json" },
      { body: "[{}]", type: "text/plain" },
      { body: "--x\r\nbroken", type: "multipart/form-data; boundary=x" },
    ]) {
      cases.push({ method, path, raw, expected: E("MALFORMED_BODY") });
    }
  }
  return cases;
}

/** Path tricks: none reaches a handler other than through its own route, none is a 5xx. */
const PATH_TRICKS = [
  "/api/v1/../v1/account",
  "/api/v1/account/../account",
  "/api/v1/%2e%2e/v1/account",
  "/api/v1/account/%2e%2e",
  "/api/v1/account/%2e%2e%2f%2e%2e%2fetc%2fpasswd",
  "/api/v1/account/..%2fwireguard",
  "/api/v1/account/peer_10%2f..%2f..",
  "/api/v1/account/peer_10/../../system/reload",
  "/api/v1/account/%00",
  "/api/v1/account/peer_10%00",
  "/api/v1/account/%ff",
  "/api/v1/account/%",
  "/api/v1/account/%zz",
  "/api/v1/account/%C0%AE%C0%AE",
  "/api/v1/./account",
  "/api/v1//account//peer_10",
  "/api/v1/account/peer_10;status=disable",
  "/api/v1/account/peer_10/config_text/..",
  "/api/v1/wireguard/..%2f..%2f..%2fetc%2fshadow/dump",
  "/api/v1/wireguard/%2e%2e/peers",
  "/otl/..%2f..%2fapi%2fv1%2faccount",
  "/otl/%2e%2e",
  "/otl/",
  "/otl/x".padEnd(3000, "x"),
  `/api/v1/account/${"a".repeat(10_000)}`,
  "/api/v1/account/\u00e4",
  "/api/v1/account/peer_10#fragment",
  "/api/v1/system/status/../reload",
  "/metrics/../api/v1/account",
  "/api/v1/openapi.json/..",
];

function serialize(fields: Record<string, string>, random: () => number): { body: string; type: string } {
  const r = random();
  if (r < 0.5) return { body: new URLSearchParams(fields).toString(), type: "application/x-www-form-urlencoded" };
  if (r < 0.8) return { body: JSON.stringify(fields), type: "application/json" };
  // curl -F: multipart
  const boundary = "vpncpfuzz";
  const parts = Object.entries(fields).map(([k, v]) => `--${boundary}\r\nContent-Disposition: form-data; name="${k}"\r\n\r\n${v}\r\n`);
  return { body: `${parts.join("")}--${boundary}--\r\n`, type: `multipart/form-data; boundary=${boundary}` };
}

describe("fuzz: 10,000+ malformed requests over every route (in-process)", () => {
  let h: Harness;
  let sent = 0;
  const consoleErrors = vi.spyOn(console, "error");

  /** Everything a request could change: the stored records, what the services hold, what the drivers hold. */
  async function state(options: { statistics?: boolean } = {}): Promise<string> {
    const keys = (await h.vpncp.storage.getKeys()).filter((k) => options.statistics !== false || !k.startsWith("stats:")).sort();
    const items = await h.vpncp.storage.getItems(keys);
    return JSON.stringify({
      storage: items,
      accounts: h.vpncp.accounts.list(),
      servers: h.vpncp.servers.list(),
      drivers: fakeDriverState(h.drivers),
    });
  }

  /** Equal states, or the first record that differs (the whole state is too long to print). */
  function expectSameState(after: string, before: string, where: string): void {
    if (after === before) return;
    const a = JSON.parse(after) as Record<string, unknown>;
    const b = JSON.parse(before) as Record<string, unknown>;
    const part = Object.keys(b).find((k) => JSON.stringify(a[k]) !== JSON.stringify(b[k])) ?? "?";
    const list = (x: unknown) => (Array.isArray(x) ? x.map((i) => JSON.stringify(i)) : [JSON.stringify(x)]);
    const added = list(a[part]).filter((i) => !list(b[part]).includes(i));
    const removed = list(b[part]).filter((i) => !list(a[part]).includes(i));
    expect.fail(`${where} changed ${part}: +${added.slice(0, 2).join(" ").slice(0, 400)} -${removed.slice(0, 2).join(" ").slice(0, 400)}`);
  }

  async function send(
    method: string,
    path: string,
    body?: string,
    type?: string,
    cookie = true,
  ): Promise<{ status: number; text: string }> {
    const headers: Record<string, string> = cookie ? { cookie: `access_hash=${h.hash}` } : {};
    if (type) headers["content-type"] = type;
    const response = await h.fetch(path, { method, headers, body: method === "GET" || method === "HEAD" ? undefined : body });
    sent += 1;
    return { status: response.status, text: await response.text() };
  }

  /** The envelope of an error: status 4xx, a documented sentence, nothing else. */
  function expectRefusal(where: string, status: number, text: string): string {
    expect(status, where).toBeGreaterThanOrEqual(400);
    expect(status, where).toBeLessThan(500);
    expect(text, where).not.toMatch(/\n\s+at |\.ts:\d+|node_modules/);
    const parsed = JSON.parse(text) as Record<string, unknown>;
    expect(Object.keys(parsed).sort(), where).toEqual(ENVELOPE_KEYS);
    expect([parsed.status, parsed.msg], where).toEqual(["error", ""]);
    expect(DOCUMENTED.has(String(parsed.error)), `${where}: ${String(parsed.error)}`).toBe(true);
    return String(parsed.error);
  }

  beforeAll(async () => {
    h = await startHarness("in-process");
    await seedPages(h);
    consoleErrors.mockClear();
  });
  afterAll(async () => {
    await h?.close();
    // h3 prints unhandled errors to stderr; the app never lets one through
    expect(consoleErrors).not.toHaveBeenCalled();
    expect(sent, "requests sent").toBeGreaterThanOrEqual(10_000);
    console.log(`[fuzz] ${sent} requests, none answered 5xx`);
  });

  test(`targeted: each bad field value gets its documented sentence and changes nothing (seed ${SEED})`, async () => {
    const random = mulberry32(SEED);
    const cases = targetedCases();
    const mismatches: string[] = [];
    const before = await state();
    // each case twice: once form-encoded/JSON/multipart at random, once again with another encoding
    for (let round = 0; round < 3; round += 1) {
      for (const c of cases) {
        const { body, type } = c.raw ?? (c.fields ? serialize(c.fields, random) : { body: undefined, type: undefined });
        const where = `${c.method} ${c.path.slice(0, 80)} ${JSON.stringify(body?.slice(0, 100))} (${type})`;
        const { status, text } = await send(c.method, c.path, body, type);
        const error = status >= 400 ? expectRefusal(where, status, text) : `accepted (${status})`;
        if (error !== c.expected) mismatches.push(`${where}: got "${error}", expected "${c.expected}"`);
      }
    }
    expect([...new Set(mismatches)]).toEqual([]);
    expectSameState(await state(), before, "this test");
  });

  test("path tricks, wrong methods and requests without the cookie on every route change nothing", async () => {
    // PUT /api/v1/account/peer_10/../../system/reload is a reload once the URL is parsed: it samples the statistics
    const before = await state({ statistics: false });
    const routes = appRoutes(h.app);
    const known = new Map<string, Set<string>>();
    for (const { method, route } of routes) known.set(route, (known.get(route) ?? new Set()).add(method));
    const concrete = (route: string) =>
      route
        .replace(":name", route.startsWith("/api/v1/wireguard") ? SERVER : "peer_10")
        .replace(":year", "2022")
        .replace(":month", "11")
        .replace(":key", "nosuchkey");
    for (let round = 0; round < 6; round += 1) {
      for (const [route, methods] of known) {
        for (const method of ["GET", "POST", "PUT", "DELETE", "PATCH"]) {
          if (methods.has(method)) continue;
          const { status, text } = await send(method, concrete(route), "status=disable", "application/x-www-form-urlencoded");
          expect([method, route, status, expectRefusal(`${method} ${route}`, status, text)]).toEqual([
            method,
            route,
            405,
            E("METHOD_NOT_ALLOWED"),
          ]);
        }
        // every /api/ route refuses a request without the access hash, whatever the method
        if (route.startsWith("/api/") && route !== "/api/v1/openapi.json") {
          for (const method of methods) {
            const { status, text } = await send(method, concrete(route), "status=disable", "application/x-www-form-urlencoded", false);
            expect([method, route, status, expectRefusal(`${method} ${route}`, status, text)]).toEqual([
              method,
              route,
              401,
              E("NOT_AUTHORIZED"),
            ]);
          }
        }
      }
      // (a trick the URL parser resolves to a real route reaches it as that route would: the bodies are ones every route refuses)
      for (const path of PATH_TRICKS) {
        for (const method of ["GET", "PUT", "POST", "PATCH", "OPTIONS"]) {
          const { status, text } = await send(method, path, BAD_FORM, "application/x-www-form-urlencoded");
          expect(status, `${method} ${path.slice(0, 80)}`).toBeLessThan(500);
          // the one-time page answers HTML; everything else the envelope
          if (status >= 400 && !path.startsWith("/otl/")) expectRefusal(`${method} ${path.slice(0, 80)}`, status, text);
        }
      }
    }
    expectSameState(await state({ statistics: false }), before, "this test");
  });

  test("duplicate form fields: the last one counts, and a bad last one is refused with its sentence", async () => {
    const before = await state();
    for (let i = 0; i < 100; i += 1) {
      for (const [body, expected] of [
        ["status=enable&status=bogus", "WRONG_STATUS"],
        ["b_download=5&b_download=abc", "WRONG_DOWNLOAD"],
        ["password=ok-pw&password=bad pw", "WRONG_PASSWORD"],
        ["username=ok_user&username=bad;user", "WRONG_USERNAME"],
        ["private_key=&private_key=xyz", "KEYS_INVALID"],
      ] as const) {
        const { status, text } = await send("PUT", `${ACCOUNT}/peer_10`, body, "application/x-www-form-urlencoded");
        expect([body, expectRefusal(body, status, text)]).toEqual([body, E(expected)]);
      }
      const { status, text } = await send("POST", ACCOUNT, `wg_name=${SERVER}&wg_name=nowhere`, "application/x-www-form-urlencoded");
      expect(expectRefusal("wg_name twice", status, text)).toBe(E("SERVER_NOT_VALID"));
    }
    expectSameState(await state(), before, "this test");
    const good = await send("PUT", `${ACCOUNT}/peer_10`, "b_download=abc&b_download=7", "application/x-www-form-urlencoded");
    expect([good.status, (JSON.parse(good.text) as { msg: { b_download: string } }).msg.b_download]).toEqual([200, "7"]);
  });

  test("multi-megabyte bodies on every writing route get a 4xx envelope (Request body too large), never a 5xx", async () => {
    const writes = appRoutes(h.app).filter((r) => r.method === "POST" || r.method === "PUT");
    const paths = openApiDocument().paths as Record<string, Record<string, { requestBody?: unknown }>>;
    const takesBody = (method: string, route: string) => !!paths[route.replace(/:(\w+)/g, "{$1}")]?.[method.toLowerCase()]?.requestBody;
    // routes without a body first: they may act (PUT /system/config/default), just never fail with a 5xx
    writes.sort((a, b) => Number(takesBody(a.method, a.route)) - Number(takesBody(b.method, b.route)));
    let before = await state();
    for (const size of [1_100_000, 3 * 1024 * 1024]) {
      for (const { method, route } of writes) {
        const path = route.replace(":name", route.startsWith("/api/v1/wireguard") ? SERVER : "peer_10").replace(":key", "nosuchkey");
        for (const [body, type] of [
          [`wg_name=${SERVER}&name=${"x".repeat(size)}`, "application/x-www-form-urlencoded"],
          [JSON.stringify({ wg_name: SERVER, password: "p".repeat(size) }), "application/json"],
        ] as const) {
          const { status, text } = await send(method, path, body, type);
          const where = `${method} ${path} ${size} bytes`;
          if (!takesBody(method, route)) {
            // a route without a body never reads one (PUT /system/reload): it answers as without it, never a 5xx
            expect(status, where).toBeLessThan(500);
            before = await state();
            continue;
          }
          expect([where, expectRefusal(where, status, text)]).toEqual([where, E("BODY_TOO_LARGE")]);
        }
      }
    }
    expectSameState(await state(), before, "this test");
  });

  test(`random methods, routes, fields and bodies (seed ${SEED}); refusals change nothing`, async () => {
    const random = mulberry32(SEED + 1);
    const pick = <T>(list: readonly T[]): T => list[Math.floor(random() * list.length)]!;
    const routes = appRoutes(h.app).map((r) => r.route);
    const fields = [
      "wg_name",
      "allowed_IPs",
      "allowed_IPs_ipv6",
      "b_download",
      "b_upload",
      "name",
      "password",
      "private_key",
      "public_key",
      "status",
      "username",
      "interface_name",
      "listen_port",
      "address",
      "address_ipv6",
      "external_ip",
      "endpoint",
      "dns_1",
      "dns_2",
      "mtu",
      "keep_alive",
      "allowed_ips",
      "internal_traffic",
      "ikev2",
      "ipv6",
      "traffic_statistics_frequency",
      "traffic_statistics_history",
      "wireguard_handshake_uptime",
      "lifetime",
      "enabled",
      "ca_cert",
      "ca_key",
      "server_ip",
      "server_domain",
      "ca_common_name",
      "ca_organization",
    ];
    const values = [
      ...HOSTILE_NAMES,
      ...HOSTILE_PASSWORDS,
      ...BAD_IPV4,
      ...BAD_IPV6,
      ...BAD_INTEGERS,
      ...BAD_KEYS,
      ...BAD_HOSTS,
      ...BAD_CIDR_LISTS,
      "",
      " ",
      "0",
      "1",
      "enable",
      SERVER,
      "peer_10",
      "x".repeat(100_000),
    ];
    const segments = ["peer_10", "ruslan_telefon", SERVER, "nobody", "%25", "%2F", "..", "%2e%2e", "%00", "a%20b", "2022", "13", "", "😀"];
    let refused = 0;
    let current = await state();
    for (let i = 0; i < 4_000; i += 1) {
      let path = pick(routes).replace(/:\w+/g, () => pick(segments));
      if (random() < 0.1) path += `/${pick(segments)}`;
      if (random() < 0.1) path += `?${pick(fields)}=${encodeURIComponent(pick(values))}`;
      const method = pick(["GET", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "HEAD"]);
      let body: string | undefined;
      let type: string | undefined;
      if (method !== "GET" && method !== "HEAD") {
        const form: Record<string, string> = {};
        for (let n = Math.floor(random() * 4); n >= 0; n -= 1) form[pick(fields)] = pick(values);
        if (random() < 0.8) ({ body, type } = serialize(form, random));
        else body = Array.from({ length: Math.floor(random() * 300) }, () => String.fromCharCode(Math.floor(random() * 0xffff))).join("");
      }
      const where = `#${i} ${method} ${path.slice(0, 100)} ${JSON.stringify(body?.slice(0, 120) ?? "")}`;
      const { status, text } = await send(method, path, body, type);
      expect(status, where).toBeLessThan(500);
      expect(text, where).not.toMatch(/\n\s+at |\.ts:\d+|node_modules/);
      const after = await state();
      if (status >= 400) {
        refused += 1;
        if (!path.startsWith("/otl/") && method !== "HEAD") expectRefusal(where, status, text);
        // a refused request changed nothing (a GET of /otl/KEY that is not a link is refused too)
        expectSameState(after, current, where);
      }
      current = after;
    }
    // the generator makes mostly bad requests: most are refused
    expect(refused).toBeGreaterThan(3_000);
  });
});
