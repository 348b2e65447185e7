/**
 * The end-to-end lab: three network namespaces — a client, the VPN server and
 * an "internet" host behind the server's WAN — linked by veth pairs, and
 * `vpncp serve --drivers system --netns <server>` running as a child of the
 * test, driven through its HTTP API exactly as a user would. Nothing here runs
 * in or touches the root namespace except the vpncp process itself (its API
 * listens on the root loopback; every command it runs enters the server namespace).
 */
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { createNamespace, linkNamespaces, type TestNamespace } from "../../packages/drivers/test/netns.js";

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), "../..");
export const CLI = join(ROOT, "packages/http/bin/vpncp.js");

export const ADDRESSES = {
  /** Client side of the client–server link (what clients dial). */
  serverPublic: "192.0.2.1",
  client: "192.0.2.2",
  client2: "192.0.2.3",
  /** Server side of the WAN link; NAT rewrites tunnel traffic to it. */
  serverWan: "198.51.100.1",
  internet: "198.51.100.2",
} as const;

let interfaceCounter = 0;
/** "wg<digits>": the API's interface format, unique on the machine (wireguard-go sockets are global). */
export function uniqueWgInterface(): string {
  interfaceCounter += 1;
  const name = `wg${process.pid}${interfaceCounter}`;
  if (name.length > 15) throw new Error(`interface name too long: ${name}`);
  return name;
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() => (typeof address === "object" && address ? resolve(address.port) : reject(new Error("no port"))));
    });
  });
}

export interface Topology {
  readonly client: TestNamespace;
  readonly server: TestNamespace;
  readonly internet: TestNamespace;
  /** The server's WAN interface (towards the internet namespace). */
  readonly wan: string;
  /** Rebuilds the server namespace and its links from nothing: a reboot. */
  rebootServer(): void;
  dispose(): void;
}

/** client ⇄ server ⇄ internet; the internet host has no route to the VPN subnets (only NAT brings replies back). */
export function createTopology(options: { extraClient?: boolean } = {}): Topology & { client2: TestNamespace | null } {
  const client = createNamespace();
  const internet = createNamespace();
  const client2 = options.extraClient ? createNamespace() : null;
  let server = createNamespace();
  let wan = "";
  const wire = () => {
    linkNamespaces(server, `${ADDRESSES.serverPublic}/24`, client, `${ADDRESSES.client}/24`);
    if (client2) {
      // the second client reaches the server through its own link in the same /24
      const { ifA } = linkNamespaces(server, `${ADDRESSES.serverPublic}/32`, client2, `${ADDRESSES.client2}/24`);
      execFileSync("ip", ["-n", server.name, "route", "add", `${ADDRESSES.client2}/32`, "dev", ifA]);
    }
    wan = linkNamespaces(server, `${ADDRESSES.serverWan}/24`, internet, `${ADDRESSES.internet}/24`).ifA;
  };
  wire();
  return {
    client,
    client2,
    internet,
    get server() {
      return server;
    },
    get wan() {
      return wan;
    },
    rebootServer() {
      server.dispose();
      // veth ends in the client/internet namespaces vanish with their peers; drop their addresses' routes too
      server = createNamespace(server.name);
      wire();
    },
    dispose() {
      for (const ns of [client, client2, server, internet]) ns?.dispose();
    },
  };
}

export interface VpncpProcess {
  readonly url: string;
  readonly hash: string;
  readonly child: ChildProcess;
  readonly output: () => string;
  api<T = unknown>(
    method: string,
    path: string,
    body?: Record<string, string | number>,
  ): Promise<{ status: number; body: { error: string; msg: T; status: string } }>;
  /** SIGTERM and wait: vpncp stops its wireguard-go and charon and exits 0. */
  stop(): Promise<number | null>;
}

export interface StartOptions {
  readonly netns: string;
  readonly dataDir: string;
  readonly wan: string;
  readonly firewall?: "nftables" | "iptables";
  readonly hash?: string;
}

/** Starts `vpncp serve --drivers system --netns …` as a child and waits until its API answers. */
export async function startVpncp(options: StartOptions): Promise<VpncpProcess> {
  const port = await freePort();
  const hash = options.hash ?? Array.from({ length: 80 }, () => "0123456789abcdef"[Math.floor(Math.random() * 16)]).join("");
  const args = [
    CLI,
    "serve",
    "--drivers",
    "system",
    "--netns",
    options.netns,
    "--port",
    String(port),
    "--data-dir",
    options.dataDir,
    "--access-hash",
    hash,
    "--wan-interface",
    options.wan,
    "--firewall",
    options.firewall ?? "nftables",
    "--timezone",
    "UTC",
  ];
  const child = spawn(process.execPath, args, { stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, VPNCP_PUBLIC_URL: "" } });
  let output = "";
  child.stdout?.on("data", (c: Buffer) => {
    output += c.toString();
  });
  child.stderr?.on("data", (c: Buffer) => {
    output += c.toString();
  });
  const url = `http://127.0.0.1:${port}`;
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  const api: VpncpProcess["api"] = async (method, path, body) => {
    const init: RequestInit = { method, headers: { cookie: `access_hash=${hash}` } };
    if (body) {
      init.body = new URLSearchParams(Object.entries(body).map(([k, v]) => [k, String(v)])).toString();
      (init.headers as Record<string, string>)["content-type"] = "application/x-www-form-urlencoded";
    }
    const response = await fetch(`${url}${path}`, init);
    return { status: response.status, body: (await response.json()) as never };
  };
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`vpncp exited (${child.exitCode}):\n${output}`);
    try {
      const { status } = await api("GET", "/api/v1/system/status");
      if (status === 200) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      child.kill("SIGKILL");
      throw new Error(`vpncp did not answer within 60 s:\n${output}`);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  return {
    url,
    hash,
    child,
    output: () => output,
    api,
    async stop() {
      if (child.exitCode === null) {
        child.kill("SIGTERM");
        const timer = setTimeout(() => child.kill("SIGKILL"), 20_000);
        const code = await exited;
        clearTimeout(timer);
        return code;
      }
      return child.exitCode;
    },
  };
}

/** A WireGuard client in a namespace, configured from `config_text` alone (through `wg-quick strip`). */
export interface WgClient {
  readonly name: string;
  stop(): void;
}

export function startWgClient(ns: TestNamespace, configText: string, name: string, routes: readonly string[]): WgClient {
  const dir = mkdtempSync(join(tmpdir(), "vpncp-wgc-"));
  const file = join(dir, `${name}.conf`);
  writeFileSync(file, configText, { mode: 0o600 });
  const stripped = execFileSync("wg-quick", ["strip", file], { encoding: "utf8" });
  const address =
    /^Address\s*=\s*(.+)$/m
      .exec(configText)?.[1]
      ?.split(",")
      .map((a) => a.trim()) ?? [];
  const mtu = /^MTU\s*=\s*(\d+)$/m.exec(configText)?.[1];
  const daemon = spawn("ip", ["netns", "exec", ns.name, "wireguard-go", name], {
    env: { ...process.env, WG_PROCESS_FOREGROUND: "1", LOG_LEVEL: "error" },
    stdio: "ignore",
  });
  const deadline = Date.now() + 10_000;
  while (!existsSocket(name)) {
    if (Date.now() > deadline) throw new Error("client wireguard-go did not start");
    execFileSync("sleep", ["0.05"]);
  }
  // a file, not /dev/stdin: wg cannot open a pipe or socket given as stdin through ip netns exec
  const strippedFile = join(dir, "stripped.conf");
  writeFileSync(strippedFile, stripped, { mode: 0o600 });
  ns.exec("wg", ["setconf", name, strippedFile]);
  for (const a of address) ns.exec("ip", ["address", "add", a, "dev", name]);
  if (mtu) ns.exec("ip", ["link", "set", name, "mtu", mtu]);
  ns.exec("ip", ["link", "set", name, "up"]);
  for (const route of routes) ns.exec("ip", ["route", "replace", route, "dev", name]);
  return {
    name,
    stop() {
      if (daemon.exitCode === null) daemon.kill("SIGTERM");
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

function existsSocket(name: string): boolean {
  try {
    execFileSync("test", ["-S", `/var/run/wireguard/${name}.sock`]);
    return true;
  } catch {
    return false;
  }
}

/** Whether `count` pings from the namespace reach `target` (1 s apart at most). */
export function pings(ns: TestNamespace, target: string, count = 3, extra: readonly string[] = []): boolean {
  try {
    ns.exec("ping", ["-c", String(count), "-i", "0.2", "-W", "2", ...extra, target]);
    return true;
  } catch {
    return false;
  }
}

/** Pings until one is answered or `timeoutMs` passes (a WireGuard client re-handshakes within ~15 s of losing its session). */
export async function waitForPing(ns: TestNamespace, target: string, timeoutMs = 30_000): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (pings(ns, target, 1)) return true;
    await new Promise((r) => setTimeout(r, 500));
  }
  return false;
}

/** Every link of a namespace (to look for leftovers on all of them). */
export function links(ns: TestNamespace): string[] {
  return ns
    .exec("ip", ["-o", "link", "show"])
    .split("\n")
    .map((line) => /^\d+: ([^:@]+)/.exec(line)?.[1])
    .filter((name): name is string => !!name);
}
