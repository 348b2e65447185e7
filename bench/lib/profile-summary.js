/** Self time per function of a V8 .cpuprofile: `node bench/lib/profile-summary.js FILE [N]`. */
import { readFileSync } from "node:fs";

export function summarize(profile, top = 15) {
  const self = new Map();
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const dt = profile.timeDeltas;
  const total = dt.reduce((a, b) => a + b, 0);
  profile.samples.forEach((id, i) => {
    const node = byId.get(id);
    const frame = node.callFrame;
    const key = `${frame.functionName || "(anonymous)"} ${frame.url.split("/").slice(-2).join("/")}:${frame.lineNumber + 1}`;
    self.set(key, (self.get(key) ?? 0) + (dt[i] ?? 0));
  });
  return {
    totalMs: total / 1000,
    top: [...self]
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([name, us]) => ({ name, ms: us / 1000, share: us / total })),
  };
}

if (process.argv[1] && import.meta.url.endsWith(process.argv[1].split("/").pop())) {
  const { totalMs, top } = summarize(JSON.parse(readFileSync(process.argv[2], "utf8")), Number(process.argv[3] ?? 20));
  console.log(`total ${totalMs.toFixed(0)} ms`);
  for (const row of top) console.log(`${(row.share * 100).toFixed(1).padStart(5)}%  ${row.ms.toFixed(1).padStart(8)} ms  ${row.name}`);
}
