import type { TrafficSample, Vpncp } from "@vpncp/core";
import type { H3 } from "h3";
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from "prom-client";

/**
 * Prometheus metrics: per-account traffic counted by the statistics collector
 * (monotonic since this process started), who is online per protocol, the
 * collector's own timing, and the process's metrics. One registry per app.
 */
export function createMetrics(vpncp: Vpncp): { registry: Registry; dispose(): void } {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: "vpncp_" });

  const traffic = new Counter({
    name: "vpncp_account_traffic_bytes_total",
    help: "Bytes counted for an account by the statistics collector since vpncp started (download: to the client)",
    labelNames: ["account", "direction"] as const,
    registers: [registry],
  });
  const sampleDuration = new Histogram({
    name: "vpncp_statistics_sample_duration_seconds",
    help: "Time one statistics sample took",
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [registry],
  });
  const sampledAccounts = new Gauge({
    name: "vpncp_statistics_sampled_accounts",
    help: "Accounts read by the last sample",
    registers: [registry],
  });
  const lastSample = new Gauge({
    name: "vpncp_statistics_last_sample_timestamp_seconds",
    help: "Unix time of the last sample",
    registers: [registry],
  });
  const accounts = new Gauge({
    name: "vpncp_accounts",
    help: "Accounts by status",
    labelNames: ["status"] as const,
    registers: [registry],
    collect() {
      let enabled = 0;
      for (const account of vpncp.accounts.list()) if (account.status === "enable") enabled += 1;
      this.set({ status: "enable" }, enabled);
      this.set({ status: "disable" }, vpncp.accounts.count - enabled);
    },
  });
  new Gauge({
    name: "vpncp_account_online",
    help: "1 for accounts with a live session (WireGuard: handshake within wireguard_handshake_uptime; IKEv2: an established SA)",
    labelNames: ["account", "protocol"] as const,
    registers: [registry],
    async collect() {
      this.reset();
      const [wireguard, ikev2] = await Promise.all([vpncp.views.wireguardOnline(), vpncp.views.ikev2Online().catch(() => [])]);
      for (const o of wireguard) this.set({ account: o.account.name, protocol: "wireguard" }, 1);
      for (const o of ikev2) this.set({ account: o.account.name, protocol: "ikev2" }, 1);
    },
  });
  void accounts;

  const onSample = (sample: TrafficSample) => {
    sampleDuration.observe(sample.durationMs / 1000);
    sampledAccounts.set(sample.accounts);
    lastSample.set(Math.floor(sample.at.getTime() / 1000));
    for (const [account, delta] of sample.deltas) {
      if (delta.download > 0) traffic.inc({ account, direction: "download" }, delta.download);
      if (delta.upload > 0) traffic.inc({ account, direction: "upload" }, delta.upload);
    }
  };
  vpncp.statistics.on("sample", onSample);
  return { registry, dispose: () => vpncp.statistics.off("sample", onSample) };
}

/** GET /metrics in the Prometheus text format (the app's auth guards it). */
export function metricsRoute(app: H3, registry: Registry): void {
  app.get("/metrics", async () => {
    return new Response(await registry.metrics(), { headers: { "content-type": registry.contentType } });
  });
}
