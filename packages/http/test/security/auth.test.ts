/**
 * Issue 8, point 5 over HTTP: access hashes bound to their address (also behind a trusted
 * proxy, and only then), repeated failures slowed down and logged, no account enumeration
 * through the one-time-link page or /metrics, one-time links single use under concurrency.
 */
import { execFileSync } from "node:child_process";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { createVpncp, type Vpncp } from "@vpncp/core";
import { createFakeDrivers } from "@vpncp/drivers";
import type { H3 } from "h3";
import { toNodeHandler } from "h3/node";
import { afterAll, beforeAll, describe, expect, test, vi } from "vitest";
import { createHttpApp, type HttpAppOptions } from "../../src/app.js";
import type { AuthFailureOptions } from "../../src/auth-failures.js";
import { parseTrustedProxies, resolveClientAddress } from "../../src/client-address.js";

const CLIENT = "203.0.113.7";

interface Served {
  readonly app: H3;
  readonly url: string;
  close(): Promise<void>;
}

async function serve(vpncp: Vpncp, options: HttpAppOptions = {}): Promise<Served> {
  const app = createHttpApp(vpncp, { authFailures: { sleep: async () => {} }, ...options });
  const server: Server = createServer(toNodeHandler(app));
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    app,
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** Everything a client sees of a response except the Date header (the same response a second later differs there). */
async function observable(response: Response): Promise<{ status: number; headers: [string, string][]; body: string }> {
  const headers = [...response.headers.entries()].filter(([name]) => name !== "date");
  return { status: response.status, headers, body: Buffer.from(await response.arrayBuffer()).toString("latin1") };
}

let vpncp: Vpncp;
let boundHash: string;
let anyHash: string;

beforeAll(async () => {
  vpncp = await createVpncp({ drivers: createFakeDrivers(), storage: { driver: "memory" }, defaultExternalIp: "203.0.113.10" });
  boundHash = (await vpncp.accessHashes.create({ ip: CLIENT })).hash;
  anyHash = (await vpncp.accessHashes.create()).hash;
  await vpncp.servers.create({ name: "srv", address: "10.0.60.1/24" });
  await vpncp.accounts.create({ wgName: "srv", name: "alice" });
});

afterAll(async () => {
  await vpncp?.close();
});

describe("the client address behind proxies", () => {
  const trusted = parseTrustedProxies("127.0.0.1,10.0.0.0/8");

  test("X-Forwarded-For counts only from a trusted peer, and then its right-most untrusted hop is the client", () => {
    expect(resolveClientAddress("198.51.100.1", CLIENT, trusted)).toBe("198.51.100.1");
    expect(resolveClientAddress("127.0.0.1", CLIENT, [])).toBe("127.0.0.1");
    expect(resolveClientAddress("127.0.0.1", CLIENT, trusted)).toBe(CLIENT);
    expect(resolveClientAddress("::ffff:127.0.0.1", CLIENT, trusted)).toBe(CLIENT);
    // what the client wrote itself is on the left: ignored
    expect(resolveClientAddress("127.0.0.1", `6.6.6.6, ${CLIENT}`, trusted)).toBe(CLIENT);
    // a chain of trusted proxies is skipped
    expect(resolveClientAddress("127.0.0.1", `6.6.6.6, ${CLIENT}, 10.1.2.3, 10.9.9.9`, trusted)).toBe(CLIENT);
    expect(resolveClientAddress("127.0.0.1", `${CLIENT}:5123, [2001:db8::1]:443`, trusted)).toBe("2001:db8::1");
    expect(resolveClientAddress("10.0.0.1", "10.0.0.2, 10.0.0.3", trusted)).toBe("10.0.0.2");
    expect(resolveClientAddress("127.0.0.1", null, trusted)).toBe("127.0.0.1");
  });

  test('"1" and "true" mean loopback only; "0", "false" and nothing mean none; a bad entry is refused', () => {
    for (const setting of [true, "1", "true", "TRUE"]) {
      const loopback = parseTrustedProxies(setting);
      expect(resolveClientAddress("127.0.0.5", CLIENT, loopback)).toBe(CLIENT);
      expect(resolveClientAddress("::1", CLIENT, loopback)).toBe(CLIENT);
      expect(resolveClientAddress("10.0.0.1", CLIENT, loopback)).toBe("10.0.0.1");
    }
    for (const setting of [false, "0", "false", "", undefined]) expect(parseTrustedProxies(setting)).toEqual([]);
    expect(() => parseTrustedProxies("127.0.0.1,10.0.0.0/33")).toThrow(/not an address or CIDR/);
    expect(() => parseTrustedProxies("proxy.example.com")).toThrow(/not an address or CIDR/);
  });

  test("vpncp serve --help says what --trust-proxy takes and that 1/true is loopback only", () => {
    const help = execFileSync(process.execPath, [join(import.meta.dirname, "../../bin/vpncp.js"), "serve", "--help"], {
      encoding: "utf8",
    });
    expect(help).toMatch(/--trust-proxy/);
    expect(help).toMatch(/loopback only/);
    expect(help).toMatch(/10\.0\.0\.0\/8/);
  });

  describe.each([
    { trustProxy: undefined, what: "no proxy trusted" },
    { trustProxy: "10.0.0.0/8", what: "another proxy trusted" },
    { trustProxy: "127.0.0.1", what: "this peer trusted" },
  ])("a hash bound to $CLIENT, through a real server on loopback ($what)", ({ trustProxy }) => {
    let served: Served;
    beforeAll(async () => {
      served = await serve(vpncp, { trustProxy });
    });
    afterAll(async () => {
      await served?.close();
    });
    const get = (hash: string, forwardedFor?: string) =>
      fetch(`${served.url}/api/v1/system/status`, {
        headers: { cookie: `access_hash=${hash}`, ...(forwardedFor ? { "x-forwarded-for": forwardedFor } : {}) },
      }).then((r) => r.status);

    test("is let in only when a trusted proxy says the request comes from that address", async () => {
      const peerTrusted = trustProxy === "127.0.0.1";
      expect(await get(boundHash)).toBe(401);
      expect(await get(boundHash, CLIENT)).toBe(peerTrusted ? 200 : 401);
      expect(await get(boundHash, `198.51.100.9, ${CLIENT}`)).toBe(peerTrusted ? 200 : 401);
      // the client's own claim on the left does not make it someone else
      expect(await get(boundHash, `${CLIENT}, 198.51.100.9`)).toBe(401);
      expect(await get(anyHash, `${CLIENT}, 198.51.100.9`)).toBe(200);
    });
  });
});

describe("repeated failures from one address", () => {
  const wrongHash = "f".repeat(80);

  /** An app whose waits are recorded (and pass on a clock of its own) instead of slept. */
  function recordingApp(options: AuthFailureOptions & { release?: Promise<void> } = {}) {
    const waits: { address: string; ms: number }[] = [];
    const lines: { msg: string; fields: Record<string, unknown> }[] = [];
    const clock = { now: 1_000_000 };
    let current = "";
    const log = (msg: string, fields: Record<string, unknown> = {}) => lines.push({ msg, fields });
    const app = createHttpApp(vpncp, {
      logger: { info: () => {}, warn: log, error: log },
      metricsToken: "metrics-token-of-this-test",
      authFailures: {
        now: () => clock.now,
        maxAddresses: 50,
        ...options,
        sleep: async (ms) => {
          waits.push({ address: current, ms });
          if (options.release) await options.release;
          else clock.now += ms;
        },
      },
    });
    const request = async (address: string, hash = wrongHash) => {
      current = address;
      return (await app.request("/api/v1/account", { headers: { cookie: `access_hash=${hash}` } }, { clientAddress: address })).status;
    };
    const scrape = async (address: string, token: string) => {
      current = address;
      return (await app.request("/metrics", { headers: { authorization: `Bearer ${token}` } }, { clientAddress: address })).status;
    };
    const rejectedLines = () => lines.filter((l) => l.msg === "access rejected: wrong access hash or token");
    return { waits, lines, clock, request, scrape, rejectedLines };
  }

  test("wait longer and longer for their turn, per address; other addresses are not slowed", async () => {
    const { waits, request } = recordingApp();
    for (let i = 0; i < 8; i += 1) expect(await request("198.51.100.20")).toBe(401);
    expect(waits.filter((w) => w.address === "198.51.100.20").map((w) => w.ms)).toEqual([250, 500, 1000, 2000, 4000]);
    expect(await request("198.51.100.21")).toBe(401);
    expect(waits.filter((w) => w.address === "198.51.100.21")).toEqual([]);
  });

  test("wrong /metrics bearer tokens count like wrong hashes; the right token then waits its turn and clears them", async () => {
    const { waits, scrape, request, rejectedLines } = recordingApp();
    for (let i = 0; i < 4; i += 1) expect(await scrape("198.51.100.22", `guess-${i}`)).toBe(401);
    expect(await request("198.51.100.22")).toBe(401);
    expect(waits.map((w) => w.ms)).toEqual([250, 500]);
    expect(rejectedLines().map((l) => [l.fields.address, l.fields.path])).toEqual([["198.51.100.22", "/metrics"]]);
    expect(await scrape("198.51.100.22", "metrics-token-of-this-test")).toBe(200);
    expect(waits.map((w) => w.ms)).toEqual([250, 500, 1000]);
    expect(await scrape("198.51.100.22", "guess-again")).toBe(401);
    expect(waits).toHaveLength(3);
    expect(JSON.stringify(rejectedLines())).not.toContain("guess");
  });

  test("in parallel they take turns (no faster than one after the other), and a turn too far off is refused unchecked", async () => {
    let open = () => {};
    const release = new Promise<void>((resolve) => {
      open = resolve;
    });
    const { waits, request } = recordingApp({ release, maxQueueMs: 1_000 });
    for (let i = 0; i < 3; i += 1) await request("198.51.100.25");
    const verify = vi.spyOn(vpncp.accessHashes, "verify");
    try {
      const pending = Array.from({ length: 6 }, () => request("198.51.100.25"));
      await vi.waitFor(() => expect(waits).toHaveLength(4));
      open();
      expect(await Promise.all(pending)).toEqual([401, 401, 401, 401, 401, 401]);
      // four turns 250 ms apart fit in the queue; the other two were answered without a check
      expect(waits.map((w) => w.ms)).toEqual([250, 500, 750, 1000]);
      expect(verify).toHaveBeenCalledTimes(4);
    } finally {
      verify.mockRestore();
    }
  });

  test("are logged once per address per minute, with the address and the count, never the hash presented", async () => {
    const { clock, request, rejectedLines, lines } = recordingApp({ freeFailures: 100 });
    for (let i = 0; i < 20; i += 1) await request("198.51.100.30");
    await request("198.51.100.31");
    clock.now += 61_000;
    for (let i = 0; i < 5; i += 1) await request("198.51.100.30");
    expect(rejectedLines().map((l) => [l.fields.address, l.fields.failures])).toEqual([
      ["198.51.100.30", 1],
      ["198.51.100.31", 1],
      ["198.51.100.30", 21],
    ]);
    expect(rejectedLines()[2]?.fields.sinceLastLine).toBe(20);
    const text = JSON.stringify(lines);
    expect(text).not.toContain(wrongHash);
    expect(text).not.toContain(anyHash);
  });

  test("count per IPv6 /64 (one subscriber's addresses), and per IPv4 address whatever its spelling", async () => {
    const { waits, request, rejectedLines } = recordingApp();
    for (let i = 1; i <= 5; i += 1) await request(`2001:db8:1:2::${i.toString(16)}`);
    expect(waits.map((w) => w.ms)).toEqual([250, 500]);
    waits.length = 0;
    await request("2001:db8:1:3::1");
    expect(waits).toEqual([]);
    for (const spelling of ["198.51.100.60", "::ffff:198.51.100.60", "198.51.100.60", "::ffff:198.51.100.60"]) await request(spelling);
    expect(waits.map((w) => w.ms)).toEqual([250]);
    expect(rejectedLines().map((l) => l.fields.address)).toEqual(["2001:db8:1:2::/64", "2001:db8:1:3::/64", "198.51.100.60"]);
  });

  test("a request without a hash guesses nothing: not slowed down, not logged", async () => {
    const { waits, lines, request } = recordingApp();
    const app = createHttpApp(vpncp, { authFailures: { sleep: async () => {} } });
    for (let i = 0; i < 10; i += 1) {
      expect((await app.request("/api/v1/account", {}, { clientAddress: "198.51.100.50" })).status).toBe(401);
      expect(await request("198.51.100.50", "")).toBe(401);
    }
    expect(waits).toEqual([]);
    expect(lines).toEqual([]);
  });

  test("are forgotten after a quiet while, and after a success from the address", async () => {
    const { waits, clock, request } = recordingApp();
    for (let i = 0; i < 6; i += 1) await request("198.51.100.40");
    expect(waits.length).toBe(3);
    clock.now += 16 * 60_000;
    waits.length = 0;
    for (let i = 0; i < 3; i += 1) await request("198.51.100.40");
    expect(waits).toEqual([]);
    // the right hash waits its turn like any other, and then wipes the slate
    expect(await request("198.51.100.40", anyHash)).toBe(200);
    expect(waits.map((w) => w.ms)).toEqual([250]);
    waits.length = 0;
    for (let i = 0; i < 3; i += 1) await request("198.51.100.40");
    expect(waits).toEqual([]);
  });

  test("are tracked for a bounded number of addresses (no memory growth from many addresses)", async () => {
    const { waits, request } = recordingApp();
    for (let i = 0; i < 1_000; i += 1) await request(`10.${(i >> 8) & 255}.${i & 255}.1`);
    // the 50 most recent are kept: the first address is forgotten, so it starts again without a delay
    for (let i = 0; i < 3; i += 1) await request("10.0.0.1");
    expect(waits).toEqual([]);
  });
});

describe("no enumeration of accounts", () => {
  let served: Served;
  beforeAll(async () => {
    served = await serve(vpncp, { metricsToken: "metrics-token-of-this-test" });
  });
  afterAll(async () => {
    await served?.close();
  });

  const link = async (account: string) => (await vpncp.otl.create(account)).link.key;

  test("the one-time page answers the same bytes for a used, an unknown, an expired and a malformed key", async () => {
    const used = await link("alice");
    const first = await fetch(`${served.url}/otl/${used}`);
    expect(await first.text()).toContain('id="config-text"');
    const expired = await link("alice");
    const record = (await vpncp.storage.getItem(`otl:links:${expired}`)) as Record<string, string>;
    expect(record.account).toBe("alice");
    await vpncp.storage.setItem(`otl:links:${expired}`, { ...record, expiresAt: "2020-01-01T00:00:00.000Z" });
    const keys = [used, "0123456789abcdef".repeat(5), expired, "a".repeat(80), "not-a-key", `${used}0`];
    const answers = await Promise.all(keys.map(async (key) => observable(await fetch(`${served.url}/otl/${key}`))));
    for (const answer of answers.slice(1)) expect(answer).toEqual(answers[0]);
    expect(answers[0]?.status).toBe(200);
    // in-process (no Date header at all): identical to the byte
    const inProcess = await Promise.all(keys.map(async (key) => observable(await served.app.request(`/otl/${key}`))));
    for (const answer of inProcess.slice(1)) expect(answer).toEqual(inProcess[0]);
  });

  test("HEAD (link previews) answers the same for a live, a used and an unknown key, and uses nothing up", async () => {
    const live = await link("alice");
    const used = await link("alice");
    await fetch(`${served.url}/otl/${used}`).then((r) => r.text());
    const answers = await Promise.all(
      [live, used, "b".repeat(80)].map(async (key) => observable(await fetch(`${served.url}/otl/${key}`, { method: "HEAD" }))),
    );
    for (const answer of answers.slice(1)) expect(answer).toEqual(answers[0]);
    expect(await (await fetch(`${served.url}/otl/${live}`)).text()).toContain('id="config-text"');
  });

  test("/metrics and account paths answer the same bytes to anyone without a valid hash or token, existing account or not", async () => {
    const requests: [string, RequestInit][] = [
      ["/metrics", {}],
      ["/metrics", { headers: { authorization: "Bearer wrong" } }],
      ["/metrics", { headers: { authorization: "Bearer metrics-token-of-this-tesT" } }],
      ["/metrics", { headers: { cookie: `access_hash=${"e".repeat(80)}` } }],
      ["/api/v1/account/alice", {}],
      ["/api/v1/account/nobody_here", {}],
      ["/api/v1/account/alice/otl", { headers: { cookie: `access_hash=${"e".repeat(80)}` } }],
      ["/api/v1/account/nobody_here/otl", { headers: { cookie: `access_hash=${"e".repeat(80)}` } }],
    ];
    const answers = await Promise.all(requests.map(async ([path, init]) => observable(await fetch(`${served.url}${path}`, init))));
    for (const answer of answers.slice(1)) expect(answer).toEqual(answers[0]);
    expect(answers[0]?.status).toBe(401);
    expect(answers[0]?.body).toBe('{"error":"Not authorized","msg":"","status":"error"}');
    // the right token does read them
    const metrics = await fetch(`${served.url}/metrics`, { headers: { authorization: "Bearer metrics-token-of-this-test" } });
    expect(metrics.status).toBe(200);
  });
});

describe("one-time links under concurrent opens", () => {
  test.each(["real server", "in-process"] as const)(
    "100 parallel GETs of one fresh key: exactly one gets the configuration (%s)",
    async (kind) => {
      const served = await serve(vpncp);
      try {
        const { key } = (await vpncp.otl.create("alice")).link;
        const open = () =>
          kind === "real server" ? fetch(`${served.url}/otl/${key}`) : Promise.resolve(served.app.request(`/otl/${key}`));
        const pages = await Promise.all(Array.from({ length: 100 }, async () => (await open()).text()));
        expect(pages.filter((page) => page.includes('id="config-text"'))).toHaveLength(1);
        expect(pages.filter((page) => page.includes('id="not-relevant"'))).toHaveLength(99);
      } finally {
        await served.close();
      }
    },
  );
});
