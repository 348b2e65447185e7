/** vpncp on the fakes with N stored accounts: the CPU of one statistics sample, idle and with every account's counters moved. */
import "reflect-metadata";
import { createVpncp } from "@vpncp/core";
import { createFakeDrivers, fakeDriversModule } from "@vpncp/drivers";
import { rssMbOf } from "../lib/cli.js";
import { interfaceNames, makeState, writeToDirectory } from "../lib/fixture.js";
import { timedSample } from "../lib/stats.js";
import { serveWorker } from "../lib/worker.js";

let vpncp = null;
let drivers = null;
let now = Date.now();
const clock = { now: () => new Date(now) };

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
    const idle = await timedSample(vpncp);
    const traffic = () => {
      for (const account of vpncp.accounts.list()) drivers.firewall.simulateTraffic(account.allowedIp, { downBytes: 3000, upBytes: 1000 });
    };
    traffic();
    const busy = await timedSample(vpncp);
    now += 24 * 3600_000;
    traffic();
    const nextDay = await timedSample(vpncp);
    return { idle, busy, nextDay, rssMb: rssMbOf(process.pid) };
  },
  async close() {
    await vpncp?.close();
  },
});
