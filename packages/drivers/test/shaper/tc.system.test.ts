/**
 * The tc driver against the real tools, in network namespaces: the contract on a veth
 * pair, then real traffic (iperf3) between a "server" namespace, whose veth end plays the
 * WireGuard interface, and a "client" namespace holding the accounts' addresses.
 * Downloads are classified the way the firewall driver will do it (skb priority from a
 * test-owned nft table); uploads by the driver's own IFB + hashed u32.
 */
import type { CommandRunner, DaemonHandle, ShaperAccountSpec } from "@vpncp/core";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import createTcShaper, { classIdOf, ifbNameOf, type TcShaper } from "../../src/shaper/tc.js";
import { testShaperDriver } from "../contract/shaper.js";
import { createNamespace, linkNamespaces, realToolsUnavailable, type TestNamespace, uniqueName } from "../netns.js";

const skip = realToolsUnavailable(["tc", "nft", "iperf3"]);

testShaperDriver({
  name: "tc (netns)",
  skip,
  create: async () => {
    const ns = createNamespace();
    const a = uniqueName("ve");
    const b = uniqueName("ve");
    ns.exec("ip", ["link", "add", a, "type", "veth", "peer", "name", b]);
    ns.exec("ip", ["link", "set", a, "up"]);
    ns.exec("ip", ["link", "set", b, "up"]);
    const shaper = createTcShaper({ runner: ns.runner });
    return {
      shaper,
      interfaces: [a, b],
      async dispose() {
        await shaper.dispose();
        ns.dispose();
      },
    };
  },
});

/** 300 accounts in 10.0.104.0/22 (10.0.104.16 … 10.0.105.59), marks 0x100 … 0x22b, 50 Mbit/s. */
function manyAccounts(): ShaperAccountSpec[] {
  return Array.from({ length: 300 }, (_, i) => {
    const host = 16 + i;
    return { mark: 0x100 + i, ipv4: `10.0.${104 + (host >> 8)}.${host & 0xff}`, downloadMbit: 50, uploadMbit: 50 };
  });
}

// Two accounts whose addresses share the u32 hash bucket 0x12 (last byte 18), v4 and v6.
const ALICE: ShaperAccountSpec = { mark: 0x102, ipv4: "10.0.104.18", ipv6: "fd00:104::12", downloadMbit: 20, uploadMbit: 20 };
const BOB: ShaperAccountSpec = { mark: 0x104, ipv4: "10.0.104.20", downloadMbit: 5, uploadMbit: 5 };
const CAROL: ShaperAccountSpec = { mark: 0x202, ipv4: "10.0.105.18", ipv6: "fd00:104::1:12", downloadMbit: 8, uploadMbit: 8 };
const SERVER4 = "10.0.104.1";
const SERVER6 = "fd00:104::1";

describe.skipIf(Boolean(skip))("tc shaper on a real interface", () => {
  let ns: TestNamespace | undefined;
  afterAll(() => ns?.dispose());

  test("re-applying writes nothing; changing the subnets rebuilds the upload classifier, which then reads back cleanly", async () => {
    ns = createNamespace();
    const wg = uniqueName("ve");
    ns.exec("ip", ["link", "add", wg, "type", "veth", "peer", "name", uniqueName("ve")]);
    const writes: string[] = [];
    const inner = ns.runner;
    const runner: CommandRunner = {
      netns: inner.netns,
      spawn: (file, args, options) => inner.spawn(file, args, options),
      run: (file, args, options) => {
        if (args.includes("-batch")) writes.push(`${file}: ${options?.input ?? ""}`);
        return inner.run(file, args, options);
      },
    };
    const accounts = [ALICE, BOB, { ...CAROL, ipv4: "192.168.7.18" }];
    const spec = { interface: wg, subnets: ["10.0.104.0/22", "fd00:104::/64"], accounts };
    await createTcShaper({ runner }).applyInterfaces([spec]);
    expect(writes).toHaveLength(2); // ip (IFB) + tc
    await createTcShaper({ runner }).applyInterfaces([spec]);
    expect(writes).toHaveLength(2);
    await createTcShaper({ runner }).applyInterfaces([{ ...spec, subnets: ["10.0.104.0/23", "192.168.7.0/24", "fd00:104::/64"] }]);
    expect(writes).toHaveLength(3);
    expect(writes[2]).toContain(`filter del dev ${ifbNameOf(wg)} parent 1: protocol ip prio 10`);
    await createTcShaper({ runner }).applyInterfaces([{ ...spec, subnets: ["10.0.104.0/23", "192.168.7.0/24", "fd00:104::/64"] }]);
    expect(writes).toHaveLength(3);
    const filters = ns.exec("tc", ["filter", "show", "dev", ifbNameOf(wg), "parent", "1:"]);
    expect(filters.match(/flowid 1:/g)).toHaveLength(5); // 3 IPv4 + 2 IPv6 accounts, no leftovers
    expect(filters).toContain("match 0a006800/fffffe00 at 12");
  });
});

function within(measured: number, target: number): void {
  expect(measured).toBeGreaterThanOrEqual(target * 0.85);
  expect(measured).toBeLessThanOrEqual(target * 1.15);
}

function sentBytes(text: string | undefined): number {
  return Number(/Sent (\d+) bytes/.exec(text ?? "")?.[1] ?? Number.NaN);
}

describe.skipIf(Boolean(skip))("tc shaper with real traffic (iperf3 between namespaces)", () => {
  let server: TestNamespace;
  let client: TestNamespace;
  let wg: string;
  let shaper: TcShaper;
  let iperf: DaemonHandle | undefined;

  beforeAll(async () => {
    server = createNamespace();
    client = createNamespace();
    const link = linkNamespaces(server, `${SERVER4}/22`, client, "10.0.104.2/22");
    wg = link.ifA;
    for (const address of [ALICE.ipv4, BOB.ipv4, CAROL.ipv4]) client.exec("ip", ["addr", "add", `${address}/22`, "dev", link.ifB]);
    server.exec("ip", ["addr", "add", `${SERVER6}/64`, "dev", wg, "nodad"]);
    for (const address of [ALICE.ipv6, CAROL.ipv6]) client.exec("ip", ["addr", "add", `${address}/64`, "dev", link.ifB, "nodad"]);

    shaper = createTcShaper({ runner: server.runner });
    const accounts = manyAccounts().map((a) => [ALICE, BOB, CAROL].find((s) => s.mark === a.mark) ?? a);
    expect(accounts.filter((a) => [ALICE, BOB, CAROL].includes(a))).toHaveLength(3);
    await shaper.applyInterfaces([{ interface: wg, subnets: ["10.0.104.0/22", "fd00:104::/64"], accounts }]);

    // What the firewall driver does for downloads: skb priority = the account's class.
    server.exec(
      "nft",
      ["-f", "-"],
      `table inet vpncptest {
  chain post {
    type filter hook postrouting priority mangle; policy accept;
    oifname "${wg}" meta priority set ip daddr map { ${[ALICE, BOB].map((a) => `${a.ipv4} : ${classIdOf(a.mark)}`).join(", ")} }
  }
}
`,
    );

    let listening: () => void = () => {};
    const ready = new Promise<void>((resolve, reject) => {
      listening = resolve;
      setTimeout(() => reject(new Error("iperf3 -s did not start listening within 10 s")), 10_000);
    });
    // --forceflush: the banner would otherwise sit in stdio's pipe buffer.
    iperf = server.runner.spawn("iperf3", ["-s", "--forceflush"], { onOutput: (line) => line.includes("Server listening") && listening() });
    await ready;
  });

  afterAll(async () => {
    await iperf?.stop();
    await shaper?.dispose();
    client?.dispose();
    server?.dispose();
  });

  interface Run {
    /** Receiver goodput over the run, Mbit/s. */
    readonly mbit: number;
    readonly intervals: { start: number; end: number; mbit: number }[];
  }

  /** iperf3 from `from` (client namespace) to the server; `download` = server sends (-R). */
  async function iperf3(from: string, download: boolean, extra: readonly string[] = ["-t", "3", "-O", "1"]): Promise<Run> {
    const to = from.includes(":") ? SERVER6 : SERVER4;
    const { stdout } = await client.runner.run("iperf3", ["-c", to, "-B", from, "-J", ...(download ? ["-R"] : []), ...extra], {
      timeoutMs: 30_000,
    });
    const report = JSON.parse(stdout) as {
      end: { sum_received: { bits_per_second: number } };
      intervals: { sum: { start: number; end: number; bits_per_second: number; omitted: boolean } }[];
    };
    return {
      mbit: report.end.sum_received.bits_per_second / 1e6,
      intervals: report.intervals
        .filter((i) => !i.sum.omitted)
        .map((i) => ({ start: i.sum.start, end: i.sum.end, mbit: i.sum.bits_per_second / 1e6 })),
    };
  }

  async function classSent(mark: number): Promise<{ download: number; upload: number }> {
    const classes = await shaper.classes(wg, mark);
    return {
      download: sentBytes(classes.find((c) => c.direction === "download")?.text),
      upload: sentBytes(classes.find((c) => c.direction === "upload")?.text),
    };
  }

  test("downloads are held to the account's class: 20 and 5 Mbit/s", async () => {
    const alice = await iperf3(ALICE.ipv4, true);
    const bob = await iperf3(BOB.ipv4, true);
    console.info(`download: alice ${alice.mbit.toFixed(1)} Mbit/s (20), bob ${bob.mbit.toFixed(1)} Mbit/s (5)`);
    within(alice.mbit, 20);
    within(bob.mbit, 5);
  });

  test("uploads go through the IFB and are held to the account's class: 20 and 5 Mbit/s", async () => {
    const alice = await iperf3(ALICE.ipv4, false);
    const bob = await iperf3(BOB.ipv4, false);
    console.info(`upload via ${ifbNameOf(wg)}: alice ${alice.mbit.toFixed(1)} Mbit/s (20), bob ${bob.mbit.toFixed(1)} Mbit/s (5)`);
    within(alice.mbit, 20);
    within(bob.mbit, 5);
  });

  test("the hashed u32 classifier picks each account's own class among 300 (same bucket, IPv4 and IPv6)", async () => {
    const neighbour = manyAccounts()[3]?.mark ?? 0; // 10.0.104.19, next bucket
    const before = await Promise.all([ALICE.mark, CAROL.mark, neighbour].map(classSent));
    const carol4 = await iperf3(CAROL.ipv4, false);
    const mid = await Promise.all([ALICE.mark, CAROL.mark, neighbour].map(classSent));
    const carol6 = await iperf3(CAROL.ipv6 ?? "", false);
    const after = await Promise.all([ALICE.mark, CAROL.mark, neighbour].map(classSent));
    console.info(`upload carol (8 Mbit/s, bucket 0x12 with alice): IPv4 ${carol4.mbit.toFixed(1)}, IPv6 ${carol6.mbit.toFixed(1)} Mbit/s`);
    within(carol4.mbit, 8);
    within(carol6.mbit, 8);
    const [aliceBefore, carolBefore, neighbourBefore] = before;
    const [aliceMid, carolMid] = mid;
    const [aliceAfter, carolAfter, neighbourAfter] = after;
    // Carol's upload class carried each run (≈ 8 Mbit/s × 4 s ≈ 4 MB); alice's and the neighbour's carried nothing.
    expect((carolMid?.upload ?? 0) - (carolBefore?.upload ?? 0)).toBeGreaterThan(2_000_000);
    expect((carolAfter?.upload ?? 0) - (carolMid?.upload ?? 0)).toBeGreaterThan(2_000_000);
    expect(aliceAfter?.upload).toBe(aliceBefore?.upload);
    expect(aliceMid?.upload).toBe(aliceBefore?.upload);
    expect(neighbourAfter?.upload).toBe(neighbourBefore?.upload);
  });

  test("a rate change by updateAccounts holds on a running flow (20 → 50 Mbit/s)", async () => {
    const running = iperf3(ALICE.ipv4, true, ["-t", "5", "-i", "1"]);
    await new Promise((resolve) => setTimeout(resolve, 2500));
    await shaper.updateAccounts(wg, { upsert: [{ ...ALICE, downloadMbit: 50 }], remove: [] });
    const run = await running;
    const mean = (xs: { mbit: number }[]) => xs.reduce((n, x) => n + x.mbit, 0) / xs.length;
    const before = mean(run.intervals.filter((i) => i.start >= 1 && i.end <= 2.01));
    const after = mean(run.intervals.filter((i) => i.start >= 2.99));
    console.info(`live change, one flow: ${run.intervals.map((i) => i.mbit.toFixed(1)).join(" ")} Mbit/s per second`);
    within(before, 20);
    within(after, 50);
    expect((await shaper.classes(wg, ALICE.mark)).find((c) => c.direction === "download")?.text).toContain("rate 50Mbit ceil 50Mbit");
  });
});
