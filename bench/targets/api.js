/**
 * Target 4: `GET /api/v1/account/NAME` of `vpncp serve` with 10,000 accounts sustains
 * ≥ 0.7× the requests/s of a bare h3 JSON route served the same way; the full
 * `GET /api/v1/account` of 10,000 answers in < 1 s; `?limit=&offset=` pages it.
 * The load comes from another process on loopback; the two servers take turns.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startCli } from "../lib/cli.js";
import { interfaceNames, makeState, writeToDirectory } from "../lib/fixture.js";
import { median, ms, ratio } from "../lib/stats.js";
import { startWorker } from "../lib/worker.js";

const LOAD = new URL("../workers/load.js", import.meta.url);
const BARE = new URL("../workers/bare-h3.js", import.meta.url);
const CONCURRENCY = 16;
const ROUNDS = 5;

async function timedGet(cli, path) {
  const started = performance.now();
  const response = await fetch(`${cli.url}${path}`, { headers: { cookie: cli.cookie } });
  const body = await response.json();
  return { ms: performance.now() - started, status: response.status, body };
}

async function measureSize(ctx, { servers, perServer, tag }, bare, load) {
  const { report } = ctx;
  const state = makeState({ servers, perServer, nextInterface: interfaceNames(tag) });
  const dataDir = mkdtempSync(join(tmpdir(), "vpncp-bench-api-"));
  let cli = null;
  try {
    writeToDirectory(dataDir, state);
    cli = await startCli({ dataDir, drivers: "fake" });
    const paths = state.accounts.filter((_, i) => i % 7 === 0).map((a) => `/api/v1/account/${a.name}`);
    const durationMs = ctx.quick ? 1_500 : 3_000;
    // warm both up (JIT), then alternate
    await load.call("run", { base: bare, paths, concurrency: CONCURRENCY, durationMs: 500 });
    await load.call("run", { base: cli.url, paths, cookie: cli.cookie, concurrency: CONCURRENCY, durationMs: 500 });
    const rounds = [];
    for (let i = 0; i < ROUNDS; i += 1) {
      const b = await load.call("run", { base: bare, paths, concurrency: CONCURRENCY, durationMs });
      const v = await load.call("run", { base: cli.url, paths, cookie: cli.cookie, concurrency: CONCURRENCY, durationMs });
      if (v.errors > 0 || b.errors > 0) throw new Error(`errors under load: vpncp ${v.errors}, bare ${b.errors}`);
      rounds.push({ bare: b, vpncp: v });
    }
    const full = [];
    let listed = 0;
    for (let i = 0; i < 5; i += 1) {
      const r = await timedGet(cli, "/api/v1/account");
      listed = r.body.msg.length;
      full.push(r.ms);
    }
    const offset = state.accounts.length - 100;
    const page = await timedGet(cli, `/api/v1/account?limit=100&offset=${offset}`);
    const expectedFirst = cli ? (await timedGet(cli, "/api/v1/account")).body.msg[offset]?.name : undefined;
    const result = {
      accounts: state.accounts.length,
      bare: median(rounds.map((r) => r.bare.rps)),
      vpncp: median(rounds.map((r) => r.vpncp.rps)),
      paired: median(rounds.map((r) => r.vpncp.rps / r.bare.rps)),
      p99: median(rounds.map((r) => r.vpncp.p99)),
      full: median(full),
      listed,
      page: { ms: page.ms, length: page.body.msg.length, right: page.body.msg[0]?.name === expectedFirst },
    };
    report.line(
      `${result.accounts} accounts: GET /account/NAME ${result.vpncp.toFixed(0)} req/s (p99 ${ms(result.p99)}) vs bare h3 ${result.bare.toFixed(0)} req/s = ${ratio(result.paired)}; full list ${ms(result.full)} (${listed} accounts); page of 100 at offset ${offset}: ${ms(page.ms)}, ${result.page.length} accounts`,
    );
    return result;
  } finally {
    await cli?.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

export async function apiTarget(ctx) {
  const { report } = ctx;
  report.heading("4. API under load (vpncp serve --drivers fake vs a bare h3 route, load from another process)");
  const bareWorker = startWorker(BARE);
  const load = startWorker(LOAD);
  try {
    const { url: bare } = await bareWorker.call("start");
    const sizes = [
      { servers: 10, perServer: 100, tag: "a" },
      { servers: 10, perServer: 1_000, tag: "b" },
    ];
    // --large: the most one installation holds (65,434 marks, one per account)
    if (ctx.large) sizes.push({ servers: 65, perServer: 1_000, tag: "c" });
    const results = [];
    for (const size of sizes) results.push(await measureSize(ctx, size, bare, load));
    const r10 = results[1];
    report.verdict({
      target: "4 GET /api/v1/account/NAME with 10,000 accounts vs a bare h3 JSON route, requests/s",
      figures: `${r10.vpncp.toFixed(0)} vs ${r10.bare.toFixed(0)} req/s (${CONCURRENCY} connections, medians of ${ROUNDS} alternating rounds; 1,000 accounts: ${results[0].vpncp.toFixed(0)} req/s)`,
      ratio: ratio(r10.paired),
      threshold: "≥ 0.7×",
      pass: r10.paired >= 0.7,
    });
    report.verdict({
      target: "4 full GET /api/v1/account of 10,000 accounts",
      figures: `${ms(r10.full)} (median of 5; ${r10.listed} accounts; 1,000: ${ms(results[0].full)})`,
      threshold: "< 1 s",
      pass: r10.full < 1000 && r10.listed === r10.accounts,
    });
    report.verdict({
      target: "4 ?limit=100&offset=9900 pages the list",
      figures: `${r10.page.length} accounts in ${ms(r10.page.ms)}, the first is the list's 9,901st: ${r10.page.right}`,
      threshold: "100, the right ones",
      pass: r10.page.length === 100 && r10.page.right,
    });
  } finally {
    await bareWorker.call("close").catch(() => {});
    await bareWorker.stop();
    await load.stop();
  }
}
