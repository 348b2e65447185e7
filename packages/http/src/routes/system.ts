import { Doctor, type Vpncp } from "@vpncp/core";
import type { H3 } from "h3";
import { field, readForm } from "../body.js";
import { success } from "../envelope.js";
import { presentConfig, presentInfo, presentStatus } from "../presenters.js";

/** How long /system/status waits for a drift check before answering from the previous one. */
const STATUS_CHECK_WAIT_MS = 1_000;

export function systemRoutes(app: H3, vpncp: Vpncp): void {
  const doctor = vpncp.container.get(Doctor);
  // Concurrent status requests share one check of the system. Callers probe status with short time
  // limits (the WHMCS bridge: 3 s): a check that takes longer (tens of thousands of accounts) answers
  // from the last finished one and goes on for the next request.
  let checking: Promise<string[]> | null = null;
  let last: string[] = [];
  const drift = async (): Promise<string[]> => {
    checking ??= doctor
      .check({ confirm: true })
      .then(
        (found) => found.map((d) => d.message),
        (error: unknown) => [
          `the system state could not be read: ${error instanceof Error ? error.message.split("\n")[0] : String(error)}`,
        ],
      )
      .then((lines) => {
        last = lines;
        return lines;
      })
      .finally(() => {
        checking = null;
      });
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<null>((resolve) => {
      timer = setTimeout(() => resolve(null), STATUS_CHECK_WAIT_MS);
    });
    try {
      return (await Promise.race([checking, late])) ?? last;
    } finally {
      clearTimeout(timer);
    }
  };
  // The page's fields stay as they are (a billing module reads exactly those): drift between storage
  // and the system is folded into `status` the way the page writes states, "Error (drift: …)". It is
  // judged only while nothing is being applied ("OK"); "Loading (…)" and the reconciler's errors win.
  app.get("/api/v1/system/status", async () => {
    const status = vpncp.system.status();
    const found = status.status === "OK" ? await drift() : [];
    return success(presentStatus(found.length === 0 ? status : { ...status, status: driftStatus(found) }));
  });
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

/** "Error (drift: 2 differences: wg0 (server s1): peer of account a1 (…) missing; …)", at most three named. */
function driftStatus(lines: readonly string[]): string {
  const named = lines.slice(0, 3).join("; ");
  const more = lines.length > 3 ? `; and ${lines.length - 3} more` : "";
  return `Error (drift: ${lines.length} difference${lines.length === 1 ? "" : "s"}: ${named}${more}; vpncp doctor names them all)`;
}
