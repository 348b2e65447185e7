import type { Vpncp } from "@vpncp/core";
import type { H3 } from "h3";
import { field, readForm } from "../body.js";
import { success } from "../envelope.js";
import { presentConfig, presentInfo, presentStatus } from "../presenters.js";

export function systemRoutes(app: H3, vpncp: Vpncp): void {
  app.get("/api/v1/system/status", () => success(presentStatus(vpncp.system.status())));
  app.get("/api/v1/system/info", async () => success(presentInfo(await vpncp.system.info())));
  app.put("/api/v1/system/reload", async () => {
    await vpncp.system.reload();
    return success("success");
  });
  app.get("/api/v1/system/config", () => success(presentConfig(vpncp.system.config)));
  app.put("/api/v1/system/config", async (event) => {
    const form = await readForm(event);
    const config = await vpncp.system.setConfig({
      trafficStatisticsFrequency: field(form, "traffic_statistics_frequency"),
      trafficStatisticsHistory: field(form, "traffic_statistics_history"),
      wireguardHandshakeUptime: field(form, "wireguard_handshake_uptime"),
    });
    return success(presentConfig(config));
  });
  app.put("/api/v1/system/config/default", async () => success(presentConfig(await vpncp.system.resetConfig())));
  // vpncp extension: take a traffic statistics sample now instead of waiting for the next one
  app.put("/api/v1/system/statistics/sample", async () => {
    const sample = await vpncp.statistics.sample();
    return success({ date: sample.date, accounts: sample.accounts, duration_ms: Math.round(sample.durationMs * 10) / 10 });
  });
}
