/**
 * The IKEv2 port's contract, run against the fake always and against strongSwan in
 * network namespaces (with real clients) when root. A driver is only as good as what a
 * client sees: accounts log in with their password and get their OWN address, wrong
 * passwords and removed accounts are refused, sessions are listed and can be ended, and
 * changes to one account leave the others' sessions alone.
 */
import type { Ikev2ConnectionSpec, Ikev2Port, Ikev2State, Ikev2UserSpec } from "@vpncp/core";
import { afterEach, beforeEach, describe, expect, test } from "vitest";

export interface Ikev2LoginResult {
  readonly ok: boolean;
  /** The addresses the client got (virtual IPs), empty when the login failed. */
  readonly virtualIps: readonly string[];
}

export interface Ikev2ContractContext {
  readonly driver: Ikev2Port;
  /** A connection that works in this environment (certificates, networks); the suite adds its accounts. */
  readonly connection: Ikev2ConnectionSpec;
  /** Where the client connects from, when known: listSas must report it. */
  readonly clientHost?: string;
  dispose(): Promise<void>;
}

export interface Ikev2ContractOptions<C extends Ikev2ContractContext> {
  readonly name: string;
  readonly create: () => Promise<C>;
  /** A client logs in (the fake: simulateLogin; strongSwan: a real client). Tests that need it are skipped without it. */
  readonly login?: (context: C, username: string, password: string) => Promise<Ikev2LoginResult>;
  /** The client ends its own session of this account (if it has one). */
  readonly logout?: (context: C, username: string) => Promise<void>;
  /** A reason to skip the whole suite, or false. */
  readonly skip?: string | false;
  /**
   * The tunnel device the driver must report once its daemon runs (null: none, as with kernel
   * ESP), and, for real drivers, whether a device of that name exists where the daemon runs.
   */
  readonly tunnel?: { readonly name: string | null; exists?(context: C, name: string): Promise<boolean> };
}

function ipv4Host(subnet: string, host: number): string {
  const [base = ""] = subnet.split("/");
  const value = base.split(".").reduce((acc, part) => acc * 256 + Number(part), 0) + host;
  return [24, 16, 8, 0].map((shift) => Math.floor(value / 2 ** shift) % 256).join(".");
}

function ipv6Host(subnet: string, host: number): string {
  const [base = ""] = subnet.split("/");
  const [head = "", tail = ""] = base.split("::");
  const headParts = head ? head.split(":") : [];
  const tailParts = tail ? tail.split(":") : [];
  const groups = [...headParts, ...Array(8 - headParts.length - tailParts.length).fill("0"), ...tailParts].map((g) => BigInt(`0x${g}`));
  const value = groups.reduce((acc, g) => (acc << 16n) | g, 0n) + BigInt(host);
  const out: string[] = [];
  for (let i = 7; i >= 0; i--) out.push(((value >> BigInt(i * 16)) & 0xffffn).toString(16));
  // Canonical (RFC 5952) text via the URL parser, as charon prints addresses.
  return new URL(`http://[${out.join(":")}]/`).hostname.slice(1, -1);
}

// Passwords with characters that need care in swanctl.conf ('#' starts a comment, '0x' a hex value).
export const IKEV2_TEST_PASSWORDS = { alice: "Al1ce#%!{x}\\$", bob: "0xB0b%!-pw", carol: "c4rol=x,y;z" } as const;

export function testIkev2Driver<C extends Ikev2ContractContext>(options: Ikev2ContractOptions<C>): void {
  const { login, logout } = options;
  describe.skipIf(Boolean(options.skip))(`IKEv2 port contract: ${options.name}`, () => {
    let context: C;

    beforeEach(async () => {
      context = await options.create();
    });

    afterEach(async () => {
      await context?.dispose();
    });

    const user = (username: keyof typeof IKEV2_TEST_PASSWORDS, host: number, extra: Partial<Ikev2UserSpec> = {}): Ikev2UserSpec => ({
      connection: context.connection.name,
      username,
      password: IKEV2_TEST_PASSWORDS[username],
      ipv4: ipv4Host(context.connection.subnet4, host),
      ...(context.connection.subnet6 ? { ipv6: ipv6Host(context.connection.subnet6, host) } : {}),
      ...extra,
    });
    const state = (...users: Ikev2UserSpec[]): Ikev2State => ({ connections: [context.connection], users });
    const addressesOf = (spec: Ikev2UserSpec): string[] => [spec.ipv4, ...(spec.ipv6 ? [spec.ipv6] : [])];
    const sessionsOf = async (username: string) => (await context.driver.listSas()).filter((sa) => sa.username === username);

    test("after apply the daemon runs and reports its version", async () => {
      await context.driver.apply(state(user("alice", 18)));
      const info = await context.driver.info();
      expect(info.state).toBe("running");
      expect(info.version).toMatch(/^\d+\.\d+/);
    });

    test("the tunnel device: none before the daemon runs, then the one its clients' packets use; none after dispose", async () => {
      expect(context.driver.tunnelInterface()).toBeNull();
      await context.driver.apply(state(user("alice", 18)));
      const tunnel = context.driver.tunnelInterface();
      expect(tunnel).toBe(options.tunnel?.name ?? null);
      if (tunnel && options.tunnel?.exists) expect(await options.tunnel.exists(context, tunnel)).toBe(true);
      // A change of accounts neither restarts the daemon nor changes its device.
      const recreated: string[] = [];
      context.driver.onTunnelRecreated(() => recreated.push("recreated"));
      await context.driver.apply(state(user("alice", 18), user("bob", 19)));
      await context.driver.updateUsers({ upsert: [user("carol", 20)], remove: [] });
      expect(context.driver.tunnelInterface()).toBe(tunnel);
      expect(recreated).toEqual([]);
      await context.driver.dispose();
      expect(context.driver.tunnelInterface()).toBeNull();
    });

    test("held: nothing before the daemon runs; then its connection, and each account's EAP secret and own connection", async () => {
      expect(await context.driver.held()).toBeNull();
      await context.driver.apply(state(user("alice", 18), user("bob", 19)));
      await context.driver.updateUsers({ upsert: [user("carol", 20)], remove: [user("bob", 19)] });
      const held = await context.driver.held();
      const names = (users: readonly { connection: string; username: string }[] | undefined) =>
        (users ?? []).map((u) => `${u.username}@${u.connection}`).sort();
      const server = context.connection.name;
      expect(held?.connections).toEqual([server]);
      expect(names(held?.secrets)).toEqual([`alice@${server}`, `carol@${server}`]);
      expect(names(held?.userConnections)).toEqual([`alice@${server}`, `carol@${server}`]);
      // names only: no password appears in what is read back
      expect(JSON.stringify(held)).not.toContain(IKEV2_TEST_PASSWORDS.alice);
    });

    test.skipIf(!login)("each account logs in with its password and gets its own address", async () => {
      const alice = user("alice", 18);
      const bob = user("bob", 19);
      await context.driver.apply(state(alice, bob));
      const a = await login!(context, "alice", alice.password);
      const b = await login!(context, "bob", bob.password);
      expect(a.ok).toBe(true);
      expect([...a.virtualIps].sort()).toEqual(addressesOf(alice).sort());
      expect(b.ok).toBe(true);
      expect([...b.virtualIps].sort()).toEqual(addressesOf(bob).sort());
    });

    test.skipIf(!login)("a wrong password, another account's password and an unknown account are refused", async () => {
      await context.driver.apply(state(user("alice", 18), user("bob", 19)));
      expect((await login!(context, "alice", "wrong-password")).ok).toBe(false);
      expect((await login!(context, "alice", IKEV2_TEST_PASSWORDS.bob)).ok).toBe(false);
      expect((await login!(context, "carol", IKEV2_TEST_PASSWORDS.carol)).ok).toBe(false);
      expect(await context.driver.listSas()).toEqual([]);
    });

    test.skipIf(!login)("listSas shows the session: account, connection, address, client, age and bytes", async () => {
      const alice = user("alice", 18);
      await context.driver.apply(state(alice));
      expect((await login!(context, "alice", alice.password)).ok).toBe(true);
      const [sa, ...more] = await context.driver.listSas();
      expect(more).toEqual([]);
      expect(sa).toMatchObject({ username: "alice", connection: context.connection.name });
      expect([...sa!.virtualIps].sort()).toEqual(addressesOf(alice).sort());
      expect(sa!.uniqueId).not.toBe("");
      if (context.clientHost) expect(sa!.remoteHost).toBe(context.clientHost);
      expect(sa!.remotePort).toBeGreaterThan(0);
      expect(sa!.establishedSeconds).toBeGreaterThanOrEqual(0);
      expect(sa!.bytesIn).toBeGreaterThanOrEqual(0);
      expect(sa!.bytesOut).toBeGreaterThanOrEqual(0);
    });

    test.skipIf(!login)("terminate ends the account's session and counts it; other sessions stay", async () => {
      const alice = user("alice", 18);
      const bob = user("bob", 19);
      await context.driver.apply(state(alice, bob));
      expect((await login!(context, "alice", alice.password)).ok).toBe(true);
      expect((await login!(context, "bob", bob.password)).ok).toBe(true);
      expect(await context.driver.terminate("alice")).toBe(1);
      expect(await sessionsOf("alice")).toEqual([]);
      expect(await sessionsOf("bob")).toHaveLength(1);
      expect(await context.driver.terminate("alice")).toBe(0);
      // Ended, not banned: the account can come back.
      await logout?.(context, "alice");
      expect((await login!(context, "alice", alice.password)).ok).toBe(true);
    });

    test.skipIf(!login)("removing an account ends its session and refuses new logins; others stay", async () => {
      const alice = user("alice", 18);
      const bob = user("bob", 19);
      await context.driver.apply(state(alice, bob));
      expect((await login!(context, "alice", alice.password)).ok).toBe(true);
      expect((await login!(context, "bob", bob.password)).ok).toBe(true);
      const aliceBefore = (await sessionsOf("alice")).map((sa) => sa.uniqueId);
      expect(await sessionsOf("bob")).toHaveLength(1);
      await context.driver.updateUsers({ upsert: [], remove: [bob] });
      expect(await sessionsOf("bob")).toEqual([]);
      await logout?.(context, "bob");
      expect((await login!(context, "bob", bob.password)).ok).toBe(false);
      expect((await sessionsOf("alice")).map((sa) => sa.uniqueId)).toEqual(aliceBefore);
    });

    test.skipIf(!login)("a new password works at once, the old one no longer; no session is touched", async () => {
      const alice = user("alice", 18);
      const bob = user("bob", 19);
      await context.driver.apply(state(alice, bob));
      expect((await login!(context, "alice", alice.password)).ok).toBe(true);
      expect((await login!(context, "bob", bob.password)).ok).toBe(true);
      const before = new Map((await context.driver.listSas()).map((sa) => [sa.username, sa.uniqueId]));
      const changed = { ...bob, password: "N3w#b0b!%" };
      await context.driver.updateUsers({ upsert: [changed], remove: [] });
      const after = new Map((await context.driver.listSas()).map((sa) => [sa.username, sa.uniqueId]));
      expect(after).toEqual(before);
      await logout?.(context, "bob");
      expect((await login!(context, "bob", bob.password)).ok).toBe(false);
      expect((await login!(context, "bob", changed.password)).ok).toBe(true);
      expect((await sessionsOf("alice")).map((sa) => sa.uniqueId)).toEqual([before.get("alice")]);
    });

    test.skipIf(!login)("adding an account and changing an address take effect without apply", async () => {
      const alice = user("alice", 18);
      await context.driver.apply(state(alice));
      expect((await login!(context, "alice", alice.password)).ok).toBe(true);
      const carol = user("carol", 20);
      await context.driver.updateUsers({ upsert: [carol], remove: [] });
      const c = await login!(context, "carol", carol.password);
      expect(c.ok).toBe(true);
      expect([...c.virtualIps].sort()).toEqual(addressesOf(carol).sort());
      // A new address: the running session (holding the old one) ends, the next login gets the new one.
      const moved = user("alice", 21);
      await context.driver.updateUsers({ upsert: [moved], remove: [] });
      expect(await sessionsOf("alice")).toEqual([]);
      await logout?.(context, "alice");
      const a = await login!(context, "alice", alice.password);
      expect(a.ok).toBe(true);
      expect([...a.virtualIps].sort()).toEqual(addressesOf(moved).sort());
      expect(await sessionsOf("carol")).toHaveLength(1);
    });

    test.skipIf(!login)("apply is idempotent: applying the same state again keeps every session", async () => {
      const alice = user("alice", 18);
      const bob = user("bob", 19);
      await context.driver.apply(state(alice, bob));
      expect((await login!(context, "alice", alice.password)).ok).toBe(true);
      const before = await context.driver.listSas();
      await context.driver.apply(state(alice, bob));
      await context.driver.apply(state(alice, bob));
      expect((await context.driver.listSas()).map((sa) => sa.uniqueId)).toEqual(before.map((sa) => sa.uniqueId));
      expect((await login!(context, "bob", bob.password)).ok).toBe(true);
    });

    test.skipIf(!login)("apply without an account ends its session and refuses it", async () => {
      const alice = user("alice", 18);
      const bob = user("bob", 19);
      await context.driver.apply(state(alice, bob));
      expect((await login!(context, "alice", alice.password)).ok).toBe(true);
      expect((await login!(context, "bob", bob.password)).ok).toBe(true);
      await context.driver.apply(state(bob));
      expect(await sessionsOf("alice")).toEqual([]);
      expect(await sessionsOf("bob")).toHaveLength(1);
      await logout?.(context, "alice");
      expect((await login!(context, "alice", alice.password)).ok).toBe(false);
    });

    test("invalid input is refused without quoting the password", async () => {
      const secret = "S3cret\nline";
      const error = await context.driver.apply(state(user("alice", 18, { password: secret }))).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(Error);
      expect(String((error as Error).message)).not.toContain("S3cret");
      await expect(context.driver.apply(state(user("alice", 18), user("alice", 19)))).rejects.toThrow(/duplicate username/);
      await expect(context.driver.apply(state(user("alice", 18, { username: "al ice" })))).rejects.toThrow(/invalid username/);
      await expect(context.driver.apply(state(user("alice", 18, { connection: "elsewhere" })))).rejects.toThrow(/unknown connection/);
    });
  });
}
