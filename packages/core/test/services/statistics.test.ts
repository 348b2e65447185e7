import { afterEach, describe, expect, test } from "vitest";
import { ERRORS } from "../../src/errors.js";
import type { TrafficSample } from "../../src/index.js";
import { type Harness, startHarness, testClock } from "./harness.js";

const harnesses: Harness[] = [];
afterEach(async () => {
  for (const h of harnesses.splice(0).reverse()) await h.close();
});

async function setup(start: string, timezone?: string) {
  const clock = testClock(start);
  const h = await startHarness({ clock, ...(timezone ? { timezone } : {}) });
  harnesses.push(h);
  await h.vpncp.servers.create({ name: "s", address: "10.0.105.1/24" });
  const a = await h.vpncp.accounts.create({ wgName: "s", name: "alice", allowedIp: "10.0.105.18" });
  const b = await h.vpncp.accounts.create({ wgName: "s", name: "bob", allowedIp: "10.0.105.19" });
  return { h, clock, a, b };
}

function day(days: { date: string; traffic_download: number; traffic_upload: number }[], date: string) {
  const found = days.find((d) => d.date === date);
  return found ? [found.traffic_download, found.traffic_upload] : undefined;
}

describe("traffic statistics", () => {
  test("deltas of the firewall's mark counters are added to the account's day, exactly", async () => {
    const { h, clock } = await setup("2022-11-10T08:00:00Z");
    const fw = h.drivers.firewall;
    fw.simulateTraffic("10.0.105.18", { downBytes: 1000, upBytes: 300 });
    await h.vpncp.statistics.sample();
    fw.simulateTraffic("10.0.105.18", { downBytes: 500, upBytes: 200 });
    fw.simulateTraffic("10.0.105.19", { downBytes: 7, upBytes: 3 });
    clock.set("2022-11-10T08:05:00Z");
    await h.vpncp.statistics.sample();
    // nothing new: nothing added
    clock.set("2022-11-10T08:10:00Z");
    await h.vpncp.statistics.sample();

    const alice = await h.vpncp.statistics.month("alice", "2022", "11");
    expect(alice).toHaveLength(30);
    expect(alice.map((d) => d.date)).toEqual(Array.from({ length: 30 }, (_, i) => `2022-11-${String(i + 1).padStart(2, "0")}`));
    expect(day(alice, "2022-11-10")).toEqual([1500, 500]);
    expect(alice.filter((d) => d.date !== "2022-11-10").every((d) => d.traffic_download === 0 && d.traffic_upload === 0)).toBe(true);
    expect(day(await h.vpncp.statistics.month("bob", 2022, 11), "2022-11-10")).toEqual([7, 3]);
  });

  test("a counter that goes down (rules reloaded) counts from zero again; nothing is counted twice", async () => {
    const { h, clock } = await setup("2022-11-10T08:00:00Z");
    const fw = h.drivers.firewall;
    fw.simulateTraffic("10.0.105.18", { downBytes: 10_000, upBytes: 1_000 });
    await h.vpncp.statistics.sample();
    fw.resetCounters();
    fw.simulateTraffic("10.0.105.18", { downBytes: 400, upBytes: 40 });
    clock.set("2022-11-10T08:05:00Z");
    await h.vpncp.statistics.sample();
    expect(day(await h.vpncp.statistics.month("alice", "2022", "11"), "2022-11-10")).toEqual([10_400, 1_040]);
  });

  test("a server change reloads the ruleset, and the counters are booked before it", async () => {
    const { h } = await setup("2022-11-10T08:00:00Z");
    h.drivers.firewall.simulateTraffic("10.0.105.18", { downBytes: 900, upBytes: 90 });
    await h.vpncp.servers.create({ name: "other" }); // a full firewall apply: counters restart
    h.drivers.firewall.simulateTraffic("10.0.105.18", { downBytes: 100, upBytes: 10 });
    await h.vpncp.statistics.sample();
    expect(day(await h.vpncp.statistics.month("alice", "2022", "11"), "2022-11-10")).toEqual([1000, 100]);
  });

  test("days, months and years follow the clock in the installation's timezone", async () => {
    const { h, clock } = await setup("2022-12-31T22:00:00Z", "Europe/Warsaw");
    const fw = h.drivers.firewall;
    await h.vpncp.statistics.sample();
    fw.simulateTraffic("10.0.105.18", { downBytes: 100, upBytes: 1 });
    clock.set("2022-12-31T22:50:00Z"); // 23:50 in Warsaw
    await h.vpncp.statistics.sample();
    fw.simulateTraffic("10.0.105.18", { downBytes: 200, upBytes: 2 });
    clock.set("2022-12-31T23:10:00Z"); // 00:10 on 1 January in Warsaw
    await h.vpncp.statistics.sample();
    fw.simulateTraffic("10.0.105.18", { downBytes: 300, upBytes: 3 });
    clock.set("2023-01-02T10:00:00Z");
    await h.vpncp.statistics.sample();
    const december = await h.vpncp.statistics.month("alice", "2022", "12");
    const january = await h.vpncp.statistics.month("alice", "2023", "1");
    expect(december).toHaveLength(31);
    expect(day(december, "2022-12-31")).toEqual([100, 1]);
    expect(day(january, "2023-01-01")).toEqual([200, 2]);
    expect(day(january, "2023-01-02")).toEqual([300, 3]);
    const range = await h.vpncp.statistics.range("alice", "2022-12-31", "2023-01-02");
    expect(range.map((d) => [d.date, d.traffic_download])).toEqual([
      ["2022-12-31", 100],
      ["2023-01-01", 200],
      ["2023-01-02", 300],
    ]);
  });

  test("months older than traffic_statistics_history are pruned", async () => {
    const { h, clock } = await setup("2022-09-15T12:00:00Z");
    await h.vpncp.system.setConfig({ trafficStatisticsHistory: 1 });
    const fw = h.drivers.firewall;
    for (const [iso, bytes] of [
      ["2022-09-15T12:00:00Z", 10],
      ["2022-10-15T12:00:00Z", 20],
      ["2022-11-15T12:00:00Z", 30],
    ] as const) {
      clock.set(iso);
      fw.simulateTraffic("10.0.105.18", { downBytes: bytes });
      await h.vpncp.statistics.sample();
    }
    expect(day(await h.vpncp.statistics.month("alice", "2022", "09"), "2022-09-15")).toEqual([0, 0]);
    expect(day(await h.vpncp.statistics.month("alice", "2022", "10"), "2022-10-15")).toEqual([20, 0]);
    expect(day(await h.vpncp.statistics.month("alice", "2022", "11"), "2022-11-15")).toEqual([30, 0]);
  });

  test("a restart between samples keeps what was sampled and books what the kernel counted meanwhile", async () => {
    const { h } = await setup("2022-11-10T08:00:00Z");
    const drivers = h.drivers;
    drivers.firewall.simulateTraffic("10.0.105.18", { downBytes: 100, upBytes: 10 });
    await h.vpncp.statistics.sample();
    drivers.firewall.simulateTraffic("10.0.105.18", { downBytes: 50, upBytes: 5 });
    // vpncp restarts; the kernel (here: the same fake drivers) keeps counting
    await h.vpncp.close();
    const { createVpncp } = await import("../../src/index.js");
    const { fakeDriversModule } = await import("@vpncp/drivers");
    const again = await createVpncp({
      drivers: fakeDriversModule(drivers),
      storage: { driver: "fs", options: { base: h.dataDir } },
      clock: { now: () => new Date("2022-11-10T08:30:00Z") },
      timezone: "UTC",
    });
    try {
      drivers.firewall.simulateTraffic("10.0.105.18", { downBytes: 7, upBytes: 1 });
      await again.statistics.sample();
      expect(day(await again.statistics.month("alice", "2022", "11"), "2022-11-10")).toEqual([157, 16]);
    } finally {
      await again.close();
    }
  });

  test("a past day of many accounts reads the same before, while and after it is moved into month records, across a restart", async () => {
    const { h, clock } = await setup("2022-11-10T08:00:00Z");
    // more accounts than one sample moves (100), so the move takes several samples
    await h.vpncp.servers.create({ name: "big", address: "10.0.108.1/22" });
    const names = ["alice", "bob"];
    for (let i = 0; i < 300; i += 1) names.push((await h.vpncp.accounts.create({ wgName: "big", name: `p${i}` })).name);
    const expected = new Map(names.map((name, i) => [name, [1000 + i, 10 + i]]));
    for (const account of h.vpncp.accounts.list()) {
      const [down, up] = expected.get(account.name) ?? [0, 0];
      h.drivers.firewall.simulateTraffic(account.allowedIp, { downBytes: down, upBytes: up });
    }
    await h.vpncp.statistics.sample();
    const check = async (vpncp: typeof h.vpncp) => {
      for (const name of [names[0]!, names[150]!, names[301]!]) {
        expect(day(await vpncp.statistics.month(name, "2022", "11"), "2022-11-10")).toEqual(expected.get(name));
      }
    };
    await check(h.vpncp);
    clock.set("2022-11-11T08:00:00Z");
    await h.vpncp.statistics.sample(); // moves 100 of the 302
    await check(h.vpncp);
    const again = await h.restart();
    harnesses.push(again);
    await check(again.vpncp);
    for (let i = 0; i < 3; i += 1) await again.vpncp.statistics.sample(); // the rest, 100 per sample
    await check(again.vpncp);
    expect((await again.vpncp.storage.getKeys("stats:days")).length).toBe(0);
  });

  test("with a sample every 12 hours, a past day of every account moves into month records at the next sample", async () => {
    const { h, clock } = await setup("2022-11-10T08:00:00Z");
    await h.vpncp.system.setConfig({ trafficStatisticsFrequency: 720 });
    await h.vpncp.servers.create({ name: "big", address: "10.0.108.1/22" });
    for (let i = 0; i < 150; i += 1) await h.vpncp.accounts.create({ wgName: "big", name: `p${i}` });
    for (const account of h.vpncp.accounts.list()) h.drivers.firewall.simulateTraffic(account.allowedIp, { downBytes: 10, upBytes: 1 });
    await h.vpncp.statistics.sample();
    clock.set("2022-11-10T20:00:00Z");
    await h.vpncp.statistics.sample();
    expect(await h.vpncp.storage.getKeys("stats:days")).toHaveLength(1); // today's
    clock.set("2022-11-11T08:00:00Z");
    await h.vpncp.statistics.sample();
    expect(await h.vpncp.storage.getKeys("stats:days")).toEqual([]);
    expect(day(await h.vpncp.statistics.month("p149", "2022", "11"), "2022-11-10")).toEqual([10, 1]);
  });

  test("each sample is an event with the deltas and the counters", async () => {
    const { h } = await setup("2022-11-10T08:00:00Z");
    const seen: TrafficSample[] = [];
    h.vpncp.statistics.on("sample", (s) => seen.push(s));
    h.drivers.firewall.simulateTraffic("10.0.105.19", { downBytes: 42, upBytes: 4 });
    await h.vpncp.statistics.sample();
    expect(seen).toHaveLength(1);
    expect(seen[0]?.date).toBe("2022-11-10");
    expect(seen[0]?.deltas.get("bob")).toEqual({ download: 42, upload: 4 });
    expect(seen[0]?.accounts).toBe(2);
  });

  test("wrong month and year settings give the documented errors", async () => {
    const { h } = await setup("2022-11-10T08:00:00Z");
    for (const month of ["0", "13", "x", "", "1.5"]) {
      await expect(h.vpncp.statistics.month("alice", "2022", month)).rejects.toMatchObject({ message: ERRORS.WRONG_MONTH.message });
    }
    for (const year of ["22", "abcd", "1969", "20222"]) {
      await expect(h.vpncp.statistics.month("alice", year, "11")).rejects.toMatchObject({ message: ERRORS.WRONG_YEAR.message });
    }
    expect(await h.vpncp.statistics.month("alice", "2024", "02")).toHaveLength(29);
  });
});
