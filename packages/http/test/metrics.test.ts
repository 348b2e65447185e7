import { createVpncp } from "@vpncp/core";
import { createFakeDrivers, fakeDriversModule } from "@vpncp/drivers";
import { afterEach, describe, expect, test } from "vitest";
import { createHttpApp } from "../src/app.js";
import { type Harness, manualClock, startHarness, TRANSPORTS } from "./harness.js";

describe.each(TRANSPORTS)("GET /metrics (%s)", (kind) => {
  let h: Harness;
  afterEach(async () => {
    await h?.close();
  });

  test("guarded by an access hash; Prometheus text with traffic, online state, collector timing and process metrics", async () => {
    h = await startHarness(kind, { clock: manualClock(new Date()) });
    const denied = await h.fetch("/metrics");
    expect(denied.status).toBe(401);
    expect(await denied.json()).toEqual({ error: "Not authorized", msg: "", status: "error" });

    await h.api("POST", "/api/v1/wireguard", "name=s&address=10.0.105.1/24");
    await h.api("POST", "/api/v1/account", "wg_name=s&name=alice&allowed_IPs=10.0.105.18");
    await h.api("POST", "/api/v1/account", "wg_name=s&name=bob&allowed_IPs=10.0.105.19&status=disable");
    const alice = h.vpncp.accounts.get("alice");
    h.drivers.firewall.simulateTraffic("10.0.105.18", { downBytes: 5000, upBytes: 700 });
    await h.vpncp.statistics.sample();
    h.drivers.firewall.simulateTraffic("10.0.105.18", { downBytes: 1000, upBytes: 300 });
    await h.vpncp.statistics.sample();
    h.drivers.wireguard.simulateTraffic("wg0", alice.publicKey, {
      latestHandshake: Math.floor(Date.now() / 1000) - 5,
      endpoint: "192.0.2.7:1234",
    });

    const response = await h.fetch("/metrics", { headers: { cookie: `access_hash=${h.hash}` } });
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toMatch(/^text\/plain/);
    const text = await response.text();
    expect(text).toMatch(/^vpncp_account_traffic_bytes_total\{account="alice",direction="download"\} 6000$/m);
    expect(text).toMatch(/^vpncp_account_traffic_bytes_total\{account="alice",direction="upload"\} 1000$/m);
    expect(text).toMatch(/^vpncp_account_online\{account="alice",protocol="wireguard"\} 1$/m);
    expect(text).not.toMatch(/vpncp_account_online\{account="bob"/);
    // two samples here, plus the one taken before the server creation reloaded the ruleset
    expect(text).toMatch(/^vpncp_statistics_sample_duration_seconds_count 3$/m);
    expect(text).toMatch(/^vpncp_statistics_sampled_accounts 1$/m);
    expect(text).toMatch(/^vpncp_accounts\{status="enable"\} 1$/m);
    expect(text).toMatch(/^vpncp_accounts\{status="disable"\} 1$/m);
    expect(text).toMatch(/^vpncp_process_resident_memory_bytes \d+/m);
    expect(text).toMatch(/^vpncp_nodejs_eventloop_lag_seconds /m);
  });
});

test("a separate bearer token may read /metrics, and nothing else", async () => {
  const vpncp = await createVpncp({ drivers: fakeDriversModule(createFakeDrivers()), storage: { driver: "memory" } });
  try {
    const app = createHttpApp(vpncp, { metricsToken: "scrape-token-123" });
    expect((await app.request("/metrics", { headers: { authorization: "Bearer scrape-token-123" } })).status).toBe(200);
    expect((await app.request("/metrics", { headers: { authorization: "Bearer wrong" } })).status).toBe(401);
    expect((await app.request("/api/v1/system/status", { headers: { authorization: "Bearer scrape-token-123" } })).status).toBe(401);
  } finally {
    await vpncp.close();
  }
});
