/** vpncp on the fakes with N stored accounts: the CPU of one statistics sample, idle and with every account's counters moved. */
import "reflect-metadata";
import { readFileSync } from "node:fs";
import { createVpncp } from "@vpncp/core";
import { createFakeDrivers, fakeDriversModule } from "@vpncp/drivers";
import { interfaceNames, makeState, writeToDirectory } from "../lib/fixture.js";
import { serveWorker } from "../lib/worker.js";

let vpncp = null;
let drivers = null;
let now = Date.now();
const clock = { now: () => new Date(now) };

async function sample() {
  const cpu = process.cpuUsage();
  const started = performance.now();
  const result = await vpncp.statistics.sample();
  const used = process.cpuUsage(cpu);
  return { cpuMs: (used.user + used.system) / 1000, wallMs: performance.now() - started, withTraffic: result.deltas.size };
}

serveWorker({
  async run({ dataDir, servers, perServer, tag }) {
    writeToDirectory(dataDir, makeState({ servers, perServer, nextInterface: interfaceNames(tag) }));
    drivers = createFakeDrivers();
    vpncp = await createVpncp({
      drivers: fakeDriversModule(drivers),
      storage: { driver: "fs", options: { base: dataDir } },
      clock,
      timezone: "UTC",
    });
    const idle = await sample();
    const traffic = () => {
      for (const account of vpncp.accounts.list()) drivers.firewall.simulateTraffic(account.allowedIp, { downBytes: 3000, upBytes: 1000 });
    };
    traffic();
    const busy = await sample();
    now += 24 * 3600_000;
    traffic();
    const nextDay = await sample();
    const rss = Number(readFileSync("/proc/self/status", "utf8").match(/VmRSS:\s+(\d+)/)?.[1] ?? 0) / 1024;
    return { idle, busy, nextDay, rssMb: rss };
  },
  async close() {
    await vpncp?.close();
  },
});
