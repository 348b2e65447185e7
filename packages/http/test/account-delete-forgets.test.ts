/**
 * Deleting an account forgets its traffic statistics and its one-time links: an account created
 * later with the same name shows no traffic, and the old account's link answers like an unknown
 * key (it must never open the new account's configuration).
 */
import { afterEach, describe, expect, test } from "vitest";
import { form, type Harness, manualClock, startHarness } from "./harness.js";

const open: Harness[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((h) => h.close()));
});

describe("DELETE /account/:name forgets what belonged to the account", () => {
  test("a re-created account of the same name shows no traffic, and the old link answers like an unknown key", async () => {
    const clock = manualClock("2022-11-10T12:00:00Z");
    const h = await startHarness("in-process", { clock });
    open.push(h);
    const { api, drivers, vpncp } = h;
    expect((await api("POST", "/api/v1/wireguard", form({ name: "srv", address: "10.0.105.1/24" }))).body.status).toBe("success");
    const created = await api<Record<string, string>>("POST", "/api/v1/account", form({ wg_name: "srv", name: "alice" }));
    expect(created.body.status).toBe("success");
    const ip = created.body.msg.allowed_IPs ?? "";

    // a past day (moved into its month record by the next sample) and today
    drivers.firewall.simulateTraffic(ip, { downBytes: 4000, upBytes: 1000 });
    await vpncp.statistics.sample();
    clock.set("2022-11-11T12:00:00Z");
    drivers.firewall.simulateTraffic(ip, { downBytes: 700, upBytes: 300 });
    await vpncp.statistics.sample();
    const traffic = async () => {
      const month = await api<{ date: string; traffic_download: number; traffic_upload: number }[]>(
        "GET",
        "/api/v1/account/alice/traffic_statistics/2022/11",
      );
      return month.body.msg.filter((d) => d.traffic_download > 0 || d.traffic_upload > 0).map((d) => d.date);
    };
    expect(await traffic()).toEqual(["2022-11-10", "2022-11-11"]);

    const link = (await api<string>("GET", "/api/v1/account/alice/otl")).body.msg;
    const oldKey = link.split("/otl/")[1] ?? "";
    expect(oldKey).toMatch(/^[0-9a-f]{80}$/);

    expect((await api("DELETE", "/api/v1/account/alice")).body.status).toBe("success");
    const again = await api<Record<string, string>>("POST", "/api/v1/account", form({ wg_name: "srv", name: "alice" }));
    expect(again.body.status).toBe("success");
    // the same address, so the same firewall counter too: it counts the new account only from now
    expect(again.body.msg.allowed_IPs).toBe(ip);

    expect(await traffic()).toEqual([]);
    drivers.firewall.simulateTraffic(ip, { downBytes: 50, upBytes: 5 });
    await vpncp.statistics.sample();
    const month = await api<{ date: string; traffic_download: number; traffic_upload: number }[]>(
      "GET",
      "/api/v1/account/alice/traffic_statistics/2022/11",
    );
    expect(month.body.msg.find((d) => d.date === "2022-11-11")).toMatchObject({ traffic_download: 50, traffic_upload: 5 });

    // the old link: the page of an unknown key, and gone from the list
    const unknown = await h.fetch(`/otl/${"0".repeat(80)}`);
    const old = await h.fetch(`/otl/${oldKey}`);
    expect(old.status).toBe(unknown.status);
    const oldPage = await old.text();
    expect(oldPage).toBe(await unknown.text());
    expect(oldPage).not.toContain(vpncp.accounts.get("alice").privateKey);
    const list = await api<{ olts: Record<string, unknown> }>("GET", "/api/v1/otl/list");
    expect(Object.keys(list.body.msg.olts)).toEqual([]);

    // the new account's own link works
    const fresh = (await api<string>("GET", "/api/v1/account/alice/otl")).body.msg;
    const page = await (await h.fetch(new URL(fresh).pathname)).text();
    expect(page).toContain(vpncp.accounts.get("alice").privateKey);
  });
});
