import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { type Clock, createVpncp, type Vpncp } from "@vpncp/core";
import { createFakeDrivers, type FakeDrivers, fakeDriversModule } from "@vpncp/drivers";
import type { H3 } from "h3";
import { toNodeHandler } from "h3/node";
import { createHttpApp } from "../src/app.js";

/** How a suite reaches the app: h3's in-process `app.request`, or fetch against a real listening Node server. */
export type TransportKind = "in-process" | "node-server";
export const TRANSPORTS: readonly TransportKind[] = ["in-process", "node-server"];

/** A clock tests move by hand (one-time link lifetimes, statistics days). */
export interface ManualClock extends Clock {
  set(at: Date | string): void;
  advance(ms: number): void;
}

export function manualClock(start: Date | string = "2022-11-10T12:00:00Z"): ManualClock {
  let current = new Date(start).getTime();
  return {
    now: () => new Date(current),
    set: (at) => {
      current = new Date(at).getTime();
    },
    advance: (ms) => {
      current += ms;
    },
  };
}

export interface ApiResult<T = unknown> {
  readonly status: number;
  readonly headers: Headers;
  readonly body: { error: string; msg: T; status: "success" | "error" };
  readonly text: string;
}

export interface Harness {
  readonly kind: TransportKind;
  readonly vpncp: Vpncp;
  readonly drivers: FakeDrivers;
  readonly clock: ManualClock;
  readonly app: H3;
  /** An access hash valid from any address. */
  readonly hash: string;
  /** "http://127.0.0.1:PORT" for the node server; "http://localhost" (h3's default) in-process. */
  readonly baseUrl: string;
  /** A raw request: path relative to the app, init as for fetch. */
  fetch(path: string, init?: RequestInit): Promise<Response>;
  /** A request with the access hash cookie; a string body is sent as curl -d sends it (form-encoded). */
  api<T = unknown>(
    method: string,
    path: string,
    body?: string | Record<string, unknown>,
    headers?: Record<string, string>,
  ): Promise<ApiResult<T>>;
  close(): Promise<void>;
}

export interface HarnessOptions {
  readonly accountLimit?: number;
  readonly clock?: ManualClock;
  readonly publicUrl?: string;
}

/** A vpncp on the fake drivers (memory storage), its h3 app, and one way of calling it. */
export async function startHarness(kind: TransportKind, options: HarnessOptions = {}): Promise<Harness> {
  const drivers = createFakeDrivers();
  const clock = options.clock ?? manualClock();
  const vpncp = await createVpncp({
    drivers: fakeDriversModule(drivers),
    storage: { driver: "memory" },
    clock,
    accountLimit: options.accountLimit,
    publicUrl: options.publicUrl,
    defaultExternalIp: "203.0.113.10",
    timezone: "UTC",
  });
  const { hash } = await vpncp.accessHashes.create();
  // rejected hashes are not waited for here: suites send many on purpose (test/security checks the slow-down)
  const app = createHttpApp(vpncp, { authFailures: { sleep: async () => {} } });

  let server: Server | null = null;
  let baseUrl = "http://localhost";
  if (kind === "node-server") {
    server = createServer(toNodeHandler(app));
    const listening = server;
    await new Promise<void>((resolve) => listening.listen(0, "127.0.0.1", resolve));
    baseUrl = `http://127.0.0.1:${(listening.address() as AddressInfo).port}`;
  }

  const doFetch = async (path: string, init: RequestInit = {}): Promise<Response> =>
    kind === "in-process" ? await app.request(path, init) : await fetch(`${baseUrl}${path}`, init);

  return {
    kind,
    vpncp,
    drivers,
    clock,
    app,
    hash,
    baseUrl,
    fetch: doFetch,
    async api(method, path, body, headers = {}) {
      const init: RequestInit & { headers: Record<string, string> } = { method, headers: { cookie: `access_hash=${hash}`, ...headers } };
      if (typeof body === "string") {
        init.body = body;
        init.headers["content-type"] ??= "application/x-www-form-urlencoded";
      } else if (body !== undefined) {
        init.body = JSON.stringify(body);
        init.headers["content-type"] ??= "application/json";
      }
      const response = await doFetch(path, init);
      const text = await response.text();
      let parsed: ApiResult["body"];
      try {
        parsed = JSON.parse(text);
      } catch {
        throw new Error(`${method} ${path}: not JSON (${response.status}): ${text.slice(0, 200)}`);
      }
      return { status: response.status, headers: response.headers, body: parsed as never, text };
    },
    async close() {
      if (server) {
        const listening = server;
        listening.closeAllConnections();
        await new Promise<void>((resolve) => listening.close(() => resolve()));
      }
      await vpncp.close();
    },
  };
}

/** Form encoding as curl -d would send an object (for readability of test bodies). */
export function form(fields: Record<string, string | number>): string {
  return new URLSearchParams(Object.entries(fields).map(([k, v]) => [k, String(v)])).toString();
}

/** The page's example server and accounts: server 77_87_125_209 (10.0.110.1/24) and the accounts the examples name. */
export async function seedPages(h: Harness): Promise<void> {
  await h.vpncp.servers.create({ name: "77_87_125_209", address: "10.0.110.1/24", externalIp: "77.87.125.200" });
  await h.vpncp.accounts.create({ wgName: "77_87_125_209", name: "peer_10", username: "user_10", allowedIp: "10.0.110.18" });
  await h.vpncp.accounts.create({ wgName: "77_87_125_209", name: "ruslan_telefon", username: "user_32", allowedIp: "10.0.110.17" });
}

/** Everything a client can observe of the state, to compare before and after a refused request. */
export async function snapshot(h: Harness): Promise<unknown> {
  const get = async (path: string) => (await h.api("GET", path)).body.msg;
  return {
    accounts: await get("/api/v1/account"),
    servers: await get("/api/v1/wireguard"),
    config: await get("/api/v1/system/config"),
    otl: await get("/api/v1/otl/config"),
    otlWireguard: await get("/api/v1/otl/config_wireguard"),
    otlIkev2: await get("/api/v1/otl/config_ikev2"),
    ikev2: await get("/api/v1/ikev2/config"),
    links: await get("/api/v1/otl/list"),
    peers: [...h.drivers.wireguard.interfaces().values()].map((i) => [i.name, i.listenPort, [...i.peers.keys()].sort()]),
    firewall: h.drivers.firewall.accounts.map((a) => [a.mark, a.ipv4]),
  };
}

/** Every method and route the app serves (h3 keeps them in its internal `~routes`; the 404/405 fallbacks have no method). */
export function appRoutes(app: H3): { method: string; route: string }[] {
  return (app["~routes"] as { method?: string; route?: string }[])
    .filter((r): r is { method: string; route: string } => Boolean(r.method && r.route))
    .map(({ method, route }) => ({ method, route }));
}
