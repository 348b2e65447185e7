/**
 * Issue 8 points 2 and 6 with the system drivers: `vpncp serve --drivers system --netns NS`
 * (the CLI, run from its sources) receives a stream of creates and edits and is SIGKILLed at
 * seeded random points. Started again on the same data directory, every acknowledged change
 * is in the API, and what `wg show`, nft and tc show in the namespace equals the API's
 * accounts. Meanwhile every process's command line is sampled: no private key, password or
 * access hash is ever an argument.
 *
 * A SIGKILLed vpncp cannot stop its wireguard-go or its charon: they outlive it, holding the
 * interface and the IKE ports. The next vpncp stops them by PID (a marker in their
 * environment names them) and starts its own, supervised ones; the test checks that, and
 * kills whatever survives by PID at the end (the namespace's removal kills the rest).
 */
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { generateKeyPair } from "@vpncp/core";
import { FakeCommandRunner, WireGuardToolsDriver } from "@vpncp/drivers";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { createNamespace, realToolsUnavailable, type TestNamespace } from "../../packages/drivers/test/netns.js";
import { stopChild } from "../../packages/http/test/support/child-process.js";
import { cleanEnv } from "../../packages/http/test/support/cli.js";
import { filesReadableByOthers } from "../../packages/http/test/support/file-modes.js";
import { fetchApi } from "../../packages/http/test/support/form-api.js";
import { mulberry32 } from "../../packages/http/test/support/prng.js";
import { freePort, ROOT, uniqueWgInterface } from "./lab.js";

const skip =
  realToolsUnavailable(["wg", "wireguard-go", "nft", "tc", "ip", "swanctl", "charon-systemd"]) ||
  (existsSync("/dev/net/tun") ? false : "no /dev/net/tun");
const JITI = join(ROOT, "node_modules/jiti/lib/jiti-cli.mjs");
const CLI = join(ROOT, "packages/http/src/cli.ts");
const SEED = 88_001;
const KILLS = 3;

type ApiAccount = Record<string, string>;

interface Running {
  readonly child: ChildProcess;
  output(): string;
  api<T = unknown>(
    method: string,
    path: string,
    fields?: Record<string, string | number>,
  ): Promise<{ status: number; msg: T; error: string }>;
}

/** Every process's argv on the machine now (a secret in any of them is a leak, whoever started it). */
function commandLines(): string[] {
  const out: string[] = [];
  for (const pid of readdirSync("/proc")) {
    if (!/^\d+$/.test(pid)) continue;
    try {
      out.push(readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0").join(" "));
    } catch {
      // exited meanwhile
    }
  }
  return out;
}

function parentOf(pid: number): number {
  return Number(/\) \S+ (\d+)/.exec(readFileSync(`/proc/${pid}/stat`, "utf8"))?.[1]);
}

/** PIDs of wireguard-go daemons serving `iface` (found by argv, killed by PID). */
function wireguardGoPids(iface: string): number[] {
  const pids: number[] = [];
  for (const pid of readdirSync("/proc")) {
    if (!/^\d+$/.test(pid)) continue;
    try {
      const argv = readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0");
      const at = argv.findIndex((a) => a.endsWith("wireguard-go"));
      if (at >= 0 && argv[at + 1] === iface) pids.push(Number(pid));
    } catch {
      // exited meanwhile
    }
  }
  return pids;
}

describe.skipIf(Boolean(skip))("crash safety with the system drivers: SIGKILLed vpncp, restarted, equals its storage in the kernel", () => {
  const iface = uniqueWgInterface();
  const hash = Array.from({ length: 80 }, () => "0123456789abcdef"[Math.floor(Math.random() * 16)]).join("");
  let ns: TestNamespace;
  let dataDir: string;
  let vpncp: Running | null = null;
  const children: ChildProcess[] = [];
  const sampled = new Set<string>();
  let sampler: NodeJS.Timeout | null = null;

  async function start(): Promise<Running> {
    const port = await freePort();
    // the hash through the environment: an argument would show in /proc/PID/cmdline to every local user
    const env = cleanEnv({ VPNCP_ACCESS_HASH: hash, VPNCP_DATA_DIR: dataDir });
    const child = spawn(
      process.execPath,
      [
        "--conditions=@vpncp/source",
        JITI,
        CLI,
        "serve",
        "--drivers",
        "system",
        "--netns",
        ns.name,
        "--port",
        String(port),
        "--timezone",
        "UTC",
      ],
      { cwd: ROOT, env, stdio: ["ignore", "pipe", "pipe"] },
    );
    children.push(child);
    let output = "";
    child.stdout!.on("data", (c: Buffer) => {
      output += c.toString();
    });
    child.stderr!.on("data", (c: Buffer) => {
      output += c.toString();
    });
    const url = `http://127.0.0.1:${port}`;
    const running: Running = {
      child,
      output: () => output,
      api: fetchApi(url, hash),
    };
    const deadline = Date.now() + 60_000;
    for (;;) {
      if (child.exitCode !== null) throw new Error(`vpncp exited (${child.exitCode}):\n${output}`);
      try {
        const status = await running.api<{ status: string }>("GET", "/api/v1/system/status");
        if (status.status === 200 && status.msg.status === "OK") return running;
      } catch {
        // not listening yet
      }
      if (Date.now() > deadline) throw new Error(`vpncp did not come up within 60 s:\n${output}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  /** The kernel's view in the namespace, in the API's terms. */
  function kernelState(): { peers: string[]; marks: string[]; classes: string[] } {
    const peers = ns
      .exec("wg", ["show", iface, "allowed-ips"])
      .trim()
      .split("\n")
      .filter(Boolean)
      .map((line) => line.split(/\s+/).join(" "))
      .sort();
    const marks: string[] = [];
    for (const map of ["mark_down4", "mark_up4"]) {
      const listed = JSON.parse(ns.exec("nft", ["-j", "list", "map", "inet", "vpncp", map])) as {
        nftables: { map?: { elem?: [unknown, number][] } }[];
      };
      for (const [key, mark] of listed.nftables.find((x) => x.map)?.map?.elem ?? []) {
        const address = typeof key === "string" ? key : (key as { elem: { val: string } }).elem.val;
        marks.push(`${map} ${address} ${mark}`);
      }
    }
    // "class htb 1:6d parent 1:1 prio 0 rate 30Mbit ceil 30Mbit …" (tc has no JSON for htb classes here)
    const classes = ns
      .exec("tc", ["class", "show", "dev", iface])
      .split("\n")
      .map((line) => /^class htb (\S+) parent 1:1 .*\brate (\S+)/.exec(line))
      // 1:fffe is the default class of unclassified traffic
      .filter((m): m is RegExpExecArray => m !== null && m[1] !== "1:fffe")
      .map((m) => `${m[1]} ${m[2]}`)
      .sort();
    return { peers, marks: marks.sort(), classes };
  }

  function expectedKernel(accounts: ApiAccount[]): { peers: string[]; marks: string[]; classes: string[] } {
    const enabled = accounts.filter((a) => a.status === "enable");
    return {
      peers: enabled.map((a) => `${a.public_key} ${a.allowed_IPs}/32`).sort(),
      marks: enabled.flatMap((a) => ["mark_down4", "mark_up4"].map((map) => `${map} ${a.allowed_IPs} ${a.mangle}`)).sort(),
      classes: enabled.map((a) => `1:${Number(a.mangle).toString(16)} ${a.b_download}Mbit`).sort(),
    };
  }

  beforeAll(async () => {
    ns = createNamespace();
    dataDir = mkdtempSync(join(tmpdir(), "vpncp-e2e-crash-"));
    sampler = setInterval(() => {
      for (const line of commandLines()) sampled.add(line);
    }, 15);
  });

  afterAll(async () => {
    if (sampler) clearInterval(sampler);
    if (process.env.VPNCP_E2E_LOG && vpncp) console.log(vpncp.output());
    for (const child of children) await stopChild(child, "SIGKILL");
    for (const pid of wireguardGoPids(iface)) {
      try {
        process.kill(pid, "SIGKILL");
      } catch {
        // gone meanwhile
      }
    }
    ns?.dispose();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  test(`${KILLS} SIGKILLs during creates and edits (seed ${SEED}): acknowledged changes kept, kernel equals the API after each restart`, async () => {
    const random = mulberry32(SEED);
    vpncp = await start();
    const server = await vpncp.api("POST", "/api/v1/wireguard", { name: "crash", interface_name: iface, address: "10.81.0.1/24" });
    expect(server.error).toBe("");
    const secrets = new Set<string>([hash, (server.msg as Record<string, string>).private_key!]);
    /** name → the last acknowledged account, or null once a delete was acknowledged; names with a change in flight are skipped. */
    const acked = new Map<string, ApiAccount | null>();
    const inFlight = new Set<string>();
    let counter = 0;

    for (let round = 0; round < KILLS; round += 1) {
      const current = vpncp;
      let killed = false;
      const client = async () => {
        while (!killed) {
          const live = [...acked].filter(([n, a]) => a && !inFlight.has(n)).map(([n]) => n);
          const pick = random();
          let name: string;
          let request: Promise<{ status: number; msg: unknown; error: string }>;
          if (pick < 0.5 || live.length < 3) {
            counter += 1;
            name = `sys_${counter}`;
            request = current.api("POST", "/api/v1/account", { wg_name: "crash", name, b_download: 1 + (counter % 20), b_upload: 2 });
          } else {
            name = live[Math.floor(random() * live.length)]!;
            const kind = random();
            request =
              kind < 0.35
                ? current.api("PUT", `/api/v1/account/${name}`, { status: acked.get(name)!.status === "enable" ? "disable" : "enable" })
                : kind < 0.7
                  ? current.api("PUT", `/api/v1/account/${name}`, { b_download: 1 + Math.floor(random() * 900) })
                  : current.api("PUT", `/api/v1/account/${name}`, { password: `Pw-${Math.floor(random() * 1e12).toString(36)}` });
          }
          inFlight.add(name);
          try {
            const answer = await request;
            if (answer.status !== 200) throw new Error(`${name}: ${answer.status} ${answer.error}`);
            const account = answer.msg as ApiAccount;
            acked.set(name, account);
            secrets.add(account.private_key!);
            secrets.add(account.password!);
            inFlight.delete(name);
          } catch (error) {
            if (!killed) throw error;
            return;
          }
        }
      };
      const clients = Array.from({ length: 4 }, client);
      await new Promise((r) => setTimeout(r, 250 + Math.floor(random() * 800)));
      killed = true;
      await stopChild(current.child, "SIGKILL");
      await Promise.all(clients);
      const survivors = wireguardGoPids(iface);

      const restarting = performance.now();
      vpncp = await start();
      const restartMs = Math.round(performance.now() - restarting);
      const accounts = (await vpncp.api<ApiAccount[]>("GET", "/api/v1/account")).msg;
      const byName = new Map(accounts.map((a) => [a.name!, a]));
      for (const account of accounts) {
        secrets.add(account.private_key!);
        secrets.add(account.password!);
      }
      // every acknowledged change is there (a change in flight at the kill may or may not be)
      const lost: string[] = [];
      for (const [name, account] of acked) {
        if (inFlight.has(name)) continue;
        const now = byName.get(name) ?? null;
        if (JSON.stringify(now) !== JSON.stringify(account)) lost.push(`${name}: ${JSON.stringify(account)} → ${JSON.stringify(now)}`);
      }
      expect(lost).toEqual([]);
      // the kernel holds what the API says, after the start-up reconcile
      expect(kernelState()).toEqual(expectedKernel(accounts));
      // the killed vpncp's wireguard-go was replaced by one the new vpncp started (and supervises)
      const daemons = wireguardGoPids(iface);
      expect(daemons.filter((pid) => survivors.includes(pid))).toEqual([]);
      expect(daemons.map(parentOf)).toEqual([vpncp.child.pid]);
      console.log(
        `[crash e2e] round ${round}: ${accounts.length} accounts, ${inFlight.size} changes in flight at the kill, wireguard-go survivors ${survivors.join(",") || "none"}, restart ${restartMs} ms`,
      );
      for (const account of accounts) acked.set(account.name!, account);
      for (const name of acked.keys()) if (!byName.has(name)) acked.set(name, null);
      inFlight.clear();
    }

    // a last edit after the restarts reaches the kernel through the surviving daemon's socket
    const last = [...acked.values()].find((a) => a?.status === "enable")!;
    await vpncp.api("PUT", `/api/v1/account/${last.name}`, { status: "disable" });
    const accounts = (await vpncp.api<ApiAccount[]>("GET", "/api/v1/account")).msg;
    expect(kernelState()).toEqual(expectedKernel(accounts));

    // a second driver on the namespace (what `vpncp plan` runs beside a live vpncp) leaves the live daemon alone
    const live = wireguardGoPids(iface);
    const planner = new WireGuardToolsDriver({ runner: new FakeCommandRunner({ netns: ns.name }) });
    await planner.applyInterface({ name: iface, privateKey: generateKeyPair().privateKey, listenPort: 51820, addresses: [] }, []);
    await planner.dispose();
    expect(wireguardGoPids(iface)).toEqual(live);

    // no secret was ever an argument of any process on the machine
    if (sampler) clearInterval(sampler);
    sampler = null;
    const leaks: string[] = [];
    for (const line of sampled) for (const secret of secrets) if (secret && line.includes(secret)) leaks.push(line.slice(0, 200));
    expect(sampled.size).toBeGreaterThan(10);
    expect([...sampled].some((line) => line.includes(`wg set ${iface}`) || line.includes("nft"))).toBe(true);
    expect(leaks).toEqual([]);
  });

  test("with IKEv2 on, a SIGKILL and a restart leave one charon holding every enabled account's pool and secret", async () => {
    const running = vpncp!;
    expect(
      (await running.api("PUT", "/api/v1/ikev2/generate_ca_rsa", { ca_common_name: "crash CA", ca_organization: "vpncp" })).error,
    ).toBe("");
    expect((await running.api("PUT", "/api/v1/ikev2/generate_server_rsa", { server_ip: "192.0.2.1" })).error).toBe("");
    expect((await running.api("PUT", "/api/v1/wireguard/crash", { ikev2: 1 })).error).toBe("");
    for (const name of ["ike_a", "ike_b"]) {
      expect((await running.api("POST", "/api/v1/account", { wg_name: "crash", name, password: `Ike-${name}-pw` })).error).toBe("");
    }
    const charonsBefore = charonPids();
    expect(charonsBefore.length).toBe(1);
    await stopChild(running.child, "SIGKILL");
    const survivors = charonPids();
    vpncp = await start();
    const accounts = (await vpncp.api<ApiAccount[]>("GET", "/api/v1/account")).msg;
    const charons = charonPids();
    expect(charons.map(parentOf)).toEqual([vpncp.child.pid]);
    console.log(
      `[crash e2e] charon before ${charonsBefore}, after the kill ${survivors.join(",") || "none"}, after the restart ${charons}`,
    );
    expect(charons.length).toBe(1);
    // the pools charon holds (over the new vpncp's vici socket) are the enabled accounts'
    const pools = ns
      .exec("swanctl", ["--list-pools", "--uri", `unix://${join(dataDir, "run/strongswan/charon.vici")}`], "")
      .split("\n")
      .map((line) => /^(\S+@crash)\/4\s/.exec(line)?.[1])
      .filter((name): name is string => !!name)
      .sort();
    expect(pools).toEqual(
      accounts
        .filter((a) => a.status === "enable")
        .map((a) => `${a.username}@crash`)
        .sort(),
    );
    // nothing under the data directory (records, the drivers' state in run/) that group or others may read holds a secret
    const readable = filesReadableByOthers(dataDir);
    const secretsNow = [hash, ...accounts.flatMap((a) => [a.private_key!, a.password!])].filter((x) => x.length >= 8);
    expect(readable.filter((file) => secretsNow.some((secret) => readFileSync(file, "utf8").includes(secret)))).toEqual([]);
    expect(statSync(dataDir).mode & 0o777).toBe(0o700);
  });

  /** charon daemons running in the test's namespace. */
  function charonPids(): number[] {
    return execFileSync("ip", ["netns", "pids", ns.name], { encoding: "utf8" })
      .split(/\s+/)
      .filter(Boolean)
      .map(Number)
      .filter((pid) => {
        try {
          return /charon/.test(readFileSync(`/proc/${pid}/cmdline`, "utf8"));
        } catch {
          return false;
        }
      });
  }
});
