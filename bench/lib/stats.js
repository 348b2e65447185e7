/** Small numeric helpers for the benchmark reports. */

export function percentile(values, p) {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank];
}

export const median = (values) => percentile(values, 50);

export function ms(value) {
  if (!Number.isFinite(value)) return "n/a";
  if (value >= 10_000) return `${(value / 1000).toFixed(1)} s`;
  if (value >= 1000) return `${(value / 1000).toFixed(2)} s`;
  if (value >= 100) return `${value.toFixed(0)} ms`;
  if (value >= 10) return `${value.toFixed(1)} ms`;
  return `${value.toFixed(2)} ms`;
}

export function ratio(value) {
  return Number.isFinite(value) ? `${value.toFixed(2)}×` : "n/a";
}

/** Wall time of an async function, in ms. */
export async function timed(task) {
  const started = performance.now();
  const value = await task();
  return { ms: performance.now() - started, value };
}

/** `object[key]`, created with `make()` when absent (per-tool lists, per-op counts). */
export function slot(object, key, make = () => []) {
  if (!(key in object)) object[key] = make();
  return object[key];
}

/** CPU (user + system) and wall time of one statistics sample of a vpncp instance. */
export async function timedSample(vpncp) {
  const cpu = process.cpuUsage();
  const started = performance.now();
  const result = await vpncp.statistics.sample();
  const used = process.cpuUsage(cpu);
  return { cpuMs: (used.user + used.system) / 1000, wallMs: performance.now() - started, withTraffic: result.deltas.size };
}
