/**
 * Test hosts in network namespaces: the real drivers are proven here, never in
 * the root namespace. Names are unique on the machine (wireguard-go sockets in
 * /var/run/wireguard are shared by all namespaces), every namespace is removed
 * again, and daemons are killed by PID only.
 */
import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { ExecaRunner } from "../src/command-runner/execa.js";

let counter = 0;

/** A short name unique on this machine for this run: `<prefix><pid base36><n>` (≤ 15 chars for interfaces). */
export function uniqueName(prefix = "vt"): string {
  counter += 1;
  const name = `${prefix}${process.pid.toString(36)}-${counter.toString(36)}`;
  if (name.length > 15) throw new Error(`name too long for an interface: ${name}`);
  return name;
}

function which(tool: string): boolean {
  for (const dir of (process.env.PATH ?? "/usr/sbin:/usr/bin:/sbin:/bin").split(":").concat(["/usr/sbin", "/sbin"])) {
    if (existsSync(`${dir}/${tool}`)) return true;
  }
  return false;
}

/**
 * Whether the real-tool tests can run here: as root, with `ip` and the given tools.
 * Returns a reason to skip, printed once; in CI (CI=true) a missing requirement is an
 * error instead, because there the real-tool tests must run.
 */
export function realToolsUnavailable(tools: readonly string[] = []): string | false {
  let reason: string | false = false;
  if (process.platform !== "linux") reason = "not Linux";
  else if (typeof process.getuid === "function" && process.getuid() !== 0) reason = "not root (network namespaces need root)";
  else {
    const missing = ["ip", ...tools].filter((tool) => !which(tool));
    if (missing.length > 0) reason = `missing tools: ${missing.join(", ")}`;
  }
  if (reason && process.env.CI === "true") {
    throw new Error(`real-tool tests cannot run in CI: ${reason}`);
  }
  if (reason) console.warn(`[vpncp] skipping real-tool tests: ${reason}`);
  return reason;
}

export interface TestNamespace {
  readonly name: string;
  /** A runner whose commands run inside this namespace. */
  readonly runner: ExecaRunner;
  /** Runs a command inside the namespace and returns stdout (throws on failure). */
  exec(file: string, args: readonly string[], input?: string): string;
  /** Kills what runs in it (by PID) and deletes it. */
  dispose(): void;
}

function ip(args: readonly string[]): string {
  return execFileSync("ip", args, { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
}

export function createNamespace(name = uniqueName("vn")): TestNamespace {
  ip(["netns", "add", name]);
  ip(["-n", name, "link", "set", "lo", "up"]);
  const runner = new ExecaRunner({ netns: name });
  return {
    name,
    runner,
    exec(file, args, input) {
      return execFileSync("ip", ["netns", "exec", name, file, ...args], {
        encoding: "utf8",
        input: input ?? "",
        stdio: ["pipe", "pipe", "pipe"],
      });
    },
    dispose() {
      let pids: string[] = [];
      try {
        pids = ip(["netns", "pids", name]).split(/\s+/).filter(Boolean);
      } catch {
        // already gone
      }
      for (const pid of pids) {
        try {
          process.kill(Number(pid), "SIGKILL");
        } catch {
          // exited meanwhile
        }
      }
      try {
        ip(["netns", "del", name]);
      } catch {
        // already gone
      }
    },
  };
}

/** Links two namespaces with a veth pair and gives each end an address ("192.0.2.1/24"). */
export function linkNamespaces(a: TestNamespace, addressA: string, b: TestNamespace, addressB: string): { ifA: string; ifB: string } {
  const ifA = uniqueName("ve");
  const ifB = uniqueName("ve");
  ip(["link", "add", ifA, "netns", a.name, "type", "veth", "peer", "name", ifB, "netns", b.name]);
  ip(["-n", a.name, "addr", "add", addressA, "dev", ifA]);
  ip(["-n", b.name, "addr", "add", addressB, "dev", ifB]);
  ip(["-n", a.name, "link", "set", ifA, "up"]);
  ip(["-n", b.name, "link", "set", ifB, "up"]);
  return { ifA, ifB };
}
