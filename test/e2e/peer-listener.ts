import { type ChildProcess, spawn } from "node:child_process";
import type { TestNamespace } from "../../packages/drivers/test/netns.js";

const LISTENER = `
const net = require("node:net");
net.createServer((socket) => {
  console.log("peer " + socket.remoteAddress.replace(/^::ffff:/, ""));
  socket.end("hello\\n");
}).listen(Number(process.argv[1]), "0.0.0.0", () => console.log("ready"));
`;

/** A TCP listener in a namespace that reports the source address of every connection (to see NAT). */
export async function startPeerListener(ns: TestNamespace, port: number): Promise<{ peers: string[]; stop(): Promise<void> }> {
  const child: ChildProcess = spawn("ip", ["netns", "exec", ns.name, process.execPath, "-e", LISTENER, String(port)], {
    stdio: ["ignore", "pipe", "inherit"],
  });
  const peers: string[] = [];
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error("listener did not start")), 10_000);
    child.stdout?.on("data", (chunk: Buffer) => {
      for (const line of chunk.toString().split("\n")) {
        if (line === "ready") {
          clearTimeout(timer);
          resolve();
        }
        if (line.startsWith("peer ")) peers.push(line.slice(5));
      }
    });
  });
  return {
    peers,
    async stop() {
      if (child.exitCode === null) {
        child.kill("SIGTERM");
        await new Promise((r) => child.once("exit", r));
      }
    },
  };
}

/** Connects from a namespace to host:port and returns what the peer said. */
export function connectFrom(ns: TestNamespace, host: string, port: number): string {
  return ns.exec(process.execPath, [
    "-e",
    `const s=require("node:net").connect(${port},${JSON.stringify(host)});let d="";s.on("data",c=>d+=c);s.on("end",()=>{process.stdout.write(d)});s.on("error",e=>{console.error(e.message);process.exit(1)});setTimeout(()=>process.exit(2),8000).unref();`,
  ]);
}
