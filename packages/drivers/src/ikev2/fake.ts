/**
 * The IKEv2 port in memory: connections, accounts and simulated sessions, with the
 * behaviour the strongSwan driver shows (test/contract/ikev2.ts holds both to it):
 * an account logs in with its username and password and gets its own addresses; a new
 * login of the same account replaces its old session (charon's `unique = replace`);
 * removing an account, moving it to another connection or changing its address ends its
 * sessions; a password change leaves running sessions alone. It reports a tunnel device
 * (as charon's kernel-libipsec TUN) only when given one, and only while it runs;
 * `simulateRestart` is charon dying and being started again.
 */
import type { Ikev2ConnectionSpec, Ikev2HeldState, Ikev2Port, Ikev2SaState, Ikev2State, Ikev2UserChange, Ikev2UserSpec } from "@vpncp/core";
import { checkIkev2State, checkUserSpec, singleAddress } from "./spec.js";

export const DRIVER_NAME = "fake";

export interface FakeIkev2Options {
  /** Milliseconds clock for session ages (default Date.now). */
  readonly now?: () => number;
  /** The tunnel device it reports once applied, e.g. "ipsec0"; default null (as with kernel ESP). */
  readonly tunnelInterface?: string | null;
}

export interface SimulatedLogin {
  /** Where the client connects from (default 192.0.2.2). */
  readonly remoteHost?: string;
  readonly remotePort?: number;
  readonly bytesIn?: number;
  readonly bytesOut?: number;
}

/** A session the fake holds, as a test can read it. */
export interface FakeIkev2Session {
  readonly uniqueId: string;
  readonly connection: string;
  readonly username: string;
  readonly remoteHost: string;
  readonly remotePort: number;
  readonly virtualIps: readonly string[];
  readonly establishedAt: number;
  readonly bytesIn: number;
  readonly bytesOut: number;
}

/** What a failed login looks like: charon answers AUTHENTICATION_FAILED, whatever the reason. */
export class FakeIkev2LoginError extends Error {
  constructor(username: string) {
    super(`[vpncp] [fake-ikev2] authentication of ${username} failed`);
    this.name = "FakeIkev2LoginError";
  }
}

function addressesOf(user: Ikev2UserSpec): string[] {
  const addresses = [singleAddress(user.ipv4, 4)!];
  const ipv6 = user.ipv6 ? singleAddress(user.ipv6, 6) : null;
  if (ipv6) addresses.push(ipv6);
  return addresses;
}

export class FakeIkev2 implements Ikev2Port {
  readonly driverName = DRIVER_NAME;
  readonly #now: () => number;
  readonly #connections = new Map<string, Ikev2ConnectionSpec>();
  readonly #users = new Map<string, Ikev2UserSpec>();
  readonly #sessions = new Map<string, FakeIkev2Session>();
  readonly #tunnelListeners: (() => void)[] = [];
  #tunnel: string | null;
  #nextId = 1;
  #running = false;
  #applyCount = 0;

  constructor(options: FakeIkev2Options = {}) {
    this.#now = options.now ?? Date.now;
    this.#tunnel = options.tunnelInterface ?? null;
  }

  // ---- the port

  async info(): Promise<Record<string, string>> {
    return { version: "5.9.8", daemon: "fake", state: this.#running ? "running" : "stopped" };
  }

  async apply(state: Ikev2State): Promise<void> {
    checkIkev2State(state);
    this.#connections.clear();
    for (const spec of state.connections) this.#connections.set(spec.name, spec);
    const before = new Map(this.#users);
    this.#users.clear();
    for (const user of state.users) this.#users.set(user.username, user);
    for (const [username, old] of before) this.#endIfChanged(username, old);
    this.#running = true;
    this.#applyCount += 1;
  }

  async updateUsers(change: Ikev2UserChange): Promise<void> {
    for (const user of change.upsert) {
      checkUserSpec(user);
      if (!this.#connections.has(user.connection))
        throw new Error(`[vpncp] [fake-ikev2] user ${user.username}: unknown connection ${user.connection}`);
    }
    for (const user of change.remove) {
      const current = this.#users.get(user.username);
      if (current?.connection !== user.connection) continue;
      this.#users.delete(user.username);
      this.#endIfChanged(user.username, current);
    }
    for (const user of change.upsert) {
      const old = this.#users.get(user.username);
      this.#users.set(user.username, user);
      if (old) this.#endIfChanged(user.username, old);
    }
  }

  async listSas(): Promise<Ikev2SaState[]> {
    return [...this.#sessions.values()].map((session) => ({
      uniqueId: session.uniqueId,
      connection: session.connection,
      username: session.username,
      remoteHost: session.remoteHost,
      remotePort: session.remotePort,
      virtualIps: [...session.virtualIps],
      establishedSeconds: Math.max(0, Math.floor((this.#now() - session.establishedAt) / 1000)),
      bytesIn: session.bytesIn,
      bytesOut: session.bytesOut,
    }));
  }

  async held(): Promise<Ikev2HeldState | null> {
    if (!this.#running) return null;
    const users = [...this.#users.values()].map((user) => ({ connection: user.connection, username: user.username }));
    return { connections: [...this.#connections.keys()], secrets: users, userConnections: users.map((user) => ({ ...user })) };
  }

  async terminate(username: string): Promise<number> {
    return this.#end((session) => session.username === username);
  }

  tunnelInterface(): string | null {
    return this.#running ? this.#tunnel : null;
  }

  onTunnelRecreated(listener: () => void): void {
    this.#tunnelListeners.push(listener);
  }

  async dispose(): Promise<void> {
    this.#running = false;
    this.#sessions.clear();
  }

  // ---- test controls

  /**
   * A client logs in: throws FakeIkev2LoginError for an unknown (or removed) account or a
   * wrong password, else opens a session (replacing the account's older one) and returns it.
   */
  simulateLogin(username: string, password: string, login: SimulatedLogin = {}): FakeIkev2Session {
    const user = this.#users.get(username);
    if (!this.#running || !user || user.password !== password) throw new FakeIkev2LoginError(username);
    this.#end((session) => session.username === username);
    const session: FakeIkev2Session = {
      uniqueId: String(this.#nextId++),
      connection: user.connection,
      username,
      remoteHost: login.remoteHost ?? "192.0.2.2",
      remotePort: login.remotePort ?? 4500,
      virtualIps: addressesOf(user),
      establishedAt: this.#now(),
      bytesIn: login.bytesIn ?? 0,
      bytesOut: login.bytesOut ?? 0,
    };
    this.#sessions.set(session.uniqueId, session);
    return session;
  }

  /** Adds traffic to the account's sessions (in: from the client); returns how many sessions there were. */
  simulateTraffic(username: string, bytesIn: number, bytesOut: number): number {
    let count = 0;
    for (const session of this.#sessions.values()) {
      if (session.username !== username) continue;
      this.#sessions.set(session.uniqueId, { ...session, bytesIn: session.bytesIn + bytesIn, bytesOut: session.bytesOut + bytesOut });
      count += 1;
    }
    return count;
  }

  /**
   * The daemon dies and is started again with what it held: every session ends, the tunnel
   * device is made anew (under `tunnelInterface` when given) and the listeners hear of it.
   * Nothing happens before the first apply (nothing runs).
   */
  simulateRestart(tunnelInterface: string | null = this.#tunnel): void {
    if (!this.#running) return;
    this.#sessions.clear();
    this.#tunnel = tunnelInterface;
    for (const listener of this.#tunnelListeners) listener();
  }

  /** The client side goes away (what `swanctl --terminate` on the client does). */
  simulateLogout(username: string): number {
    return this.#end((session) => session.username === username);
  }

  // ---- read-only views

  get connections(): readonly Ikev2ConnectionSpec[] {
    return [...this.#connections.values()];
  }

  get users(): readonly Ikev2UserSpec[] {
    return [...this.#users.values()];
  }

  get sessions(): readonly FakeIkev2Session[] {
    return [...this.#sessions.values()];
  }

  get running(): boolean {
    return this.#running;
  }

  /** How often apply() ran (a real apply never restarts charon; this only counts calls). */
  get applyCount(): number {
    return this.#applyCount;
  }

  // ---- internals

  /** Sessions end when their account is gone, moved, or given another address (a new pool in charon). */
  #endIfChanged(username: string, old: Ikev2UserSpec): void {
    const now = this.#users.get(username);
    const changed =
      !now ||
      now.connection !== old.connection ||
      addressesOf(now).join(",") !== addressesOf(old).join(",") ||
      !this.#connections.has(now.connection);
    if (changed) this.#end((session) => session.username === username);
  }

  #end(predicate: (session: FakeIkev2Session) => boolean): number {
    let count = 0;
    for (const [id, session] of this.#sessions) {
      if (!predicate(session)) continue;
      this.#sessions.delete(id);
      count += 1;
    }
    return count;
  }
}

export default function createFakeIkev2(options?: FakeIkev2Options): FakeIkev2 {
  return new FakeIkev2(options);
}
