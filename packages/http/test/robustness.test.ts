import { connect } from "node:net";
import { afterAll, afterEach, beforeAll, describe, expect, test, vi } from "vitest";
import { appRoutes, type Harness, seedPages, snapshot, startHarness, TRANSPORTS, type TransportKind } from "./harness.js";
import { mulberry32 } from "./support/prng.js";

const ENVELOPE_KEYS = ["error", "msg", "status"];

describe.each(TRANSPORTS)("bad requests get an envelope with a 4xx, never a 500 (%s)", (kind: TransportKind) => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness(kind);
    await seedPages(h);
  });
  afterAll(async () => {
    await h?.close();
  });

  test("an unknown path is 404 Not found, with or without /api/", async () => {
    for (const path of [
      "/api/v1/nothing",
      "/api/v2/account",
      "/nothing",
      "/",
      "/api/v1/account/peer_10/nothing",
      "/api/v1/wireguard/a/b/c",
    ]) {
      const r = await h.api(path === "/" ? "GET" : "GET", path);
      expect([path, r.status, r.body]).toEqual([path, 404, { error: "Not found", msg: "", status: "error" }]);
    }
  });

  test("an unknown /api/ path without the cookie is Not authorized (nothing is told about what exists)", async () => {
    const r = await h.fetch("/api/v1/nothing");
    expect([r.status, await r.json()]).toEqual([401, { error: "Not authorized", msg: "", status: "error" }]);
  });

  test("a wrong method on a known path is 405 with Allow", async () => {
    for (const [method, path, allow] of [
      ["PATCH", "/api/v1/account/peer_10", "GET, PUT, DELETE"],
      ["DELETE", "/api/v1/account", "GET, POST"],
      ["POST", "/api/v1/system/status", "GET"],
      ["GET", "/api/v1/system/reload", "PUT"],
      ["POST", "/api/v1/account/peer_10/config_text", "GET"],
      ["PUT", "/api/v1/ikev2/delete_ca_rsa", "DELETE"],
      ["DELETE", "/api/v1/wireguard/77_87_125_209/set_bandwidth", "PUT"],
    ] as const) {
      const r = await h.api(method, path);
      expect([method, path, r.status, r.body]).toEqual([method, path, 405, { error: "Method not allowed", msg: "", status: "error" }]);
      expect(r.headers.get("allow")?.split(/,\s*/).sort()).toEqual(allow.split(", ").sort());
    }
  });

  test("malformed JSON and JSON that is not an object are 400 Malformed request body, a huge body 413, changing nothing", async () => {
    const before = await snapshot(h);
    const bodies: [string, string][] = [
      ["{bad json", "application/json"],
      ['{"wg_name": "77_87_125_209",', "application/json"],
      ["[1,2]", "application/json"],
      ['"a string"', "application/json"],
      ["42", "application/json"],
      ["null", "application/json"],
      ["[{}]", "text/plain"],
      [JSON.stringify({ wg_name: ["77_87_125_209"], name: ["x"], traffic_statistics_frequency: [1] }), "application/json"],
      [
        JSON.stringify({ wg_name: "77_87_125_209", name: { toString: 1 }, mtu: { a: 1 }, traffic_statistics_history: {} }),
        "application/json",
      ],
      [`wg_name=77_87_125_209&name=${"x".repeat(1_100_000)}`, "application/x-www-form-urlencoded"],
      [JSON.stringify({ wg_name: "77_87_125_209", password: "p".repeat(1_100_000) }), "application/json"],
    ];
    for (const [body, type] of bodies) {
      for (const [method, path] of [
        ["POST", "/api/v1/account"],
        ["PUT", "/api/v1/account/peer_10"],
        ["POST", "/api/v1/wireguard"],
        ["PUT", "/api/v1/system/config"],
      ] as const) {
        const r = await h.api(method, path, body, { "content-type": type });
        const huge = body.length > 1024 * 1024;
        expect([body.slice(0, 40), path, r.status, r.body]).toEqual([
          body.slice(0, 40),
          path,
          huge ? 413 : 400,
          { error: huge ? "Request body too large" : "Malformed request body", msg: "", status: "error" },
        ]);
      }
    }
    expect(await snapshot(h)).toEqual(before);
  });

  test("JSON bodies are accepted; numbers become the page's strings", async () => {
    const r = await h.api<Record<string, unknown>>("POST", "/api/v1/account", {
      wg_name: "77_87_125_209",
      name: "json_one",
      b_download: 5,
      b_upload: "6",
    });
    expect(r.status).toBe(200);
    expect(r.body.msg).toMatchObject({ name: "json_one", b_download: "5", b_upload: "6" });
    const status = await h.api("PUT", "/api/v1/account/json_one", { status: true });
    expect([status.status, status.body.error]).toEqual([400, "Wrong status (only enable or disable)"]);
    expect((await h.api("DELETE", "/api/v1/account/json_one")).body.msg).toBe("success");
  });

  test("a form body without a content type, or as text/plain, or multipart (curl -F), is read as a form", async () => {
    for (const [name, init] of [
      ["plain_one", { body: "wg_name=77_87_125_209&name=plain_one", headers: { "content-type": "text/plain" } }],
      ["bare_one", { body: new Blob(["wg_name=77_87_125_209&name=bare_one"]), headers: {} }],
      [
        "multi_one",
        {
          body: (() => {
            const fd = new FormData();
            fd.set("wg_name", "77_87_125_209");
            fd.set("name", "multi_one");
            return fd;
          })(),
          headers: {},
        },
      ],
    ] as const) {
      const r = await h.fetch("/api/v1/account", {
        method: "POST",
        body: init.body,
        headers: { cookie: `access_hash=${h.hash}`, ...init.headers },
      });
      const body = (await r.json()) as { msg: { name: string } };
      expect([name, r.status, body.msg.name]).toEqual([name, 200, name]);
      await h.api("DELETE", `/api/v1/account/${name}`);
    }
  });

  test("a repeated form key: the last one counts (as PHP reads a form), and only one account is made", async () => {
    const count = h.vpncp.accounts.count;
    const r = await h.api<Record<string, string>>(
      "POST",
      "/api/v1/account",
      "wg_name=77_87_125_209&name=first&name=second&status=disable&status=enable",
    );
    expect(r.status).toBe(200);
    expect(r.body.msg).toMatchObject({ name: "second", status: "enable" });
    expect(h.vpncp.accounts.count).toBe(count + 1);
    await h.api("DELETE", "/api/v1/account/second");
  });

  test("form values are URL-decoded once: + is a space in text, but base64 keys keep their +", async () => {
    const key = "kC8n0NGFxwqvwIfI8xJg2ZzRtp950ltC4ugPHlPxsm0=";
    // curl -d sends the key's "+" unencoded; the server cannot tell it from a space, and base64 has no spaces
    const r = await h.api<Record<string, string>>(
      "POST",
      "/api/v1/account",
      `wg_name=77_87_125_209&name=plus_one&private_key=${key}&password=a%26b%3Dc`,
    );
    expect(r.status).toBe(200);
    expect(r.body.msg).toMatchObject({ private_key: key, password: "a&b=c", public_key: "p3i2VHZRHwVk3uk+Yo4oKoeQ6gLF+jF33P+pnKai3iE=" });
    await h.api("DELETE", "/api/v1/account/plus_one");
  });

  test("names in the path are URL-decoded: %5F is _, and an encoded / is part of the name", async () => {
    const r = await h.api<Record<string, string>>("GET", "/api/v1/account/peer%5F10");
    expect([r.status, r.body.msg.name]).toEqual([200, "peer_10"]);
    const slash = await h.api("GET", "/api/v1/account/peer%2F10");
    expect([slash.status, slash.body.error]).toEqual([404, "Account not found"]);
    const server = await h.api<Record<string, string>>("GET", "/api/v1/wireguard/77%5F87%5F125%5F209/peers");
    expect(Object.keys(server.body.msg).sort()).toEqual(["peer_10", "ruslan_telefon"]);
    await h.api("POST", "/api/v1/account", "wg_name=77_87_125_209&name=with-dash");
    expect((await h.api("DELETE", "/api/v1/account/with%2Ddash")).body.msg).toBe("success");
  });

  test("a path with broken percent-encoding is a 400 envelope", async () => {
    for (const path of ["/api/v1/account/%E0%A4%A", "/api/v1/account/%ZZ", "/api/v1/account/peer_10%"]) {
      const r = await h.api("GET", path);
      expect(r.status).toBe(400);
      expect(Object.keys(r.body).sort()).toEqual(ENVELOPE_KEYS);
      expect(r.body.status).toBe("error");
    }
  });

  test("concurrent ADDs: one name wins, free addresses and marks are never given twice", async () => {
    const before = h.vpncp.accounts.count;
    const same = await Promise.all(Array.from({ length: 8 }, () => h.api("POST", "/api/v1/account", "wg_name=77_87_125_209&name=racer")));
    expect(same.map((r) => r.status).sort()).toEqual([200, 409, 409, 409, 409, 409, 409, 409]);
    expect(new Set(same.filter((r) => r.status === 409).map((r) => r.body.error))).toEqual(new Set(["The name is already in use"]));
    const many = await Promise.all(
      Array.from({ length: 12 }, () => h.api<Record<string, string>>("POST", "/api/v1/account", "wg_name=77_87_125_209")),
    );
    expect(many.map((r) => r.status)).toEqual(Array(12).fill(200));
    const made = many.map((r) => r.body.msg);
    for (const key of ["name", "username", "allowed_IPs", "mangle", "public_key"])
      expect(new Set(made.map((a) => a[key])).size, key).toBe(12);
    expect(h.vpncp.accounts.count).toBe(before + 13);
    await Promise.all([...made.map((a) => a.name), "racer"].map((name) => h.api("DELETE", `/api/v1/account/${name}`)));
    expect(h.vpncp.accounts.count).toBe(before);
  });

  test("a query string on POST is not a form", async () => {
    const post = await h.api("POST", "/api/v1/account?wg_name=77_87_125_209&name=q");
    expect([post.status, post.body.error]).toEqual([400, "Wireguard server not valid"]);
  });
});

const FIELDS = [
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
  "external_ip",
  "dns_1",
  "dns_2",
  "mtu",
  "keep_alive",
  "allowed_ips",
  "endpoint",
  "internal_traffic",
  "ikev2",
  "ipv6",
  "address_ipv6",
  "traffic_statistics_frequency",
  "traffic_statistics_history",
  "wireguard_handshake_uptime",
  "title",
  "lifetime",
  "clients",
  "enable_config_qr",
  "enabled",
  "ca_cert",
  "ca_key",
  "server_ip",
  "server_domain",
];

const VALUES = [
  "",
  " ",
  "0",
  "-1",
  "1",
  "10001",
  "99999999999999999999",
  "1e3",
  "0x10",
  "NaN",
  "true",
  "enable",
  "disable",
  "77_87_125_209",
  "peer_10",
  "10.0.110.52",
  "10.0.110.52/32",
  "10.0.110.0/24",
  "fd00::1",
  "::",
  "256.1.1.1",
  "wg0",
  "wg99",
  "eth0",
  "a b",
  "ä€😀",
  "<script>alert(1)</script>",
  "'; DROP TABLE x; --",
  "$(reboot)",
  "`id`",
  "../../etc/passwd",
  "%00",
  "\u0000",
  "\n\r",
  "x".repeat(300),
  "kC8n0NGFxwqvwIfI8xJg2ZzRtp950ltC4ugPHlPxsm0=",
  "[]",
  "{}",
  '[{"label":1}]',
  "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----",
];

const SEGMENTS = [
  "peer_10",
  "ruslan_telefon",
  "77_87_125_209",
  "nobody",
  "%25",
  "%2F",
  "..",
  ".",
  "%C3%A4",
  "x".repeat(500),
  "%00",
  "a%20b",
  "2022",
  "11",
  "",
];

describe("fuzz: random methods, paths and bodies (in-process)", () => {
  let h: Harness;
  const errors = vi.spyOn(console, "error");
  beforeAll(async () => {
    h = await startHarness("in-process");
    await seedPages(h);
    errors.mockClear();
  });
  afterAll(async () => {
    await h?.close();
  });
  afterEach(() => {
    // h3 prints unhandled errors with their stack to stderr; the app keeps that quiet and logs through its logger
    expect(errors).not.toHaveBeenCalled();
  });

  const seed = 20221110;
  test(`400 requests, seed ${seed}: every answer is < 500; API answers are envelopes without stack traces`, async () => {
    const random = mulberry32(seed);
    const pick = <T>(list: readonly T[]): T => list[Math.floor(random() * list.length)]!;
    const routes = appRoutes(h.app).map((r) => r.route);
    const methods = ["GET", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "HEAD"];
    for (let i = 0; i < 400; i += 1) {
      const template = pick(routes);
      let path = template.replace(/:\w+/g, () => pick(SEGMENTS));
      if (random() < 0.15) path += `/${pick(SEGMENTS)}`;
      if (random() < 0.1) path = `${path}?${pick(FIELDS)}=${encodeURIComponent(pick(VALUES))}`;
      const method = pick(methods);
      const headers: Record<string, string> = { cookie: `access_hash=${h.hash}` };
      let body: string | undefined;
      if (method !== "GET" && method !== "HEAD") {
        const kind = random();
        if (kind < 0.45) {
          const fields: [string, string][] = [];
          for (let n = Math.floor(random() * 5); n >= 0; n -= 1) fields.push([pick(FIELDS), pick(VALUES)]);
          body = new URLSearchParams(fields).toString();
          headers["content-type"] = "application/x-www-form-urlencoded";
        } else if (kind < 0.8) {
          const object: Record<string, unknown> = {};
          for (let n = Math.floor(random() * 5); n >= 0; n -= 1) {
            const v = pick(VALUES);
            object[pick(FIELDS)] = random() < 0.2 ? Number(v) : random() < 0.1 ? [v] : random() < 0.1 ? null : v;
          }
          body = random() < 0.1 ? JSON.stringify(object).slice(0, -1) : JSON.stringify(object);
          headers["content-type"] = pick(["application/json", "text/plain", "application/json; charset=utf-8"]);
        } else {
          body = Array.from({ length: Math.floor(random() * 200) }, () => String.fromCharCode(Math.floor(random() * 256))).join("");
          if (random() < 0.5)
            headers["content-type"] = pick(["application/json", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x"]);
        }
      }
      const response = await h.fetch(path, { method, headers, body });
      const text = await response.text();
      const where = `${method} ${path.slice(0, 120)} ${body?.slice(0, 120) ?? ""}`;
      expect(response.status, where).toBeLessThan(500);
      expect(text, where).not.toMatch(/\n\s+at |\.ts:\d+|node_modules/);
      // the one-time page is HTML, /metrics is Prometheus text
      if (path.startsWith("/otl/") || path.startsWith("/metrics") || method === "HEAD") continue;
      const parsed = JSON.parse(text) as Record<string, unknown>;
      expect(Object.keys(parsed).sort(), where).toEqual(ENVELOPE_KEYS);
      if (response.status >= 400) {
        expect(parsed.status, where).toBe("error");
        expect(typeof parsed.error === "string" && parsed.error !== "", where).toBe(true);
        expect(parsed.msg, where).toBe("");
      } else {
        expect([parsed.status, parsed.error], where).toEqual(["success", ""]);
      }
    }
  });
});

describe("the access check cannot be walked around with path tricks (raw HTTP to a real server)", () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness("node-server");
    await seedPages(h);
  });
  afterAll(async () => {
    await h?.close();
  });

  function rawGet(target: string): Promise<string> {
    const { port } = new URL(h.baseUrl);
    return new Promise((resolve, reject) => {
      const socket = connect(Number(port), "127.0.0.1", () =>
        socket.write(`GET ${target} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`),
      );
      let out = "";
      socket.on("data", (d) => {
        out += d;
      });
      socket.on("end", () => resolve(out));
      socket.on("error", reject);
    });
  }

  test("a body announced larger than 1 MiB is refused at once, without waiting for it", async () => {
    const { port } = new URL(h.baseUrl);
    const response = await new Promise<string>((resolve, reject) => {
      const socket = connect(Number(port), "127.0.0.1", () => {
        socket.write(
          "POST /api/v1/account HTTP/1.1\r\nHost: x\r\n" +
            `Cookie: access_hash=${h.hash}\r\nContent-Type: application/x-www-form-urlencoded\r\n` +
            "Content-Length: 1073741824\r\n\r\nwg_name=77_87_125_209",
        );
      });
      let out = "";
      socket.on("data", (d) => {
        out += d;
        // the head and the envelope are enough; the rest of the gigabyte is never sent
        if (out.includes('"status":"error"}')) {
          socket.destroy();
          resolve(out);
        }
      });
      socket.on("error", reject);
      socket.on("close", () => resolve(out));
    });
    expect(response.split(" ")[1]).toBe("413");
    expect(response).toContain('{"error":"Request body too large","msg":"","status":"error"}');
    expect(h.vpncp.accounts.count).toBe(2);
  });

  test("a chunked body past 1 MiB is cut off with 413", async () => {
    const chunks = new ReadableStream<Uint8Array>({
      start(controller) {
        const piece = new TextEncoder().encode(`name=${"x".repeat(64 * 1024)}&`);
        for (let i = 0; i < 40; i += 1) controller.enqueue(piece);
        controller.close();
      },
    });
    const r = await fetch(`${h.baseUrl}/api/v1/account`, {
      method: "POST",
      headers: { cookie: `access_hash=${h.hash}`, "content-type": "application/x-www-form-urlencoded" },
      body: chunks,
      duplex: "half",
    } as RequestInit);
    expect([r.status, await r.json()]).toEqual([413, { error: "Request body too large", msg: "", status: "error" }]);
  });

  for (const target of [
    "//api/v1/account",
    "/API/v1/account",
    "/api/v1/ACCOUNT",
    "/otl/../api/v1/account",
    "/otl/x/../../api/v1/account",
    "/otl/%2e%2e/api/v1/account",
    "/api/v1/openapi.json/../account",
    "/api/v1/openapi.json%2f..%2faccount",
    "/api/v1//account",
    "/api/v1/account/",
    "/%61pi/v1/account",
    "/./api/v1/account",
    "http://x/api/v1/account",
    "/api/v1/account;access_hash=x",
    "/api/v1/account?access_hash=x",
  ]) {
    test(`GET ${target} does not list the accounts`, async () => {
      const response = await rawGet(target);
      const status = Number(response.split(" ")[1]);
      expect([400, 401, 404]).toContain(status);
      expect(response).not.toContain("peer_10");
    });
  }
});
