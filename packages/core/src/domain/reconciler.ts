import { inject, injectable, optional } from "inversify";
import { TYPES } from "../di/ids.js";
import { VpncpError } from "../errors.js";
import type { DomainEventPayloads } from "../events/domain-events.js";
import { EVENT_BUS, type EventBus } from "../events/event-bus.js";
import { type Logger, silentLogger, type VpncpOptions } from "../model/options.js";
import type { AccountRecord, ServerRecord } from "../model/records.js";
import type {
  FirewallAccountSpec,
  FirewallPort,
  FirewallState,
  Ikev2Port,
  Ikev2State,
  Ikev2UserSpec,
  ShaperAccountSpec,
  ShaperPort,
  WgPeerSpec,
  WireGuardPort,
} from "../ports/index.js";
import {
  firewallAccountSpec,
  firewallServerSpec,
  ikev2ConnectionSpec,
  ikev2UserSpec,
  interfaceSpec,
  isActive,
  peerSpec,
  sameSpec,
  shaperAccountSpec,
  shaperInterfaceSpec,
  tunnelShaperSpec,
} from "./desired-state.js";
import { Ikev2Settings } from "./ikev2-settings.js";
import { Inventory } from "./inventory.js";

export type Change =
  | { readonly type: "account"; readonly before: AccountRecord | null; readonly after: AccountRecord | null }
  | { readonly type: "server"; readonly before: ServerRecord | null; readonly after: ServerRecord | null }
  | { readonly type: "ikev2" }
  /** The IKEv2 daemon was restarted and made its tunnel device anew: shape it again. */
  | { readonly type: "tunnel" }
  /** The WireGuard driver made this interface anew (its daemon restarted) with its peers: shape it again. */
  | { readonly type: "interface"; readonly name: string }
  | { readonly type: "reload" };

interface Waiter {
  readonly changes: readonly Change[];
  resolve(): void;
  reject(error: unknown): void;
}

const APPLIED_INTERFACES_KEY = "system:applied-interfaces";

class PerInterface<T> extends Map<string, { upsert: T[]; remove: T[] }> {
  entry(name: string): { upsert: T[]; remove: T[] } {
    let value = this.get(name);
    if (!value) {
      value = { upsert: [], remove: [] };
      this.set(name, value);
    }
    return value;
  }
}

/**
 * The one path from stored state to the system. Services persist a change and
 * submit it here; changes that arrive while an apply runs are coalesced into
 * the next one (one `wg set`, one firewall transaction, one tc batch per
 * interface for all of them). A single account change touches only that
 * account's peer, marks, classes and secret; a server change re-applies that
 * server; `reload` re-applies everything from storage. IKEv2 clients are shaped
 * on the IKEv2 port's tunnel device (when it has one) like a WireGuard
 * interface holding the accounts of every server with IKEv2 on.
 */
@injectable()
export class Reconciler {
  readonly #wg: WireGuardPort;
  readonly #firewall: FirewallPort;
  readonly #shaper: ShaperPort;
  readonly #ikev2: Ikev2Port;
  readonly #inventory: Inventory;
  readonly #ikev2Settings: Ikev2Settings;
  readonly #options: VpncpOptions;
  readonly #logger: Logger;
  readonly #events: EventBus | undefined;
  #pending: Waiter[] = [];
  #running: Promise<void> | null = null;
  #status = "OK";
  /** A batch failed: the system may hold part of it, so the next apply is a whole reload (see #drain). */
  #degraded = false;
  #retryTimer: NodeJS.Timeout | null = null;
  #retryDelayMs = 2_000;
  #closed = false;
  readonly #beforeFirewallReplace: (() => Promise<unknown>)[] = [];
  /** The IKEv2 tunnel device whose shaping is applied, and the one the firewall ruleset classifies on. */
  #shapedTunnel: string | null = null;
  #firewallTunnel: string | null = null;

  constructor(
    @inject(TYPES.WireGuard) wg: WireGuardPort,
    @inject(TYPES.Firewall) firewall: FirewallPort,
    @inject(TYPES.Shaper) shaper: ShaperPort,
    @inject(TYPES.Ikev2) ikev2: Ikev2Port,
    @inject(Inventory) inventory: Inventory,
    @inject(Ikev2Settings) ikev2Settings: Ikev2Settings,
    @inject(TYPES.Options) options: VpncpOptions,
    @inject(EVENT_BUS) @optional() events?: EventBus,
  ) {
    this.#events = events;
    // every failure names the port and operation it came from: /system/status shows it as the reason
    this.#wg = labelFailures(wg, "WireGuard");
    this.#firewall = labelFailures(firewall, "firewall");
    this.#shaper = labelFailures(shaper, "shaper");
    this.#ikev2 = labelFailures(ikev2, "IKEv2");
    this.#inventory = inventory;
    this.#ikev2Settings = ikev2Settings;
    this.#options = options;
    this.#logger = options.logger ?? silentLogger;
    ikev2.onTunnelRecreated(() => {
      this.submit({ type: "tunnel" }).catch(() => {});
    });
    // the firewall matches interfaces by name (iifname/oifname), so only the shaping went with the old device
    wg.onInterfaceRecreated((name) => {
      this.#logger.warn("a WireGuard interface was made anew; shaping it again", { interface: name });
      this.submit({ type: "interface", name }).catch(() => {});
    });
  }

  /**
   * What /system/status shows: "OK", "Loading (…)" while the stored state is applied, or
   * "Error (<port> <operation>: <reason>)" from a failed apply until a whole reload succeeds.
   */
  get status(): string {
    return this.#status;
  }

  /**
   * Runs `listener` before the firewall ruleset is replaced whole (server changes, reloads),
   * which starts its counters from zero: the statistics collector samples there, so no traffic
   * is lost to a reload.
   */
  onBeforeFirewallReplace(listener: () => Promise<unknown>): void {
    this.#beforeFirewallReplace.push(listener);
  }

  async #replaceFirewall(): Promise<void> {
    for (const listener of this.#beforeFirewallReplace) {
      await listener().catch((error) => this.#logger.warn("sampling before a firewall reload failed", { error: String(error) }));
    }
    const tunnel = this.#tunnel();
    await this.#firewall.apply(this.#firewallState(tunnel));
    this.#firewallTunnel = tunnel;
  }

  /** The IKEv2 tunnel device to shape: null while IKEv2 is off or its daemon has none (kernel ESP). */
  #tunnel(): string | null {
    return this.#ikev2Settings.certificates() !== null ? this.#ikev2.tunnelInterface() : null;
  }

  /** Shapes the tunnel device whole; after the IKEv2 apply, since the device exists once the daemon runs. */
  async #applyTunnel(): Promise<void> {
    const tunnel = this.#tunnel();
    const previous = this.#shapedTunnel;
    if (previous && previous !== tunnel) {
      this.#shapedTunnel = null;
      await this.#shaper.removeInterface(previous);
    }
    if (!tunnel) return;
    const servers = this.#inventory.servers().map((server) => ({ server, accounts: this.#inventory.accountsOf(server.name) }));
    await this.#shaper.applyInterfaces([tunnelShaperSpec(tunnel, servers)]);
    this.#shapedTunnel = tunnel;
  }

  /** Applies the changes (together with any others submitted meanwhile); resolves once the system holds them. */
  submit(...changes: Change[]): Promise<void> {
    if (this.#closed) return Promise.reject(new Error("vpncp is closed"));
    return new Promise<void>((resolve, reject) => {
      this.#pending.push({ changes, resolve, reject });
      this.#running ??= this.#drain();
    });
  }

  reload(): Promise<void> {
    return this.submit({ type: "reload" });
  }

  /**
   * Submits stored changes, then runs `settled` (the services publish their events there) — also when
   * applying failed: storage holds the change and the retry applies it, and an event says what storage holds.
   */
  async submitThen(changes: readonly Change[], settled: () => void): Promise<void> {
    try {
      await this.submit(...changes);
    } finally {
      settled();
    }
  }

  /** Waits for what is under way, then refuses new work. */
  async close(): Promise<void> {
    this.#closed = true;
    if (this.#retryTimer) clearTimeout(this.#retryTimer);
    await this.#running?.catch(() => {});
  }

  async #drain(): Promise<void> {
    // let changes submitted in the same turn of the event loop join this batch
    await new Promise<void>((resolve) => setImmediate(resolve));
    while (this.#pending.length > 0) {
      const batch = this.#pending;
      this.#pending = [];
      const changes = batch.flatMap((w) => w.changes);
      const started = performance.now();
      try {
        // After a failure the system may hold any part of the failed batch: only a whole reload
        // from storage makes it consistent again, so every later batch is one until one succeeds.
        await this.#apply(this.#degraded ? [{ type: "reload" }] : changes);
        if (this.#degraded) this.#logger.info("system state applied again", { after: this.#status });
        this.#degraded = false;
        this.#status = "OK";
        this.#retryDelayMs = 2_000;
        if (this.#retryTimer) clearTimeout(this.#retryTimer);
        this.#retryTimer = null;
        for (const waiter of batch) waiter.resolve();
        this.#publish("reconcile.finished", changes, { durationMs: Math.round(performance.now() - started) });
      } catch (error) {
        // The change stays stored (storage is the truth) and is retried until the system holds it.
        this.#degraded = true;
        this.#status = `Error (${reasonOf(error)})`;
        this.#logger.error("applying the system state failed; retrying", { error: this.#status, retryInMs: this.#retryDelayMs });
        const failure = new VpncpError("DRIVER_FAILED", { cause: error });
        for (const waiter of batch) waiter.reject(failure);
        this.#publish("reconcile.failed", changes, { error: this.#status });
        this.#scheduleRetry();
      }
    }
    this.#running = null;
  }

  #publish<K extends "reconcile.finished" | "reconcile.failed">(
    type: K,
    changes: readonly Change[],
    extra: Omit<DomainEventPayloads[K], "changes" | "reload">,
  ): void {
    const reload = changes.some((c) => c.type === "reload");
    this.#events?.publish(type, { changes: changes.length, reload, ...extra } as DomainEventPayloads[K]);
  }

  /** After a failure the stored state is re-applied whole, with a growing delay. */
  #scheduleRetry(): void {
    if (this.#retryTimer || this.#closed) return;
    this.#retryTimer = setTimeout(() => {
      this.#retryTimer = null;
      if (this.#degraded) this.reload().catch(() => {});
    }, this.#retryDelayMs);
    this.#retryTimer.unref();
    this.#retryDelayMs = Math.min(this.#retryDelayMs * 2, 60_000);
  }

  async #apply(changes: readonly Change[]): Promise<void> {
    if (changes.some((c) => c.type === "reload")) {
      await this.#reloadAll();
      return;
    }
    const servers = collapse(changes.filter((c) => c.type === "server").map((c) => [c.before?.name ?? c.after?.name ?? "", c] as const));
    const accounts = collapse(changes.filter((c) => c.type === "account").map((c) => [c.before?.name ?? c.after?.name ?? "", c] as const));
    const ikev2Changed = changes.some((c) => c.type === "ikev2");
    const tunnel = this.#tunnel();
    // The tunnel is shaped whole when IKEv2 is applied, when its device is new, or when it is not shaped as it is now.
    const tunnelWhole = servers.size > 0 || ikev2Changed || changes.some((c) => c.type === "tunnel") || tunnel !== this.#shapedTunnel;

    const fullyApplied = new Set<string>();
    /** Interfaces whose shaping is applied whole from storage in this batch: no class changes of their own. */
    const reshaped = new Set<string>();
    const work: Promise<unknown>[] = [];

    // servers: re-apply each changed server whole (rare, and the tools make it cheap)
    for (const { before, after } of servers.values()) {
      if (after) fullyApplied.add(after.interfaceName);
      work.push(this.#applyServer(before, after));
    }
    const serversChanged = servers.size > 0;
    const recreated = new Set(changes.flatMap((c) => (c.type === "interface" ? [c.name] : [])));
    const reshape = this.#inventory.servers().filter((s) => recreated.has(s.interfaceName) && !fullyApplied.has(s.interfaceName));
    if (reshape.length > 0) {
      for (const server of reshape) reshaped.add(server.interfaceName);
      work.push(
        this.#shaper.applyInterfaces(reshape.map((server) => shaperInterfaceSpec(server, this.#inventory.accountsOf(server.name)))),
      );
    }
    if (serversChanged) work.push(this.#replaceFirewall());
    if (serversChanged || ikev2Changed) work.push(this.#ikev2.apply(this.#ikev2State()).then(() => this.#applyTunnel()));
    else if (tunnelWhole) work.push(this.#applyTunnel());

    // accounts: exactly what changed, grouped per interface
    const peers = new PerInterface<WgPeerSpec>();
    const classes = new PerInterface<ShaperAccountSpec>();
    const marks = { upsert: [] as FirewallAccountSpec[], remove: [] as FirewallAccountSpec[] };
    const users = { upsert: [] as Ikev2UserSpec[], remove: [] as Ikev2UserSpec[] };
    const ikev2On = this.#ikev2Settings.certificates() !== null;

    for (const { before, after } of accounts.values()) {
      const bServer = before ? this.#inventory.server(before.wgName) : undefined;
      const aServer = after ? this.#inventory.server(after.wgName) : undefined;
      const bActive = isActive(before, bServer) && !!bServer;
      const aActive = isActive(after, aServer) && !!aServer;
      const bIface = bActive ? bServer?.interfaceName : undefined;
      const aIface = aActive ? aServer?.interfaceName : undefined;

      // WireGuard peer
      const bPeer = bActive && before ? peerSpec(before) : null;
      const aPeer = aActive && after ? peerSpec(after) : null;
      if (bPeer && bIface && !fullyApplied.has(bIface) && (!aPeer || bIface !== aIface || bPeer.publicKey !== aPeer.publicKey)) {
        peers.entry(bIface).remove.push(bPeer);
      }
      if (aPeer && aIface && !fullyApplied.has(aIface) && (!bPeer || bIface !== aIface || !sameSpec(bPeer, aPeer))) {
        peers.entry(aIface).upsert.push(aPeer);
      }

      // firewall marks (all interfaces in one ruleset; a server change re-applied it whole)
      if (!serversChanged) {
        const bMark = bActive && before && bServer ? firewallAccountSpec(before, bServer) : null;
        const aMark = aActive && after && aServer ? firewallAccountSpec(after, aServer) : null;
        if (!sameSpec(bMark, aMark)) {
          if (bMark) marks.remove.push(bMark);
          if (aMark) marks.upsert.push(aMark);
        }
      }

      // tc classes
      const bClass = bActive && before && bServer ? shaperAccountSpec(before, bServer) : null;
      const aClass = aActive && after && aServer ? shaperAccountSpec(after, aServer) : null;
      if (!sameSpec(bClass, aClass) || bIface !== aIface) {
        const onlyRate = bIface === aIface && sameClass(bClass, aClass);
        if (bClass && bIface && !onlyRate && !fullyApplied.has(bIface) && !reshaped.has(bIface)) classes.entry(bIface).remove.push(bClass);
        if (aClass && aIface && !fullyApplied.has(aIface) && !reshaped.has(aIface)) classes.entry(aIface).upsert.push(aClass);
      }

      // the same classes on the IKEv2 tunnel, for accounts of servers with IKEv2 on
      if (tunnel && !tunnelWhole) {
        const bTunnel = bClass && bServer?.ikev2 ? bClass : null;
        const aTunnel = aClass && aServer?.ikev2 ? aClass : null;
        if (!sameSpec(bTunnel, aTunnel)) {
          if (bTunnel && !sameClass(bTunnel, aTunnel)) classes.entry(tunnel).remove.push(bTunnel);
          if (aTunnel) classes.entry(tunnel).upsert.push(aTunnel);
        }
      }

      // IKEv2 secret
      if (ikev2On && !serversChanged && !ikev2Changed) {
        const bUser = bActive && before && bServer?.ikev2 ? ikev2UserSpec(before, bServer) : null;
        const aUser = aActive && after && aServer?.ikev2 ? ikev2UserSpec(after, aServer) : null;
        if (!sameSpec(bUser, aUser)) {
          if (bUser && (!aUser || bUser.username !== aUser.username || bUser.connection !== aUser.connection)) users.remove.push(bUser);
          if (aUser) users.upsert.push(aUser);
        }
      }
    }

    // the firewall first: a transaction that deletes elements waits for the kernel (~15 ms), the longest
    // of the tools, and each process start takes its turn on this thread
    if (marks.upsert.length > 0 || marks.remove.length > 0) work.push(this.#firewall.updateAccounts(marks));
    for (const [name, change] of peers) {
      work.push(this.#wg.updatePeers(name, { upsert: change.upsert, remove: change.remove.map((p) => p.publicKey) }));
    }
    for (const [name, change] of classes) work.push(this.#shaper.updateAccounts(name, change));
    if (users.upsert.length > 0 || users.remove.length > 0) work.push(this.#ikev2.updateUsers(users));

    await settleAll(work);
    if (serversChanged) await this.#rememberInterfaces();
    await this.#followTunnel();
  }

  /** The tunnel device came, went or was renamed (its daemon started or stopped): the ruleset classifies on it. */
  async #followTunnel(): Promise<void> {
    if (this.#tunnel() !== this.#firewallTunnel) await this.#replaceFirewall();
  }

  async #applyServer(before: ServerRecord | null, after: ServerRecord | null): Promise<void> {
    if (before && (!after || before.interfaceName !== after.interfaceName)) {
      await this.#shaper.removeInterface(before.interfaceName);
      await this.#wg.removeInterface(before.interfaceName);
    }
    if (after) {
      const accounts = this.#inventory.accountsOf(after.name);
      const peers = accounts.filter((a) => isActive(a, after)).map(peerSpec);
      await this.#wg.applyInterface(interfaceSpec(after), peers);
      await this.#shaper.applyInterfaces([shaperInterfaceSpec(after, accounts)]);
    }
  }

  async #reloadAll(): Promise<void> {
    // a degraded system keeps showing why until the reload has repaired it
    if (!this.#degraded) this.#status = "Loading (applying the stored state)";
    const servers = this.#inventory.servers();
    const wanted = new Set(servers.map((s) => s.interfaceName));
    const stale = (await this.#appliedInterfaces()).filter((name) => !wanted.has(name));
    for (const name of stale) {
      await this.#shaper.removeInterface(name);
      await this.#wg.removeInterface(name);
    }
    const specs = servers.map((server) => ({ server, accounts: this.#inventory.accountsOf(server.name) }));
    const interfaces = settleAll(
      specs.map(({ server, accounts }) =>
        this.#wg.applyInterface(interfaceSpec(server), accounts.filter((a) => isActive(a, server)).map(peerSpec)),
      ),
    ).then(() => this.#shaper.applyInterfaces(specs.map(({ server, accounts }) => shaperInterfaceSpec(server, accounts))));
    const ikev2 = this.#ikev2.apply(this.#ikev2State()).then(() => this.#applyTunnel());
    await settleAll([interfaces, this.#replaceFirewall(), ikev2]);
    await this.#followTunnel();
    await this.#rememberInterfaces();
  }

  #firewallState(tunnel: string | null): FirewallState {
    const servers = this.#inventory.servers();
    const accounts: FirewallAccountSpec[] = [];
    for (const server of servers) {
      for (const account of this.#inventory.accountsOf(server.name)) {
        if (isActive(account, server)) accounts.push(firewallAccountSpec(account, server));
      }
    }
    return {
      wanInterface: this.#options.wanInterface,
      servers: servers.map(firewallServerSpec),
      accounts,
      ...(tunnel ? { shapedInterfaces: [tunnel] } : {}),
    };
  }

  #ikev2State(): Ikev2State {
    const certificates = this.#ikev2Settings.certificates();
    if (!certificates) return { connections: [], users: [] };
    const servers = this.#inventory.servers().filter((s) => s.ikev2);
    const users: Ikev2UserSpec[] = [];
    for (const server of servers) {
      for (const account of this.#inventory.accountsOf(server.name)) {
        if (isActive(account, server)) users.push(ikev2UserSpec(account, server));
      }
    }
    return { connections: servers.map((s) => ikev2ConnectionSpec(s, certificates)), users };
  }

  async #appliedInterfaces(): Promise<string[]> {
    const stored = await this.#inventory.storage.getItem<string[]>(APPLIED_INTERFACES_KEY);
    return Array.isArray(stored) ? stored : [];
  }

  /** Interfaces vpncp created, so a reload removes those of servers deleted meanwhile — and never the host's own. */
  async #rememberInterfaces(): Promise<void> {
    const names = this.#inventory.servers().map((s) => s.interfaceName);
    await this.#inventory.storage.setItem(APPLIED_INTERFACES_KEY, names as never);
  }
}

/** The same class for the same addresses (only its rates may differ): changed in place, not removed. */
function sameClass(before: ShaperAccountSpec | null, after: ShaperAccountSpec | null): boolean {
  return !!before && !!after && before.mark === after.mark && before.ipv4 === after.ipv4 && before.ipv6 === after.ipv6;
}

/** First `before` and last `after` of each key: a create-then-delete in one batch cancels out. */
function collapse<T extends { before: unknown; after: unknown }>(
  entries: readonly (readonly [string, T])[],
): Map<string, { before: T["before"]; after: T["after"] }> {
  const out = new Map<string, { before: T["before"]; after: T["after"] }>();
  for (const [key, change] of entries) {
    const seen = out.get(key);
    out.set(key, { before: seen ? seen.before : change.before, after: change.after });
  }
  return out;
}

/** Waits for every promise and then throws the first failure, so no port is left mid-way unawaited. */
async function settleAll(work: readonly Promise<unknown>[]): Promise<void> {
  const results = await Promise.allSettled(work);
  const failed = results.find((r): r is PromiseRejectedResult => r.status === "rejected");
  if (failed) throw failed.reason;
}

const MAX_REASON = 300;

/** The first line of a failure, bounded: the reason /system/status shows. */
function reasonOf(error: unknown): string {
  const line = (error instanceof Error ? error.message : String(error)).split("\n")[0] ?? "";
  return line.length > MAX_REASON ? `${line.slice(0, MAX_REASON - 1)}…` : line;
}

/**
 * A port operation failed (a tool exited non-zero, a daemon is gone): the system's fault, which the
 * retry may repair, unlike storage that cannot be read. Says which port and operation failed.
 */
export class PortFailure extends Error {
  readonly port: string;
  readonly operation: string;
  constructor(port: string, operation: string, error: unknown) {
    super(`${port} ${operation}: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
    this.name = "PortFailure";
    this.port = port;
    this.operation = operation;
  }
}

/** A port whose failures say which port and operation failed ("firewall updateAccounts: …"). */
function labelFailures<P extends object>(port: P, label: string): P {
  const wrap = (operation: string, error: unknown): Error => new PortFailure(label, operation, error);
  return new Proxy(port, {
    get(target, property) {
      // the target as receiver: drivers keep their state in #private fields, which a proxy cannot reach
      const value = Reflect.get(target, property, target);
      if (typeof value !== "function" || typeof property !== "string") return value;
      return (...args: unknown[]) => {
        let result: unknown;
        try {
          result = value.apply(target, args);
        } catch (error) {
          throw wrap(property, error);
        }
        return result instanceof Promise ? result.catch((error: unknown) => Promise.reject(wrap(property, error))) : result;
      };
    },
  });
}
