import { type ChildProcess, execFile, spawn } from "node:child_process";
import { promisify } from "node:util";
import type { TestNamespace } from "../../packages/drivers/test/netns.js";

/** An iperf3 server in a namespace, a direct child of the test. */
export async function startIperfServer(ns: TestNamespace, port = 5201): Promise<{ stop(): Promise<void> }> {
  const child: ChildProcess = spawn("ip", ["netns", "exec", ns.name, "iperf3", "-s", "-p", String(port), "--forceflush"], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error("iperf3 -s did not start")), 10_000);
    child.stdout?.on("data", (chunk: Buffer) => {
      if (chunk.toString().includes("Server listening")) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.once("exit", () => reject(new Error("iperf3 -s exited")));
  });
  return {
    async stop() {
      if (child.exitCode === null) {
        child.kill("SIGTERM");
        await new Promise((r) => child.once("exit", r));
      }
    },
  };
}

export interface IperfResult {
  /** Receiver goodput in Mbit/s. */
  readonly mbps: number;
  /** Bytes the receiver got. */
  readonly bytes: number;
  /** TCP segments the sender sent again (they are traffic too, but not in `bytes`). */
  readonly retransmits: number;
}

const run = promisify(execFile);

/** iperf3 from the client namespace; `download`: the server sends (-R). Asynchronous, so the test's HTTP client stays alive. */
export async function iperf(
  ns: TestNamespace,
  target: string,
  options: { download: boolean; seconds?: number; bytes?: number; port?: number; bind?: string; bitrate?: string },
): Promise<IperfResult> {
  const args = ["-c", target, "-p", String(options.port ?? 5201), "-J"];
  if (options.bytes !== undefined) args.push("-n", String(options.bytes));
  else args.push("-t", String(options.seconds ?? 4), "-O", "1");
  if (options.download) args.push("-R");
  if (options.bind) args.push("-B", options.bind);
  if (options.bitrate) args.push("-b", options.bitrate);
  const { stdout } = await run("ip", ["netns", "exec", ns.name, "iperf3", ...args], { maxBuffer: 16 * 1024 * 1024 });
  const report = JSON.parse(stdout) as {
    end: { sum_received: { bits_per_second: number; bytes: number }; sum_sent: { bytes: number; retransmits?: number } };
  };
  return {
    mbps: report.end.sum_received.bits_per_second / 1e6,
    bytes: report.end.sum_received.bytes,
    retransmits: report.end.sum_sent.retransmits ?? 0,
  };
}
