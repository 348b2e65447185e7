/**
 * A vpncp start on the real tools in an empty namespace, as after a reboot: stored state
 * (written by the parent) is loaded and applied; then one statistics sample, idle and with
 * every account's counters moved, and the process's resident memory.
 */
import "reflect-metadata";
import { rssMbOf } from "../lib/cli.js";
import { timedSample } from "../lib/stats.js";
import { systemVpncp } from "../lib/system-vpncp.js";
import { serveWorker } from "../lib/worker.js";

let vpncp = null;
let counter = null;
let netns = null;
/** A clock the statistics part moves to the next day (past days are then moved into month records). */
let now = Date.now();
const clock = { now: () => new Date(now) };

serveWorker({
  async reload({ dataDir, namespace }) {
    netns = namespace;
    const started = performance.now();
    ({ vpncp, counter } = await systemVpncp({ netns, dataDir, reload: false, clock }));
    const loadedMs = performance.now() - started;
    const reloadStarted = performance.now();
    await vpncp.reload();
    const totalMs = performance.now() - started;
    // where the time went: WireGuard (daemons, peers, addresses) until the shaper reads, then the batches
    const since = (entry) => entry.end - reloadStarted;
    const firstTcRead = counter.log.find((e) => e.file === "tc");
    const batch = (file) => counter.log.find((e) => e.file === file && e.args.includes("-"));
    const stages = {
      storage: loadedMs,
      wireguard: firstTcRead ? since(firstTcRead) - firstTcRead.ms : Number.NaN,
      tcBatch: batch("tc")?.ms ?? Number.NaN,
      nft: batch("nft")?.ms ?? Number.NaN,
    };
    return {
      loadedMs,
      totalMs,
      stages,
      accounts: vpncp.accounts.count,
      counts: counter.take(),
      inputs: counter.inputs.map(({ file, args, input }) => ({ file, args, input })),
    };
  },

  /**
   * Statistics: one idle sample; one after every account's counters grew (set through nft, no
   * packets needed); one the next day with traffic again (it also moves past days into month records).
   */
  async statistics() {
    const idle = await timedSample(vpncp);
    const accounts = [...vpncp.accounts.list()];
    const grow = async (round) => {
      const lines = ["flush map inet vpncp mark_down4", "flush map inet vpncp mark_up4"];
      for (const [map, factor] of [
        ["mark_down4", 3],
        ["mark_up4", 1],
      ]) {
        const elements = accounts.map(
          (a, i) =>
            `${a.allowedIp} counter packets ${(i + 1) * round} bytes ${(i + 1) * 1000 * factor * round} : 0x${a.mangle.toString(16)}`,
        );
        lines.push(`add element inet vpncp ${map} { ${elements.join(", ")} }`);
      }
      await counter.runner.run("nft", ["-f", "-"], { input: `${lines.join("\n")}\n` });
    };
    await grow(1);
    const busy = await timedSample(vpncp);
    now += 24 * 3600_000;
    await grow(2);
    const nextDay = await timedSample(vpncp);
    return { idle, busy, nextDay, rssMb: rssMbOf(process.pid) };
  },

  async close() {
    await vpncp?.close();
    vpncp = null;
  },
});
