import type { RunOptions } from "@vpncp/core";
import { describe, expect, test } from "vitest";
import { FakeCommandRunner } from "../../src/command-runner/fake.js";
import { canonicalAddress, formatTcRate, ifbNameOf, TcShaper } from "../../src/shaper/tc.js";

const ALICE = { mark: 109, ipv4: "10.0.105.18", ipv6: "fd00:105::12", downloadMbit: 20, uploadMbit: 5 };
const BOB = { mark: 110, ipv4: "10.0.105.20", downloadMbit: 5, uploadMbit: 0 };
const SUBNETS = ["10.0.105.0/24", "fd00:105::/64"];

// What the real tools print for wg0 after applying [ALICE] (captured in a namespace, iproute2 6.1).
const SHAPED = {
  qdiscs: [
    "qdisc noqueue 0: dev lo root refcnt 2 ",
    "qdisc htb 1: dev wg0 root refcnt 3 r2q 10 default 0xfffe direct_packets_stat 0 direct_qlen 1000",
    "qdisc ingress ffff: dev wg0 parent ffff:fff1 ---------------- ",
    "qdisc htb 1: dev ifb-wg0 root refcnt 2 r2q 10 default 0xfffe direct_packets_stat 0 direct_qlen 32",
    "",
  ].join("\n"),
  links: [
    "1: lo: <LOOPBACK,UP,LOWER_UP> mtu 65536 qdisc noqueue state UNKNOWN mode DEFAULT group default qlen 1000\\    link/loopback 00:00:00:00:00:00 brd 00:00:00:00:00:00",
    "3: wg0@if2: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1500 qdisc htb state UP mode DEFAULT group default qlen 1000\\    link/ether 2a:4c:1e:0b:5e:11 brd ff:ff:ff:ff:ff:ff link-netns vn1",
    "4: ifb-wg0: <BROADCAST,NOARP,UP,LOWER_UP> mtu 1500 qdisc htb state UNKNOWN mode DEFAULT group default qlen 32\\    link/ether e6:c7:fe:44:27:57 brd ff:ff:ff:ff:ff:ff\n",
    "",
  ].join("\n"),
  ingress: [
    "filter parent ffff: protocol all pref 1 u32 chain 0 ",
    "filter parent ffff: protocol all pref 1 u32 chain 0 fh 800: ht divisor 1 ",
    "filter parent ffff: protocol all pref 1 u32 chain 0 fh 800::1 order 1 key ht 800 bkt 0 terminal flowid not_in_hw ",
    "  match 00000000/00000000 at 0",
    "\taction order 1: mirred (Egress Redirect to device ifb-wg0) stolen",
    "\tindex 1 ref 1 bind 1",
    "",
  ].join("\n"),
  download: [
    "class htb 1:fffe parent 1:1 prio 0 rate 10Gbit ceil 10Gbit burst 0b cburst 0b ",
    "class htb 1:1 root rate 10Gbit ceil 10Gbit burst 0b cburst 0b ",
    "class htb 1:6d parent 1:1 prio 0 rate 20Mbit ceil 20Mbit burst 1600b cburst 1600b ",
    "",
  ].join("\n"),
  upload: [
    "class htb 1:fffe parent 1:1 prio 0 rate 10Gbit ceil 10Gbit burst 0b cburst 0b ",
    "class htb 1:1 root rate 10Gbit ceil 10Gbit burst 0b cburst 0b ",
    "class htb 1:6d parent 1:1 prio 0 rate 5Mbit ceil 5Mbit burst 1600b cburst 1600b ",
    "",
  ].join("\n"),
  filters: [
    "filter protocol ip pref 10 u32 chain 0 ",
    "filter protocol ip pref 10 u32 chain 0 fh 1: ht divisor 256 ",
    "filter protocol ip pref 10 u32 chain 0 fh 1:12:1 order 1 key ht 1 bkt 12 *flowid 1:6d not_in_hw ",
    "  match 0a006912/ffffffff at 12",
    "filter protocol ip pref 10 u32 chain 0 fh 800: ht divisor 1 ",
    "filter protocol ip pref 10 u32 chain 0 fh 800::800 order 2048 key ht 800 bkt 0 link 1: not_in_hw ",
    "  match 0a006900/ffffff00 at 12",
    "    hash mask 000000ff at 12 ",
    "filter protocol ipv6 pref 11 u32 chain 0 ",
    "filter protocol ipv6 pref 11 u32 chain 0 fh 400: ht divisor 256 ",
    "filter protocol ipv6 pref 11 u32 chain 0 fh 400:12:1 order 1 key ht 400 bkt 12 *flowid 1:6d not_in_hw ",
    "  match fd000105/ffffffff at 8",
    "  match 00000000/ffffffff at 12",
    "  match 00000000/ffffffff at 16",
    "  match 00000012/ffffffff at 20",
    "filter protocol ipv6 pref 11 u32 chain 0 fh 801: ht divisor 1 ",
    "filter protocol ipv6 pref 11 u32 chain 0 fh 801::800 order 2048 key ht 801 bkt 0 link 400: not_in_hw ",
    "  match fd000105/ffffffff at 8",
    "  match 00000000/ffffffff at 12",
    "    hash mask 000000ff at 20 ",
    "",
  ].join("\n"),
};

/** A runner answering the reads like a machine where only `devices` exist, unshaped. */
function freshMachine(...devices: string[]): FakeCommandRunner {
  return new FakeCommandRunner().respond((file, args) => {
    if (file === "tc" && args.join(" ") === "qdisc show")
      return { stdout: devices.map((d) => `qdisc noqueue 0: dev ${d} root refcnt 2 \n`).join("") };
    if (file === "ip" && args.join(" ") === "-o link show") {
      return {
        stdout: devices.map((d, i) => `${i + 2}: ${d}: <POINTOPOINT,NOARP,UP,LOWER_UP> mtu 1420 qdisc noqueue state UNKNOWN\n`).join(""),
      };
    }
    return undefined;
  });
}

function shapedMachine(): FakeCommandRunner {
  return new FakeCommandRunner().respond((file, args) => {
    const line = `${file} ${args.join(" ")}`;
    const answers: Record<string, string> = {
      "tc qdisc show": SHAPED.qdiscs,
      "ip -o link show": SHAPED.links,
      "tc filter show dev wg0 ingress": SHAPED.ingress,
      "tc class show dev wg0": SHAPED.download,
      "tc class show dev ifb-wg0": SHAPED.upload,
      "tc filter show dev ifb-wg0 parent 1:": SHAPED.filters,
    };
    return line in answers ? { stdout: answers[line] } : undefined;
  });
}

const writes = (runner: FakeCommandRunner) => runner.commands.filter((c) => c.args.includes("-batch"));

describe("TcShaper batches", () => {
  test("applyInterfaces on fresh interfaces: one ip -batch for the IFBs, one tc -batch for everything, hex class ids", async () => {
    const runner = freshMachine("wg0", "wg1");
    const shaper = new TcShaper({ runner });
    await shaper.applyInterfaces([
      { interface: "wg0", subnets: SUBNETS, accounts: [ALICE, BOB] },
      { interface: "wg1", subnets: ["10.0.106.0/24"], accounts: [] },
    ]);
    const [ip, tc, ...more] = writes(runner);
    expect(more).toEqual([]);
    expect(ip?.file).toBe("ip");
    expect(ip?.input).toBe("link add ifb-wg0 type ifb\nlink set dev ifb-wg0 up\nlink add ifb-wg1 type ifb\nlink set dev ifb-wg1 up\n");
    expect(tc?.file).toBe("tc");
    expect(tc?.args).toEqual(["-batch", "-"]);
    expect(tc?.input).toMatchInlineSnapshot(`
      "qdisc replace dev wg0 root handle 1: htb default fffe
      class add dev wg0 parent 1: classid 1:1 htb rate 10gbit ceil 10gbit quantum 200000
      class add dev wg0 parent 1:1 classid 1:fffe htb rate 10gbit ceil 10gbit quantum 200000
      class add dev wg0 parent 1:1 classid 1:6d htb rate 20mbit ceil 20mbit quantum 200000
      class add dev wg0 parent 1:1 classid 1:6e htb rate 5mbit ceil 5mbit quantum 62500
      qdisc replace dev ifb-wg0 root handle 1: htb default fffe
      class add dev ifb-wg0 parent 1: classid 1:1 htb rate 10gbit ceil 10gbit quantum 200000
      class add dev ifb-wg0 parent 1:1 classid 1:fffe htb rate 10gbit ceil 10gbit quantum 200000
      class add dev ifb-wg0 parent 1:1 classid 1:6d htb rate 5mbit ceil 5mbit quantum 62500
      class add dev ifb-wg0 parent 1:1 classid 1:6e htb rate 10gbit ceil 10gbit quantum 200000
      filter add dev ifb-wg0 parent 1: protocol ip prio 10 handle 1: u32 divisor 256
      filter add dev ifb-wg0 parent 1: protocol ipv6 prio 11 handle 400: u32 divisor 256
      filter add dev ifb-wg0 parent 1: protocol ip prio 10 u32 match ip src 10.0.105.0/24 hashkey mask 0x000000ff at 12 link 1:
      filter add dev ifb-wg0 parent 1: protocol ipv6 prio 11 u32 match ip6 src fd00:105::/64 hashkey mask 0x000000ff at 20 link 400:
      filter add dev ifb-wg0 parent 1: protocol ip prio 10 handle 1:12:1 u32 ht 1:12: match ip src 10.0.105.18/32 flowid 1:6d
      filter add dev ifb-wg0 parent 1: protocol ipv6 prio 11 handle 400:12:1 u32 ht 400:12: match ip6 src fd00:105::12/128 flowid 1:6d
      filter add dev ifb-wg0 parent 1: protocol ip prio 10 handle 1:14:1 u32 ht 1:14: match ip src 10.0.105.20/32 flowid 1:6e
      qdisc add dev wg0 handle ffff: ingress
      filter replace dev wg0 parent ffff: protocol all prio 1 handle 800::1 u32 match u32 0 0 action mirred egress redirect dev ifb-wg0
      qdisc replace dev wg1 root handle 1: htb default fffe
      class add dev wg1 parent 1: classid 1:1 htb rate 10gbit ceil 10gbit quantum 200000
      class add dev wg1 parent 1:1 classid 1:fffe htb rate 10gbit ceil 10gbit quantum 200000
      qdisc replace dev ifb-wg1 root handle 1: htb default fffe
      class add dev ifb-wg1 parent 1: classid 1:1 htb rate 10gbit ceil 10gbit quantum 200000
      class add dev ifb-wg1 parent 1:1 classid 1:fffe htb rate 10gbit ceil 10gbit quantum 200000
      filter add dev ifb-wg1 parent 1: protocol ip prio 10 handle 1: u32 divisor 256
      filter add dev ifb-wg1 parent 1: protocol ip prio 10 u32 match ip src 10.0.106.0/24 hashkey mask 0x000000ff at 12 link 1:
      qdisc add dev wg1 handle ffff: ingress
      filter replace dev wg1 parent ffff: protocol all prio 1 handle 800::1 u32 match u32 0 0 action mirred egress redirect dev ifb-wg1
      "
    `);
  });

  test("re-applying over what tc prints for the same spec writes nothing", async () => {
    const runner = shapedMachine();
    await new TcShaper({ runner }).applyInterfaces([{ interface: "wg0", subnets: SUBNETS, accounts: [ALICE] }]);
    expect(writes(runner)).toEqual([]);
  });

  test("re-applying a changed spec writes only the difference, filters before class deletes", async () => {
    const runner = shapedMachine();
    await new TcShaper({ runner }).applyInterfaces([
      { interface: "wg0", subnets: SUBNETS, accounts: [{ ...BOB, ipv4: "10.0.105.18", ipv6: "fd00:105::12", downloadMbit: 20 }] },
    ]);
    expect(writes(runner).map((c) => c.input)).toEqual([
      [
        "class add dev wg0 parent 1:1 classid 1:6e htb rate 20mbit ceil 20mbit quantum 200000",
        "class add dev ifb-wg0 parent 1:1 classid 1:6e htb rate 10gbit ceil 10gbit quantum 200000",
        "filter replace dev ifb-wg0 parent 1: protocol ip prio 10 handle 1:12:1 u32 ht 1:12: match ip src 10.0.105.18/32 flowid 1:6e",
        "filter replace dev ifb-wg0 parent 1: protocol ipv6 prio 11 handle 400:12:1 u32 ht 400:12: match ip6 src fd00:105::12/128 flowid 1:6e",
        "class del dev wg0 classid 1:6d",
        "class del dev ifb-wg0 classid 1:6d",
        "",
      ].join("\n"),
    ]);
  });

  test("updateAccounts is one tc process: class change for a new rate, add, delete (filters first)", async () => {
    const runner = freshMachine("wg0");
    const shaper = new TcShaper({ runner });
    await shaper.applyInterfaces([{ interface: "wg0", subnets: SUBNETS, accounts: [ALICE, BOB] }]);
    const before = runner.commands.length;
    await shaper.updateAccounts("wg0", {
      upsert: [
        { ...ALICE, downloadMbit: 50 },
        { mark: 0x200, ipv4: "10.0.105.146", downloadMbit: 7, uploadMbit: 3 },
      ],
      remove: [BOB],
    });
    const after = runner.commands.slice(before);
    expect(after.map((c) => [c.file, ...c.args].join(" "))).toEqual(["tc -batch -"]);
    expect(after[0]?.input).toMatchInlineSnapshot(`
      "class change dev wg0 parent 1:1 classid 1:6d htb rate 50mbit ceil 50mbit quantum 200000
      class add dev wg0 parent 1:1 classid 1:200 htb rate 7mbit ceil 7mbit quantum 87500
      class add dev ifb-wg0 parent 1:1 classid 1:200 htb rate 3mbit ceil 3mbit quantum 37500
      filter del dev ifb-wg0 parent 1: protocol ip prio 10 handle 1:14:1 u32
      filter add dev ifb-wg0 parent 1: protocol ip prio 10 handle 1:92:1 u32 ht 1:92: match ip src 10.0.105.146/32 flowid 1:200
      class del dev wg0 classid 1:6e
      class del dev ifb-wg0 classid 1:6e
      "
    `);
  });

  test("a tc batch may take longer the more lines it has (a big reload is not cut off at the default timeout)", async () => {
    const machine = freshMachine("wg0");
    const timeouts: (number | undefined)[] = [];
    const runner = {
      netns: null,
      run: (file: string, args: readonly string[], options?: RunOptions) => {
        if (file === "tc" && args.includes("-batch")) timeouts.push(options?.timeoutMs);
        return machine.run(file, args, options);
      },
      spawn: machine.spawn.bind(machine),
    };
    const accounts = Array.from({ length: 2000 }, (_, i) => ({
      mark: 0x100 + i,
      ipv4: `10.0.${100 + (i >> 8)}.${i & 255}`,
      downloadMbit: 1,
      uploadMbit: 1,
    }));
    await new TcShaper({ runner }).applyInterfaces([{ interface: "wg0", subnets: ["10.0.96.0/19"], accounts: accounts.slice(0, 1) }]);
    await new TcShaper({ runner }).applyInterfaces([{ interface: "wg0", subnets: ["10.0.96.0/19"], accounts }]);
    const [small = 0, big = 0] = timeouts;
    expect(small).toBeGreaterThanOrEqual(120_000);
    // three lines per account (a class each way, an upload filter), 10 ms each
    expect(big - small).toBeGreaterThanOrEqual(3 * 1999 * 10);
  });

  test("an update that changes nothing, like removing an unknown mark, runs no process", async () => {
    const runner = freshMachine("wg0");
    const shaper = new TcShaper({ runner });
    await shaper.applyInterfaces([{ interface: "wg0", subnets: SUBNETS, accounts: [ALICE] }]);
    const before = runner.commands.length;
    await shaper.updateAccounts("wg0", { upsert: [ALICE], remove: [{ ...BOB, mark: 0x4242 }] });
    expect(runner.commands.length).toBe(before);
  });

  test("accounts in the same bucket get their own filter node; an address outside the subnets gets its own table", async () => {
    const runner = freshMachine("wg0");
    const shaper = new TcShaper({ runner });
    await shaper.applyInterfaces([
      {
        interface: "wg0",
        subnets: ["10.0.104.0/22"],
        accounts: [
          { mark: 0x102, ipv4: "10.0.104.18", downloadMbit: 1, uploadMbit: 1 },
          { mark: 0x202, ipv4: "10.0.105.18", downloadMbit: 1, uploadMbit: 1 },
          { mark: 0x302, ipv4: "192.168.7.18", downloadMbit: 1, uploadMbit: 1 },
        ],
      },
    ]);
    const lines = (writes(runner)[1]?.input ?? "").split("\n").filter((l) => l.includes("flowid") || l.includes("link"));
    expect(lines).toEqual([
      "filter add dev ifb-wg0 parent 1: protocol ip prio 10 u32 match ip src 10.0.104.0/22 hashkey mask 0x000000ff at 12 link 1:",
      "filter add dev ifb-wg0 parent 1: protocol ip prio 10 u32 match ip src 192.168.7.0/24 hashkey mask 0x000000ff at 12 link 2:",
      "filter add dev ifb-wg0 parent 1: protocol ip prio 10 handle 1:12:1 u32 ht 1:12: match ip src 10.0.104.18/32 flowid 1:102",
      "filter add dev ifb-wg0 parent 1: protocol ip prio 10 handle 1:12:2 u32 ht 1:12: match ip src 10.0.105.18/32 flowid 1:202",
      "filter add dev ifb-wg0 parent 1: protocol ip prio 10 handle 2:12:1 u32 ht 2:12: match ip src 192.168.7.18/32 flowid 1:302",
    ]);
  });

  test("updateAccounts on an interface this process did not shape reads it back first", async () => {
    const runner = shapedMachine();
    await new TcShaper({ runner }).updateAccounts("wg0", { upsert: [{ ...ALICE, uploadMbit: 6 }], remove: [] });
    expect(writes(runner).map((c) => c.input)).toEqual([
      "class change dev ifb-wg0 parent 1:1 classid 1:6d htb rate 6mbit ceil 6mbit quantum 75000\n",
    ]);
  });

  test("classes() runs tc -s class show on both devices; an unknown mark has no class", async () => {
    const runner = new FakeCommandRunner().respond((_file, args) =>
      args.includes("classid") && args.includes("1:6d")
        ? { stdout: `class htb 1:6d parent 1:1 prio 0 rate 20Mbit ceil 20Mbit burst 1600b cburst 1600b \n Sent 0 bytes 0 pkt\n\n` }
        : undefined,
    );
    const shaper = new TcShaper({ runner });
    expect(await shaper.classes("wg0", 109)).toEqual([
      {
        device: "wg0",
        direction: "download",
        text: "class htb 1:6d parent 1:1 prio 0 rate 20Mbit ceil 20Mbit burst 1600b cburst 1600b \n Sent 0 bytes 0 pkt",
      },
      {
        device: "ifb-wg0",
        direction: "upload",
        text: "class htb 1:6d parent 1:1 prio 0 rate 20Mbit ceil 20Mbit burst 1600b cburst 1600b \n Sent 0 bytes 0 pkt",
      },
    ]);
    expect(runner.commands.map((c) => c.args.join(" "))).toEqual([
      "-s class show dev wg0 classid 1:6d",
      "-s class show dev ifb-wg0 classid 1:6d",
    ]);
    expect(await shaper.classes("wg0", 110)).toEqual([]);
  });

  test("removeInterface deletes the qdiscs in one tc process and the IFB in one ip process", async () => {
    const runner = shapedMachine();
    await new TcShaper({ runner }).removeInterface("wg0");
    expect(writes(runner).map((c) => [c.file, c.input])).toEqual([
      ["ip", "link del dev ifb-wg0\n"],
      ["tc", "qdisc del dev wg0 root\nqdisc del dev wg0 ingress\n"],
    ]);
  });

  test("a failed batch names the failing line, and the next change reads the kernel again", async () => {
    let fail = true;
    const runner = freshMachine("wg0").respond((file, args, input) =>
      file === "tc" && args.includes("-batch") && fail && input?.includes("class change")
        ? { exitCode: 1, stderr: "Error: HTB class in use.\nCommand failed -:1\n" }
        : undefined,
    );
    const shaper = new TcShaper({ runner });
    await shaper.applyInterfaces([{ interface: "wg0", subnets: SUBNETS, accounts: [ALICE] }]);
    await expect(shaper.updateAccounts("wg0", { upsert: [{ ...ALICE, downloadMbit: 1 }], remove: [] })).rejects.toThrow(
      '[vpncp] [tc] tc -batch failed at "class change dev wg0 parent 1:1 classid 1:6d htb rate 1mbit ceil 1mbit quantum 12500": Error: HTB class in use.',
    );
    fail = false;
    const before = runner.commands.length;
    await expect(shaper.updateAccounts("wg0", { upsert: [ALICE], remove: [] })).rejects.toThrow(/not shaped yet/);
    expect(runner.commands.slice(before).map((c) => c.args.join(" "))).toContain("qdisc show");
  });

  test("changing the subnets rebuilds the upload filters: both u32 priorities go, tables and filters come back", async () => {
    const runner = shapedMachine();
    await new TcShaper({ runner }).applyInterfaces([{ interface: "wg0", subnets: ["10.0.105.0/25", "fd00:105::/64"], accounts: [ALICE] }]);
    expect(writes(runner)[0]?.input).toMatchInlineSnapshot(`
      "filter del dev ifb-wg0 parent 1: protocol ip prio 10
      filter del dev ifb-wg0 parent 1: protocol ipv6 prio 11
      filter add dev ifb-wg0 parent 1: protocol ip prio 10 handle 1: u32 divisor 256
      filter add dev ifb-wg0 parent 1: protocol ipv6 prio 11 handle 400: u32 divisor 256
      filter add dev ifb-wg0 parent 1: protocol ip prio 10 u32 match ip src 10.0.105.0/25 hashkey mask 0x000000ff at 12 link 1:
      filter add dev ifb-wg0 parent 1: protocol ipv6 prio 11 u32 match ip6 src fd00:105::/64 hashkey mask 0x000000ff at 20 link 400:
      filter add dev ifb-wg0 parent 1: protocol ip prio 10 handle 1:12:1 u32 ht 1:12: match ip src 10.0.105.18/32 flowid 1:6d
      filter add dev ifb-wg0 parent 1: protocol ipv6 prio 11 handle 400:12:1 u32 ht 400:12: match ip6 src fd00:105::12/128 flowid 1:6d
      "
    `);
  });

  test("an interface that does not exist is refused before anything is written", async () => {
    const runner = freshMachine("wg0");
    await expect(
      new TcShaper({ runner }).applyInterfaces([
        { interface: "wg0", subnets: SUBNETS, accounts: [ALICE] },
        { interface: "wg9", subnets: SUBNETS, accounts: [] },
      ]),
    ).rejects.toThrow("[vpncp] [tc] interface wg9 does not exist");
    expect(writes(runner)).toEqual([]);
  });

  test("names are validated before they reach a batch line", async () => {
    const shaper = new TcShaper({ runner: new FakeCommandRunner() });
    await expect(shaper.applyInterfaces([{ interface: "wg0\nqdisc del dev eth0 root", subnets: [], accounts: [] }])).rejects.toThrow(
      /invalid interface name/,
    );
    await expect(shaper.applyInterfaces([{ interface: "wg0", subnets: ["10.0.0.0/24 ; x"], accounts: [] }])).rejects.toThrow(
      /invalid subnet/,
    );
  });
});

describe("tc naming and formats", () => {
  test("IFB names are derived from the interface, ≤ 15 characters, distinct", () => {
    expect(ifbNameOf("wg0")).toBe("ifb-wg0");
    expect(ifbNameOf("wg-server-11")).toMatch(/^ifb[0-9a-f]{12}$/);
    expect(ifbNameOf("wg-server-long1")).not.toBe(ifbNameOf("wg-server-long2"));
    expect(ifbNameOf("wg-server-long1")).toHaveLength(15);
  });

  test("rates print the way tc prints them", () => {
    expect([1e6, 5e6, 20e6, 1.5e9, 1e9, 1e10].map(formatTcRate)).toEqual(["1Mbit", "5Mbit", "20Mbit", "1500Mbit", "1Gbit", "10Gbit"]);
  });

  test("addresses have one spelling", () => {
    expect(canonicalAddress("fd00:0105:0:0:0:0:0:0012")).toBe("fd00:105::12");
    expect(canonicalAddress("fd00:105::1:0:0:12")).toBe("fd00:105::1:0:0:12");
    expect(canonicalAddress("fd00:0:0:1:0:0:0:12")).toBe("fd00:0:0:1::12");
    expect(canonicalAddress("::ffff:10.0.105.18")).toBe("::ffff:a00:6912");
    expect(canonicalAddress("10.0.105.18/32")).toBe("10.0.105.18");
    expect(() => canonicalAddress("fd00::1::2")).toThrow(/invalid address/);
  });
});
