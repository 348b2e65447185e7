/**
 * Target 5: one statistics sample at 10,000 accounts costs ≤ 300 ms of CPU (process.cpuUsage
 * around it: vpncp's own work, not the tools'), on the fakes and on the real nft; vpncp's
 * resident memory at 10,000 accounts ≤ 150 MB (of `vpncp serve --drivers system` itself).
 * Samples: idle (no counter moved), busy (every account's counters moved: every account's
 * day is booked), and the next day (busy again, and past days move into month records).
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { peakRssMbOf, rssMbOf, startCli } from "../lib/cli.js";
import { interfaceNames, makeState, writeToDirectory } from "../lib/fixture.js";
import { ms } from "../lib/stats.js";
import { startWorker } from "../lib/worker.js";

const FAKE = new URL("../workers/statistics-fake.js", import.meta.url);
const SYSTEM = new URL("../workers/reload.js", import.meta.url);
const IDLE_MS = 30_000;

async function fakeRun(size) {
  const dataDir = mkdtempSync(join(tmpdir(), "vpncp-bench-stats-"));
  const worker = startWorker(FAKE);
  try {
    return await worker.call("run", { dataDir, ...size });
  } finally {
    await worker.call("close").catch(() => {});
    await worker.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

async function systemRun(ctx, size) {
  const dataDir = mkdtempSync(join(tmpdir(), "vpncp-bench-stats-"));
  const ns = ctx.netns.createNamespace();
  const worker = startWorker(SYSTEM);
  try {
    writeToDirectory(dataDir, makeState({ servers: size.servers, perServer: size.perServer, nextInterface: interfaceNames(size.tag) }));
    await worker.call("reload", { dataDir, namespace: ns.name });
    return await worker.call("statistics");
  } finally {
    await worker.call("close").catch(() => {});
    await worker.stop();
    ns.dispose();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

/**
 * `vpncp serve` on stored accounts: its resident memory once started, after two samples, and
 * `idleMs` later; `peak` is the kernel's high-water mark (the most it ever held, reload included).
 */
async function serveRss(ctx, size, drivers, { idleMs = IDLE_MS, nodeFlags = [] } = {}) {
  const dataDir = mkdtempSync(join(tmpdir(), "vpncp-bench-rss-"));
  const ns = drivers === "system" ? ctx.netns.createNamespace() : null;
  let cli = null;
  try {
    writeToDirectory(
      dataDir,
      makeState({ servers: size.servers, perServer: size.perServer, nextInterface: interfaceNames(`${size.tag}m`) }),
    );
    cli = await startCli({ dataDir, drivers, netns: ns?.name, nodeFlags });
    const started = rssMbOf(cli.pid);
    for (let i = 0; i < 2; i += 1) await cli.api("PUT", "/api/v1/system/statistics/sample");
    const sampled = rssMbOf(cli.pid);
    // V8 gives back the heap a start and a sample grew once the process idles (its memory reducer)
    if (idleMs > 0) await new Promise((resolve) => setTimeout(resolve, idleMs));
    return { started, sampled, idle: rssMbOf(cli.pid), peak: peakRssMbOf(cli.pid) };
  } finally {
    await cli?.stop();
    ns?.dispose();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

/** A size past the targets' (50,000) that fails is reported and skipped, so the 10,000 verdicts still come. */
async function beyondTarget(ctx, size, task) {
  if (size.servers * size.perServer <= 10_000) return task();
  try {
    return await task();
  } catch (error) {
    const lines = String(error?.message ?? error).split("\n");
    const reason =
      lines
        .filter((l) => /warn|error|failed/i.test(l))
        .slice(-3)
        .join(" / ") || lines[0];
    ctx.report.line(`${size.servers * size.perServer} accounts on the real tools failed: ${reason.slice(0, 600)}`);
    return null;
  }
}

const describe = (r) =>
  `CPU per sample: idle ${ms(r.idle.cpuMs)}, every account with traffic ${ms(r.busy.cpuMs)} (${r.busy.withTraffic} booked, ${ms(r.busy.wallMs)} wall), next day ${ms(r.nextDay.cpuMs)} (${ms(r.nextDay.wallMs)} wall)`;

const worst = (r) => Math.max(r.idle.cpuMs, r.busy.cpuMs, r.nextDay.cpuMs);

export async function statisticsTarget(ctx) {
  const { report } = ctx;
  report.heading("5. Statistics sample and memory");
  const sizes = [
    { servers: 10, perServer: 100, tag: "f" },
    { servers: 10, perServer: 1_000, tag: "g" },
  ];
  // --large: the most one installation holds on the fakes (marks are HTB class minors: 65,434), and
  // 50,000 on the real tools (their start waits ~100 s for the kernel's HTB class adds, see target 2)
  const systemSizes = [...sizes];
  if (ctx.large) {
    sizes.push({ servers: 65, perServer: 1_000, tag: "h" });
    systemSizes.push({ servers: 50, perServer: 1_000, tag: "h" });
  }
  const fake = [];
  for (const size of sizes) {
    const r = await fakeRun(size);
    fake.push(r);
    report.line(`fakes ${size.servers * size.perServer}: ${describe(r)}`);
  }
  report.verdict({
    target: "5 one statistics sample at 10,000 accounts (fakes), CPU, the worst of idle / busy / next day",
    figures: `${ms(worst(fake[1]))} CPU (1,000 accounts: ${ms(worst(fake[0]))})`,
    threshold: "≤ 300 ms",
    pass: worst(fake[1]) <= 300,
  });
  if (ctx.skipSystem) {
    report.verdict({
      target: "5 statistics on real nft, RSS",
      figures: "-",
      threshold: "≤ 300 ms, ≤ 150 MB",
      pass: null,
      why: ctx.skipSystem,
    });
    return;
  }
  const system = [];
  for (const size of systemSizes) {
    const r = await beyondTarget(ctx, size, () => systemRun(ctx, size));
    if (!r) continue;
    system.push(r);
    report.line(`real nft ${size.servers * size.perServer}: ${describe(r)}`);
  }
  report.verdict({
    target: "5 one statistics sample at 10,000 accounts (real nft), CPU, the worst of idle / busy / next day",
    figures: `${ms(worst(system[1]))} CPU (1,000 accounts: ${ms(worst(system[0]))})`,
    threshold: "≤ 300 ms",
    pass: worst(system[1]) <= 300,
  });
  const mb = (value) => `${value.toFixed(0)} MB`;
  const describeRss = (r) =>
    `RSS ${mb(r.started)} just started, ${mb(r.sampled)} right after two samples${r.idleMs > 0 ? `, ${mb(r.idle)} ${r.idleMs / 1000} s later` : ""}; peak ${mb(r.peak)}`;
  // what the process holds with no account at all (node, the packages, the HTTP server)
  const empty = await serveRss(ctx, { servers: 1, perServer: 0, tag: "e" }, "system", { idleMs: 0 });
  report.line(`vpncp serve --drivers system, 0 accounts: ${describeRss({ ...empty, idleMs: 0 })}`);
  const rss = [];
  for (const size of systemSizes) {
    const r = await beyondTarget(ctx, size, () => serveRss(ctx, size, "system"));
    if (!r) continue;
    rss.push(r);
    report.line(`vpncp serve --drivers system, ${size.servers * size.perServer} accounts: ${describeRss({ ...r, idleMs: IDLE_MS })}`);
  }
  // Most of the peak is the heap's sizing, not data: V8's young generation grows to 2 × 16 MB while
  // 10,000 records load (they all survive), and garbage promoted by the reload and the samples stays
  // until the next full collection, which V8 puts off while the old generation is under its limit.
  // The same start with the young generation capped, then also the old generation, shows how much.
  const capped = [];
  for (const flags of [["--max-semi-space-size=1"], ["--max-semi-space-size=1", "--max-old-space-size=80"]]) {
    const r = await serveRss(ctx, sizes[1], "system", { idleMs: 0, nodeFlags: flags });
    capped.push({ flags: flags.join(" "), ...r });
    report.line(`the same with node ${flags.join(" ")}, 10000 accounts: ${describeRss({ ...r, idleMs: 0 })}`);
  }
  const r10 = rss[1];
  const cause = `with 0 accounts it already holds ${mb(empty.peak)}; the rest is mostly V8's heap sizing: the peak at 10,000 is ${capped.map((c) => `${mb(c.peak)} with node ${c.flags}`).join(", ")}`;
  report.verdict({
    target: "5 resident memory of vpncp serve --drivers system with 10,000 accounts, peak (the most it held: reload and two samples)",
    figures: `${mb(r10.peak)} (1,000 accounts: ${mb(rss[0].peak)}; 0 accounts: ${mb(empty.peak)})`,
    threshold: "≤ 150 MB",
    pass: r10.peak <= 150,
    why: r10.peak > 150 ? cause : "",
  });
  report.verdict({
    target: `5 resident memory of vpncp serve --drivers system with 10,000 accounts, settled (${IDLE_MS / 1000} s after two samples)`,
    figures: `${mb(r10.idle)} (1,000 accounts: ${mb(rss[0].idle)})`,
    threshold: "≤ 150 MB",
    pass: r10.idle <= 150,
  });
}
