import "reflect-metadata";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { interfaceNames, makeState, writeToDirectory } from "./lib/fixture.js";
import { netnsHelpers } from "./lib/netns.js";
import { systemVpncp } from "./lib/system-vpncp.js";

const rss = () => Number(readFileSync("/proc/self/status", "utf8").match(/VmRSS:\s+(\d+)/)[1]) / 1024;
const mem = (l) => {
  global.gc();
  const m = process.memoryUsage();
  console.log(
    l,
    "rss",
    rss().toFixed(0),
    "heapUsed",
    (m.heapUsed / 1e6).toFixed(0),
    "heapTotal",
    (m.heapTotal / 1e6).toFixed(0),
    "ext",
    (m.external / 1e6).toFixed(0),
    "ab",
    (m.arrayBuffers / 1e6).toFixed(0),
  );
};
const { createNamespace } = await netnsHelpers();
const ns = createNamespace();
const dir = mkdtempSync(join(tmpdir(), "vpncp-bench-"));
mem("start");
writeToDirectory(dir, makeState({ servers: 10, perServer: 1000, nextInterface: interfaceNames("m") }));
mem("fixture");
try {
  const { vpncp } = await systemVpncp({ netns: ns.name, dataDir: dir, reload: false });
  mem("loaded");
  await vpncp.reload();
  mem("reloaded");
  await vpncp.statistics.sample();
  mem("sampled");
  if (process.env.SNAP) {
    const v8 = await import("node:v8");
    console.log(v8.writeHeapSnapshot("/tmp/vpncp.heapsnapshot"));
  }
  await vpncp.close();
} finally {
  ns.dispose();
  rmSync(dir, { recursive: true, force: true });
}
