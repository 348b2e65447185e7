/**
 * The ShaperPort contract: what core relies on, run against the fake always and
 * against tc in a network namespace when root. Only what a user can see is checked:
 * the class of an account per direction as `tc -s class show` prints it, and the qdiscs.
 */
import type { ShaperAccountSpec, ShaperClassState, ShaperInterfaceSpec, ShaperPort } from "@vpncp/core";
import { afterEach, beforeEach, describe, expect, test } from "vitest";

export interface ShaperFixture {
  readonly shaper: ShaperPort;
  /** Two interfaces that exist where the shaper works and are not shaped yet. */
  readonly interfaces: readonly [string, string];
  dispose(): Promise<void>;
}

export interface ShaperContractOptions {
  readonly name: string;
  readonly create: () => Promise<ShaperFixture>;
  /** A reason to skip (real tools unavailable), or false. */
  readonly skip?: string | false;
}

const alice: ShaperAccountSpec = { mark: 109, ipv4: "10.0.105.18", ipv6: "fd00:105::12", downloadMbit: 20, uploadMbit: 5 };
const bob: ShaperAccountSpec = { mark: 110, ipv4: "10.0.105.20", downloadMbit: 5, uploadMbit: 20 };
const carol: ShaperAccountSpec = { mark: 300, ipv4: "10.0.105.30", ipv6: "fd00:105::1e", downloadMbit: 0, uploadMbit: 0 };
const dave: ShaperAccountSpec = { mark: 0x200, ipv4: "10.0.105.40", downloadMbit: 7, uploadMbit: 3 };

function spec(name: string, accounts: readonly ShaperAccountSpec[]): ShaperInterfaceSpec {
  return { interface: name, subnets: ["10.0.105.0/24", "fd00:105::/64"], accounts };
}

/** "rate 20Mbit ceil 20Mbit" per direction, from the class text. */
function rates(states: readonly ShaperClassState[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const s of states) out[s.direction] = /\brate \S+ ceil \S+/.exec(s.text)?.[0] ?? s.text;
  return out;
}

export function testShaperDriver({ name, create, skip = false }: ShaperContractOptions): void {
  describe.skipIf(Boolean(skip))(`ShaperPort contract: ${name}`, () => {
    let fixture: ShaperFixture | undefined;
    let shaper: ShaperPort;
    let wgA: string;
    let wgB: string;

    beforeEach(async () => {
      fixture = await create();
      shaper = fixture.shaper;
      [wgA, wgB] = fixture.interfaces;
    });

    afterEach(async () => {
      await fixture?.dispose();
      fixture = undefined;
    });

    test("applyInterfaces gives each account class 1:<mark hex> at its rate, download on the interface and upload on its IFB", async () => {
      await shaper.applyInterfaces([spec(wgA, [alice, bob, carol])]);
      const classes = await shaper.classes(wgA, alice.mark);
      expect(classes.map((c) => c.direction).sort()).toEqual(["download", "upload"]);
      const download = classes.find((c) => c.direction === "download");
      const upload = classes.find((c) => c.direction === "upload");
      expect(download?.device).toBe(wgA);
      expect(download?.text).toMatch(/^class htb 1:6d parent 1:1 .*rate 20Mbit ceil 20Mbit/);
      expect(download?.text).toContain("Sent 0 bytes");
      expect(upload?.device).not.toBe(wgA);
      expect(upload?.device.length).toBeLessThanOrEqual(15);
      expect(upload?.text).toMatch(/^class htb 1:6d parent 1:1 .*rate 5Mbit ceil 5Mbit/);
      expect(rates(await shaper.classes(wgA, bob.mark))).toEqual({ download: "rate 5Mbit ceil 5Mbit", upload: "rate 20Mbit ceil 20Mbit" });
      expect((await shaper.classes(wgA, carol.mark))[0]?.text).toMatch(/^class htb 1:12c /);
    });

    test("0 Mbit/s is unlimited: the class runs at 10 Gbit/s", async () => {
      await shaper.applyInterfaces([spec(wgA, [carol])]);
      expect(rates(await shaper.classes(wgA, carol.mark))).toEqual({
        download: "rate 10Gbit ceil 10Gbit",
        upload: "rate 10Gbit ceil 10Gbit",
      });
    });

    test("a mark without an account, or an interface never shaped, has no class", async () => {
      await shaper.applyInterfaces([spec(wgA, [alice])]);
      expect(await shaper.classes(wgA, 111)).toEqual([]);
      expect(await shaper.classes(wgB, alice.mark)).toEqual([]);
    });

    test("updateAccounts adds, changes and removes only the accounts it is given", async () => {
      await shaper.applyInterfaces([spec(wgA, [alice, bob, carol])]);
      await shaper.updateAccounts(wgA, { upsert: [{ ...bob, downloadMbit: 50, uploadMbit: 40 }, dave], remove: [carol] });
      expect(rates(await shaper.classes(wgA, alice.mark))).toEqual({
        download: "rate 20Mbit ceil 20Mbit",
        upload: "rate 5Mbit ceil 5Mbit",
      });
      expect(rates(await shaper.classes(wgA, bob.mark))).toEqual({
        download: "rate 50Mbit ceil 50Mbit",
        upload: "rate 40Mbit ceil 40Mbit",
      });
      expect(rates(await shaper.classes(wgA, dave.mark))).toEqual({ download: "rate 7Mbit ceil 7Mbit", upload: "rate 3Mbit ceil 3Mbit" });
      expect(await shaper.classes(wgA, carol.mark)).toEqual([]);
      // Removing an account that is not there changes nothing.
      await shaper.updateAccounts(wgA, { upsert: [], remove: [carol] });
      expect(rates(await shaper.classes(wgA, dave.mark))).toEqual({ download: "rate 7Mbit ceil 7Mbit", upload: "rate 3Mbit ceil 3Mbit" });
    });

    test("an address can move to another account (new mark)", async () => {
      await shaper.applyInterfaces([spec(wgA, [alice, bob])]);
      const moved = { ...alice, mark: 0x6f, downloadMbit: 9 };
      await shaper.updateAccounts(wgA, { upsert: [moved], remove: [alice] });
      expect(await shaper.classes(wgA, alice.mark)).toEqual([]);
      expect(rates(await shaper.classes(wgA, moved.mark))).toEqual({ download: "rate 9Mbit ceil 9Mbit", upload: "rate 5Mbit ceil 5Mbit" });
      // And back by a full apply.
      await shaper.applyInterfaces([spec(wgA, [alice, bob])]);
      expect(await shaper.classes(wgA, moved.mark)).toEqual([]);
      expect(rates(await shaper.classes(wgA, alice.mark))).toEqual({
        download: "rate 20Mbit ceil 20Mbit",
        upload: "rate 5Mbit ceil 5Mbit",
      });
    });

    test("applying the same spec again keeps the classes; accounts left out are removed", async () => {
      await shaper.applyInterfaces([spec(wgA, [alice, bob, carol])]);
      const before = await Promise.all([alice, bob, carol].map((a) => shaper.classes(wgA, a.mark)));
      await shaper.applyInterfaces([spec(wgA, [alice, bob, carol])]);
      const after = await Promise.all([alice, bob, carol].map((a) => shaper.classes(wgA, a.mark)));
      expect(after.map(rates)).toEqual(before.map(rates));
      await shaper.applyInterfaces([spec(wgA, [alice, { ...carol, uploadMbit: 2 }])]);
      expect(await shaper.classes(wgA, bob.mark)).toEqual([]);
      expect(rates(await shaper.classes(wgA, alice.mark))).toEqual({
        download: "rate 20Mbit ceil 20Mbit",
        upload: "rate 5Mbit ceil 5Mbit",
      });
      expect(rates(await shaper.classes(wgA, carol.mark))).toEqual({
        download: "rate 10Gbit ceil 10Gbit",
        upload: "rate 2Mbit ceil 2Mbit",
      });
    });

    test("applyInterfaces leaves interfaces it is not given alone", async () => {
      await shaper.applyInterfaces([spec(wgA, [alice])]);
      await shaper.applyInterfaces([spec(wgB, [bob])]);
      expect(rates(await shaper.classes(wgA, alice.mark))).toEqual({
        download: "rate 20Mbit ceil 20Mbit",
        upload: "rate 5Mbit ceil 5Mbit",
      });
      expect(rates(await shaper.classes(wgB, bob.mark))).toEqual({ download: "rate 5Mbit ceil 5Mbit", upload: "rate 20Mbit ceil 20Mbit" });
      expect(await shaper.classes(wgB, alice.mark)).toEqual([]);
    });

    test("accountClasses reads every account class of an interface with its rate (0: unlimited); none when not shaped", async () => {
      expect(await shaper.accountClasses(wgA)).toEqual([]);
      await shaper.applyInterfaces([spec(wgA, [alice, bob, carol]), spec(wgB, [dave])]);
      await shaper.updateAccounts(wgA, { upsert: [{ ...bob, downloadMbit: 9 }], remove: [carol] });
      expect(await shaper.accountClasses(wgA)).toEqual([
        { mark: alice.mark, direction: "download", mbit: 20 },
        { mark: bob.mark, direction: "download", mbit: 9 },
        { mark: alice.mark, direction: "upload", mbit: 5 },
        { mark: bob.mark, direction: "upload", mbit: 20 },
      ]);
      await shaper.applyInterfaces([spec(wgA, [carol])]);
      expect(await shaper.accountClasses(wgA)).toEqual([
        { mark: carol.mark, direction: "download", mbit: 0 },
        { mark: carol.mark, direction: "upload", mbit: 0 },
      ]);
      expect((await shaper.accountClasses(wgB)).map((c) => c.mark)).toEqual([dave.mark, dave.mark]);
      await shaper.removeInterface(wgB);
      expect(await shaper.accountClasses(wgB)).toEqual([]);
    });

    test("qdiscs shows the HTB root (default class fffe) and the ingress on the interface, HTB on the IFB", async () => {
      await shaper.applyInterfaces([spec(wgA, [alice])]);
      const qdiscs = await shaper.qdiscs(wgA);
      const download = qdiscs.find((q) => q.direction === "download");
      const upload = qdiscs.find((q) => q.direction === "upload");
      expect(download?.device).toBe(wgA);
      expect(download?.text).toMatch(/^qdisc htb 1: root .*default 0xfffe/);
      expect(download?.text).toContain("qdisc ingress ffff:");
      expect(upload?.device).toBe((await shaper.classes(wgA, alice.mark)).find((c) => c.direction === "upload")?.device);
      expect(upload?.text).toMatch(/^qdisc htb 1: root .*default 0xfffe/);
    });

    test("removeInterface removes the classes, qdiscs and IFB of that interface only; applying again restores them", async () => {
      await shaper.applyInterfaces([spec(wgA, [alice]), spec(wgB, [bob])]);
      await shaper.removeInterface(wgA);
      expect(await shaper.classes(wgA, alice.mark)).toEqual([]);
      const qdiscs = await shaper.qdiscs(wgA);
      expect(qdiscs.filter((q) => q.direction === "upload")).toEqual([]);
      expect(qdiscs.some((q) => /htb|ingress/.test(q.text))).toBe(false);
      expect(rates(await shaper.classes(wgB, bob.mark))).toEqual({ download: "rate 5Mbit ceil 5Mbit", upload: "rate 20Mbit ceil 20Mbit" });
      await shaper.removeInterface(wgA); // already gone: nothing to do
      await shaper.applyInterfaces([spec(wgA, [alice])]);
      expect(rates(await shaper.classes(wgA, alice.mark))).toEqual({
        download: "rate 20Mbit ceil 20Mbit",
        upload: "rate 5Mbit ceil 5Mbit",
      });
    });

    test("updateAccounts on an interface that was never shaped fails", async () => {
      await expect(shaper.updateAccounts(wgB, { upsert: [alice], remove: [] })).rejects.toThrow(/not shaped/);
    });

    test("marks that cannot be class minors, bad rates and bad addresses are refused", async () => {
      for (const mark of [0, 1, 0xfffe, 0x10000, 1.5]) {
        await expect(shaper.applyInterfaces([spec(wgA, [{ ...alice, mark }])])).rejects.toThrow(/mark/);
      }
      await expect(shaper.applyInterfaces([spec(wgA, [{ ...alice, downloadMbit: -1 }])])).rejects.toThrow(/download/);
      await expect(shaper.applyInterfaces([spec(wgA, [{ ...alice, ipv4: "10.0.105.300" }])])).rejects.toThrow(/address/);
      await expect(shaper.applyInterfaces([spec(wgA, [alice, { ...bob, ipv4: alice.ipv4 }])])).rejects.toThrow(/twice/);
      await expect(shaper.classes(wgA, 0xffff)).rejects.toThrow(/mark/);
      // Nothing was applied by the refused calls.
      expect(await shaper.classes(wgA, alice.mark)).toEqual([]);
    });

    test("info names the tool", async () => {
      expect(Object.keys(await shaper.info()).length).toBeGreaterThan(0);
    });
  });
}
