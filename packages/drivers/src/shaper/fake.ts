/**
 * Shaping in memory, behaving like the tc driver where the contract suite can see it:
 * the same class ids (1:<mark hex>), the same IFB names, the same validation, and
 * `classes()` / `qdiscs()` text in the format tc prints (with Sent 0 bytes: no traffic
 * flows through a fake). Tests read what was applied through read-only accessors.
 */
import type {
  ShaperAccountChange,
  ShaperAccountSpec,
  ShaperClassState,
  ShaperInterfaceSpec,
  ShaperPort,
  ShaperRateState,
} from "@vpncp/core";
import {
  assertMark,
  assertShaperAccount,
  assertShaperInterfaceName,
  assertShaperSubnet,
  bitsOf,
  canonicalAddress,
  classIdOf,
  formatTcRate,
  ifbNameOf,
} from "./tc.js";

export const DRIVER_NAME = "fake";

export interface FakeShaperOptions {
  /** What info() reports (default { shaper: "fake" }). */
  readonly info?: Readonly<Record<string, string>>;
}

export interface FakeShapedInterface {
  readonly name: string;
  /** The IFB the tc driver would create for upload shaping. */
  readonly ifb: string;
  readonly subnets: readonly string[];
  /** By mark. */
  readonly accounts: ReadonlyMap<number, ShaperAccountSpec>;
}

function fail(message: string): never {
  throw new Error(`[vpncp] [shaper-fake] ${message}`);
}

// Leading spaces and trailing blanks as `tc -s class show` prints them.
function classText(mark: number, bits: number): string {
  const rate = formatTcRate(bits);
  // HTB's initial tokens: a 1600-byte burst in psched ticks (15.625 per µs here).
  const tokens = Math.floor(((1600 * 1_000_000) / (bits / 8)) * 15.625);
  return [
    `class htb ${classIdOf(mark)} parent 1:1 prio 0 rate ${rate} ceil ${rate} burst 1600b cburst 1600b `,
    " Sent 0 bytes 0 pkt (dropped 0, overlimits 0 requeues 0) ",
    " backlog 0b 0p requeues 0",
    " lended: 0 borrowed: 0 giants: 0",
    ` tokens: ${tokens} ctokens: ${tokens}`,
  ].join("\n");
}

function qdiscText(directQlen: number, ingress: boolean): string {
  const counters = [" Sent 0 bytes 0 pkt (dropped 0, overlimits 0 requeues 0) ", " backlog 0b 0p requeues 0"];
  return [
    `qdisc htb 1: root refcnt 2 r2q 10 default 0xfffe direct_packets_stat 0 direct_qlen ${directQlen}`,
    ...counters,
    ...(ingress ? ["qdisc ingress ffff: parent ffff:fff1 ---------------- ", ...counters] : []),
  ].join("\n");
}

/** Validates like the tc driver and returns the accounts by mark with canonical addresses. */
function accountsOf(name: string, accounts: readonly ShaperAccountSpec[]): Map<number, ShaperAccountSpec> {
  const byMark = new Map<number, ShaperAccountSpec>();
  const addresses = new Set<string>();
  for (const account of accounts) {
    assertShaperAccount(account);
    if (byMark.has(account.mark)) fail(`mark ${account.mark} appears twice on ${name}`);
    for (const address of [account.ipv4, account.ipv6].filter((a): a is string => Boolean(a)).map(canonicalAddress)) {
      if (addresses.has(address)) fail(`address ${address} appears twice on ${name}`);
      addresses.add(address);
    }
    byMark.set(account.mark, { ...account });
  }
  return byMark;
}

export class FakeShaper implements ShaperPort {
  readonly driverName = DRIVER_NAME;
  readonly #info: Readonly<Record<string, string>>;
  readonly #interfaces = new Map<string, { subnets: readonly string[]; accounts: Map<number, ShaperAccountSpec> }>();

  constructor(options: FakeShaperOptions = {}) {
    this.#info = options.info ?? { shaper: "fake" };
  }

  /** Names of the shaped interfaces. */
  get interfaces(): readonly string[] {
    return [...this.#interfaces.keys()];
  }

  /** What is applied to one interface, or undefined when it is not shaped. */
  interface(name: string): FakeShapedInterface | undefined {
    const entry = this.#interfaces.get(name);
    if (!entry) return undefined;
    return { name, ifb: ifbNameOf(name), subnets: [...entry.subnets], accounts: new Map(entry.accounts) };
  }

  /** The Mbit/s (0 = unlimited) an account is shaped to, or undefined. */
  rateOf(name: string, mark: number): { downloadMbit: number; uploadMbit: number } | undefined {
    const account = this.#interfaces.get(name)?.accounts.get(mark);
    return account ? { downloadMbit: account.downloadMbit, uploadMbit: account.uploadMbit } : undefined;
  }

  async info(): Promise<Record<string, string>> {
    return { ...this.#info };
  }

  async applyInterfaces(specs: readonly ShaperInterfaceSpec[]): Promise<void> {
    const next = new Map<string, { subnets: readonly string[]; accounts: Map<number, ShaperAccountSpec> }>();
    for (const spec of specs) {
      assertShaperInterfaceName(spec.interface);
      if (next.has(spec.interface)) fail("an interface appears twice");
      for (const subnet of spec.subnets) assertShaperSubnet(subnet);
      next.set(spec.interface, { subnets: [...spec.subnets], accounts: accountsOf(spec.interface, spec.accounts) });
    }
    for (const [name, entry] of next) this.#interfaces.set(name, entry);
  }

  async removeInterface(name: string): Promise<void> {
    assertShaperInterfaceName(name);
    this.#interfaces.delete(name);
  }

  async updateAccounts(name: string, change: ShaperAccountChange): Promise<void> {
    assertShaperInterfaceName(name);
    const entry = this.#interfaces.get(name);
    if (!entry) fail(`${name} is not shaped yet (applyInterfaces first)`);
    for (const account of change.remove) assertMark(account.mark);
    for (const account of change.upsert) assertShaperAccount(account);
    for (const account of change.remove) entry.accounts.delete(account.mark);
    for (const account of change.upsert) entry.accounts.set(account.mark, { ...account });
  }

  async classes(name: string, mark: number): Promise<ShaperClassState[]> {
    assertShaperInterfaceName(name);
    assertMark(mark);
    const account = this.#interfaces.get(name)?.accounts.get(mark);
    if (!account) return [];
    return [
      { device: name, direction: "download", text: classText(mark, bitsOf(account.downloadMbit)) },
      { device: ifbNameOf(name), direction: "upload", text: classText(mark, bitsOf(account.uploadMbit)) },
    ];
  }

  async accountClasses(name: string): Promise<ShaperRateState[]> {
    assertShaperInterfaceName(name);
    const accounts = [...(this.#interfaces.get(name)?.accounts.values() ?? [])].sort((a, b) => a.mark - b.mark);
    return [
      ...accounts.map((a) => ({ mark: a.mark, direction: "download" as const, mbit: a.downloadMbit })),
      ...accounts.map((a) => ({ mark: a.mark, direction: "upload" as const, mbit: a.uploadMbit })),
    ];
  }

  async qdiscs(name: string): Promise<ShaperClassState[]> {
    assertShaperInterfaceName(name);
    if (!this.#interfaces.has(name)) return [];
    return [
      { device: name, direction: "download", text: qdiscText(1000, true) },
      { device: ifbNameOf(name), direction: "upload", text: qdiscText(32, false) },
    ];
  }

  async dispose(): Promise<void> {}
}

export default function createFakeShaper(options?: FakeShaperOptions): FakeShaper {
  return new FakeShaper(options);
}
