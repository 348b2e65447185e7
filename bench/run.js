/**
 * `npm run bench`: builds the packages, then runs each target of issue 7 and prints its
 * figures, the ratio measured side by side in this run, the threshold and PASS/FAIL.
 * Real-tool parts run as root in namespaces they create and remove; without root they
 * are skipped with the reason.
 *
 *   npm run bench                      every target at 1,000 and 10,000 accounts
 *   npm run bench -- --large           also 65,000 on the fakes and the API (the most one installation
 *                                      holds: 65,434 marks) and 50,000 on the real tools (reload, statistics,
 *                                      memory); 100,000 accounts need two installations (see the README)
 *   npm run bench -- --only=1,4        some targets
 *   npm run bench -- --quick           fewer samples (a smoke run; verdicts less sure)
 *
 * Environment: VPNCP_BENCH_LARGE=1 is --large; VPNCP_BENCH_CLI_OUTPUT=1 shows what `vpncp serve` children print.
 */
import { execFileSync } from "node:child_process";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..");
const args = process.argv.slice(2);
const flag = (name) => args.includes(`--${name}`);
const only = args
  .find((a) => a.startsWith("--only="))
  ?.slice(7)
  .split(",")
  .map(Number);

// the benchmarks measure what `vpncp serve` runs: the built packages
console.log("building the packages (tsc -b)…");
try {
  execFileSync(join(ROOT, "node_modules/.bin/tsc"), ["-b", join(ROOT, "tsconfig.build.json")], { stdio: "inherit" });
} catch {
  // a type error elsewhere in the tree still leaves runnable JavaScript behind
  console.log("tsc reported errors (above); benchmarking the JavaScript it emitted");
}

await import("reflect-metadata");
const { createReport } = await import("./lib/report.js");
const { netnsHelpers, realToolsSkipReason } = await import("./lib/netns.js");

const skipSystem = realToolsSkipReason();
const report = createReport();
const ctx = {
  report,
  large: flag("large") || process.env.VPNCP_BENCH_LARGE === "1",
  quick: flag("quick"),
  skipSystem,
  netns: skipSystem ? null : await netnsHelpers(),
};
console.log(
  `node ${process.version}, ${(await import("node:os")).cpus().length} vCPU; real tools: ${skipSystem ? `skipped (${skipSystem})` : "yes (root, namespaces)"}; sizes: 1,000 and 10,000${ctx.large ? " and 65,000 (fakes, API) / 50,000 (real tools)" : " (--large adds 65,000 on the fakes and the API, 50,000 on the real tools)"}`,
);

const targets = [
  [1, "./targets/change.js", "changeTarget"],
  [2, "./targets/reload.js", "reloadTarget"],
  [3, "./targets/throughput.js", "throughputTarget"],
  [4, "./targets/api.js", "apiTarget"],
  [5, "./targets/statistics.js", "statisticsTarget"],
];
const started = performance.now();
for (const [number, file, name] of targets) {
  if (only && !only.includes(number)) continue;
  const module = await import(file);
  try {
    await module[name](ctx);
  } catch (error) {
    report.verdict({ target: `${number} (aborted)`, figures: "-", threshold: "-", pass: false, why: String(error?.stack ?? error) });
  }
}
const failed = report.summary();
console.log(`bench took ${((performance.now() - started) / 1000).toFixed(0)} s`);
process.exitCode = failed > 0 ? 1 : 0;
