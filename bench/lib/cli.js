/**
 * `vpncp serve` itself (packages/http/bin/vpncp.js), as a child started and stopped by PID:
 * what a host runs, for figures that belong to the product rather than to a library call
 * (resident memory, requests per second).
 */
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { createServer } from "node:net";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const CLI = join(dirname(fileURLToPath(import.meta.url)), "../../packages/http/bin/vpncp.js");

export function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() => (typeof address === "object" && address ? resolve(address.port) : reject(new Error("no port"))));
    });
  });
}

/** Resident memory of a process, in MB. */
export function rssMbOf(pid) {
  const match = /VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  return Number(match?.[1] ?? 0) / 1024;
}

/** The most resident memory the process has had since it started (the kernel's high-water mark), in MB. */
export function peakRssMbOf(pid) {
  const match = /VmHWM:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  return Number(match?.[1] ?? 0) / 1024;
}

export async function startCli({ dataDir, drivers = "fake", netns, extra = [], nodeFlags = [], logs = "pipe" }) {
  const port = await freePort();
  const hash = randomBytes(40).toString("hex");
  const args = [
    ...nodeFlags,
    CLI,
    "serve",
    "--drivers",
    drivers,
    "--port",
    String(port),
    "--data-dir",
    dataDir,
    "--access-hash",
    hash,
    "--timezone",
    "UTC",
  ];
  if (netns) args.push("--netns", netns);
  args.push(...extra);
  const child = spawn(process.execPath, args, { stdio: ["ignore", logs, "pipe"], env: { ...process.env, VPNCP_PUBLIC_URL: "" } });
  let output = "";
  // only the end of what it printed is kept (for an error message): under load it logs every request
  child.stdout?.on("data", (c) => {
    output = (output + c).slice(-65_536);
    if (process.env.VPNCP_BENCH_CLI_OUTPUT) process.stdout.write(c);
  });
  child.stderr.on("data", (c) => {
    output = (output + c).slice(-65_536);
    if (process.env.VPNCP_BENCH_CLI_OUTPUT) process.stderr.write(c);
  });
  const exited = new Promise((resolve) => child.once("exit", resolve));
  const url = `http://127.0.0.1:${port}`;
  const cookie = `access_hash=${hash}`;
  const api = async (method, path) => {
    const response = await fetch(`${url}${path}`, { method, headers: { cookie } });
    return { status: response.status, body: await response.json() };
  };
  const started = performance.now();
  for (;;) {
    if (child.exitCode !== null) throw new Error(`vpncp serve exited (${child.exitCode}):\n${output}`);
    try {
      if ((await api("GET", "/api/v1/system/status")).status === 200) break;
    } catch {
      // not listening yet
    }
    if (performance.now() - started > 180_000) {
      child.kill("SIGKILL");
      throw new Error(`vpncp serve did not answer within 180 s:\n${output}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return {
    pid: child.pid,
    url,
    cookie,
    api,
    startMs: performance.now() - started,
    async stop() {
      if (child.exitCode !== null) return;
      child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), 30_000);
      await exited;
      clearTimeout(timer);
    },
  };
}
