/**
 * /system/status keeps the page's fields and folds drift between storage and the system into
 * `status` the way the page writes states: "Error (drift: …)"; a reload makes it "OK" again.
 */
import { firewallAccountSpec } from "@vpncp/core";
import { afterEach, describe, expect, test } from "vitest";
import { type Harness, startHarness } from "./harness.js";

let h: Harness | null = null;
afterEach(async () => {
  await h?.close();
  h = null;
});

interface Status {
  count_accounts: number;
  status: string;
}

describe("/system/status reports drift", () => {
  test("a peer and marks removed behind vpncp's back: Error (drift: …) naming them; after a reload, OK", async () => {
    h = await startHarness("in-process");
    const server = await h.vpncp.servers.create({ name: "s1", address: "10.0.110.1/24" });
    const a1 = await h.vpncp.accounts.create({ wgName: "s1", name: "a1" });
    const a2 = await h.vpncp.accounts.create({ wgName: "s1", name: "a2" });
    const before = await h.api<Status>("GET", "/api/v1/system/status");
    expect(before.body.msg.status).toBe("OK");
    const keys = Object.keys(before.body.msg).sort();

    await h.drivers.wireguard.updatePeers(server.interfaceName, { upsert: [], remove: [a1.publicKey] });
    await h.drivers.firewall.updateAccounts({ upsert: [], remove: [firewallAccountSpec(a2, server)] });
    const drifted = await h.api<Status>("GET", "/api/v1/system/status");
    expect(drifted.status).toBe(200);
    expect(Object.keys(drifted.body.msg).sort()).toEqual(keys);
    expect(drifted.body.msg.count_accounts).toBe(2);
    expect(drifted.body.msg.status).toBe(
      `Error (drift: 3 differences: ${server.interfaceName} (server s1): peer of account a1 (${a1.publicKey}) missing; ` +
        `firewall: mark 0x${a2.mangle.toString(16)} of account a2 (download to ${a2.allowedIp}) missing; ` +
        `firewall: mark 0x${a2.mangle.toString(16)} of account a2 (upload from ${a2.allowedIp}) missing; vpncp doctor names them all)`,
    );

    expect((await h.api("PUT", "/api/v1/system/reload")).body.status).toBe("success");
    expect((await h.api<Status>("GET", "/api/v1/system/status")).body.msg.status).toBe("OK");
  });
});
