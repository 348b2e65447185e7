import { inject, injectable } from "inversify";
import { TYPES } from "../di/ids.js";
import type { AccountRecord, ServerRecord } from "../model/records.js";
import { normalizeAddress } from "../net/ip.js";
import type { FirewallPort, Ikev2HeldUser, Ikev2Port, ShaperInterfaceSpec, ShaperPort, WireGuardPort } from "../ports/index.js";
import { firewallAccountSpec, firewallServerSpec, isActive, peerSpec, shaperInterfaceSpec, tunnelShaperSpec } from "./desired-state.js";
import { Ikev2Settings } from "./ikev2-settings.js";
import { Inventory } from "./inventory.js";

/** The part of the system a difference is in. */
export type DriftKind = "interface" | "peer" | "mark" | "nat" | "filter" | "class" | "ikev2";

/**
 * One difference between storage and what the kernel (or charon) holds. `missing`: storage
 * wants it and the system lacks it; `extra`: the system holds what storage does not;
 * `different`: both hold it, with other values.
 */
export interface Drift {
  readonly kind: DriftKind;
  readonly problem: "missing" | "extra" | "different";
  readonly server?: string | undefined;
  readonly account?: string | undefined;
  /** One line naming the thing and the difference: "wg0 (server s1): peer of account alice missing". */
  readonly message: string;
}

/** The fastest and slowest HTB rate an account class can have; tc holds "unlimited" at the top one. */
const TOP_MBIT = 10_000;

function mbitText(mbit: number): string {
  return mbit === 0 ? "unlimited" : `${mbit} Mbit/s`;
}

function sameRate(want: number, have: number): boolean {
  const norm = (mbit: number) => (mbit === 0 || mbit >= TOP_MBIT ? 0 : mbit);
  return norm(want) === norm(have);
}

/** "10.0.105.18/32" and "10.0.105.18" are the same host; IPv6 in one spelling ("fd00:0105::12" is "fd00:105::12"). */
function host(address: string): string {
  const bare = address.replace(/\/(32|128)$/, "");
  return normalizeAddress(bare) ?? bare.toLowerCase();
}

function hex(mark: number): string {
  return `0x${mark.toString(16)}`;
}

/**
 * Compares the state the stored records call for (the spec builders the Reconciler applies)
 * with what the ports read back from the system: WireGuard interfaces and peers, the
 * firewall's marks, NAT and filter rules, the shaper's classes, and the IKEv2 daemon's
 * connections and EAP secrets. Reads only; a reload repairs what it reports.
 */
@injectable()
export class Doctor {
  readonly #wg: WireGuardPort;
  readonly #firewall: FirewallPort;
  readonly #shaper: ShaperPort;
  readonly #ikev2: Ikev2Port;
  readonly #inventory: Inventory;
  readonly #ikev2Settings: Ikev2Settings;

  constructor(
    @inject(TYPES.WireGuard) wg: WireGuardPort,
    @inject(TYPES.Firewall) firewall: FirewallPort,
    @inject(TYPES.Shaper) shaper: ShaperPort,
    @inject(TYPES.Ikev2) ikev2: Ikev2Port,
    @inject(Inventory) inventory: Inventory,
    @inject(Ikev2Settings) ikev2Settings: Ikev2Settings,
  ) {
    this.#wg = wg;
    this.#firewall = firewall;
    this.#shaper = shaper;
    this.#ikev2 = ikev2;
    this.#inventory = inventory;
    this.#ikev2Settings = ikev2Settings;
  }

  /**
   * Every difference, servers in storage order. With `confirm`, a difference must be seen by
   * two reads in a row: one read can fall between the steps of a change being applied.
   */
  async check(options: { confirm?: boolean } = {}): Promise<Drift[]> {
    const first = await this.#checkOnce();
    if (!options.confirm || first.length === 0) return first;
    const again = new Set((await this.#checkOnce()).map((drift) => drift.message));
    return first.filter((drift) => again.has(drift.message));
  }

  async #checkOnce(): Promise<Drift[]> {
    const servers = this.#inventory.servers().map((server) => ({ server, accounts: this.#inventory.accountsOf(server.name) }));
    const [wg, firewall, shaper, ikev2] = await Promise.all([
      Promise.all(servers.map(({ server, accounts }) => this.#checkInterface(server, accounts))),
      this.#checkFirewall(servers),
      this.#checkShaper(servers),
      this.#checkIkev2(servers),
    ]);
    const missingInterfaces = new Set(wg.flat().flatMap((d) => (d.kind === "interface" && d.problem === "missing" ? [d.server] : [])));
    // a missing interface has no classes either: that line says it all
    return [...wg.flat(), ...firewall, ...shaper.filter((d) => !missingInterfaces.has(d.server)), ...ikev2];
  }

  async #checkInterface(server: ServerRecord, accounts: readonly AccountRecord[]): Promise<Drift[]> {
    const name = server.interfaceName;
    const where = `${name} (server ${server.name})`;
    const dump = await this.#wg.dump(name);
    if (!dump) return [{ kind: "interface", problem: "missing", server: server.name, message: `${where}: interface missing` }];
    const out: Drift[] = [];
    const differs = (message: string) => out.push({ kind: "interface", problem: "different", server: server.name, message });
    if (dump.listenPort !== server.listenPort) differs(`${where}: listen port ${dump.listenPort}, storage has ${server.listenPort}`);
    if (dump.publicKey !== server.publicKey) differs(`${where}: public key ${dump.publicKey || "(none)"}, storage has ${server.publicKey}`);
    const have = new Map(dump.peers.map((peer) => [peer.publicKey, peer]));
    const wanted = new Set<string>();
    for (const account of accounts) {
      if (!isActive(account, server)) continue;
      const spec = peerSpec(account);
      wanted.add(spec.publicKey);
      const peer = have.get(spec.publicKey);
      const base = { kind: "peer" as const, server: server.name, account: account.name };
      if (!peer) {
        out.push({ ...base, problem: "missing", message: `${where}: peer of account ${account.name} (${spec.publicKey}) missing` });
        continue;
      }
      const want = spec.allowedIps.map(host).sort().join(",");
      const got = peer.allowedIps.map(host).sort().join(",");
      if (want !== got) {
        out.push({
          ...base,
          problem: "different",
          message: `${where}: peer of account ${account.name} allows ${got || "nothing"}, storage has ${want}`,
        });
      }
    }
    for (const peer of dump.peers) {
      if (wanted.has(peer.publicKey)) continue;
      const owner = this.#inventory.accountByPublicKey(server.name, peer.publicKey);
      const whose = owner ? `of account ${owner.name} (${owner.status === "enable" ? "elsewhere" : "disabled"})` : "unknown to storage";
      out.push({
        kind: "peer",
        problem: "extra",
        server: server.name,
        account: owner?.name,
        message: `${where}: peer ${peer.publicKey} ${whose} present`,
      });
    }
    return out;
  }

  async #checkFirewall(servers: readonly { server: ServerRecord; accounts: readonly AccountRecord[] }[]): Promise<Drift[]> {
    const out: Drift[] = [];
    const rules = await this.#firewall.markRules();
    const have = new Map<string, number>();
    for (const rule of rules) have.set(`${rule.direction} ${host(rule.direction === "down" ? rule.destination : rule.source)}`, rule.mark);
    const wanted = new Set<string>();
    for (const { server, accounts } of servers) {
      for (const account of accounts) {
        if (!isActive(account, server)) continue;
        const spec = firewallAccountSpec(account, server);
        for (const address of [spec.ipv4, spec.ipv6].filter((a): a is string => !!a)) {
          for (const direction of ["down", "up"] as const) {
            const key = `${direction} ${host(address)}`;
            wanted.add(key);
            const mark = have.get(key);
            const base = { kind: "mark" as const, server: server.name, account: account.name };
            const what = `mark ${hex(spec.mark)} of account ${account.name} (${direction === "down" ? "download to" : "upload from"} ${address})`;
            if (mark === undefined) out.push({ ...base, problem: "missing", message: `firewall: ${what} missing` });
            else if (mark !== spec.mark) out.push({ ...base, problem: "different", message: `firewall: ${what} is ${hex(mark)}` });
          }
        }
      }
    }
    for (const [key, mark] of have) {
      if (wanted.has(key)) continue;
      const [direction, address] = key.split(" ");
      out.push({
        kind: "mark",
        problem: "extra",
        message: `firewall: mark ${hex(mark)} (${direction === "down" ? "download to" : "upload from"} ${address}) not in storage`,
      });
    }
    const perServer = await Promise.all(
      servers.map(async ({ server }) => {
        const spec = firewallServerSpec(server);
        const [nat, filter] = await Promise.all([this.#firewall.natRules(server.name), this.#firewall.filterRules(server.name)]);
        const found: Drift[] = [];
        const subnets = [spec.subnet4, spec.subnet6].filter((s): s is string => !!s);
        for (const subnet of subnets) {
          const target = spec.externalIp && !subnet.includes(":") ? `SNAT to:${spec.externalIp}` : "MASQUERADE";
          const rule = nat.find((r) => r.source.toLowerCase() === subnet.toLowerCase());
          const base = { kind: "nat" as const, server: server.name };
          if (!rule) found.push({ ...base, problem: "missing", message: `firewall: NAT of ${subnet} (server ${server.name}) missing` });
          else if (rule.target !== target) {
            found.push({
              ...base,
              problem: "different",
              message: `firewall: NAT of ${subnet} (server ${server.name}) is ${rule.target}, storage has ${target}`,
            });
          }
          const action = spec.internalTraffic ? "ACCEPT" : "DROP";
          const between = filter.find((r) => r.source.toLowerCase() === subnet.toLowerCase());
          const fbase = { kind: "filter" as const, server: server.name };
          const what = `traffic between clients of ${subnet} (server ${server.name})`;
          if (!between) found.push({ ...fbase, problem: "missing", message: `firewall: rule for ${what} missing` });
          else if (between.action !== action) {
            found.push({ ...fbase, problem: "different", message: `firewall: ${what} is ${between.action}, storage has ${action}` });
          }
        }
        return found;
      }),
    );
    return [...out, ...perServer.flat()];
  }

  async #checkShaper(servers: readonly { server: ServerRecord; accounts: readonly AccountRecord[] }[]): Promise<Drift[]> {
    const specs: { spec: ShaperInterfaceSpec; server?: string }[] = servers.map(({ server, accounts }) => ({
      spec: shaperInterfaceSpec(server, accounts),
      server: server.name,
    }));
    const tunnel = this.#ikev2Settings.certificates() !== null ? this.#ikev2.tunnelInterface() : null;
    if (tunnel) specs.push({ spec: tunnelShaperSpec(tunnel, servers) });
    const owners = new Map<number, string>();
    for (const account of this.#inventory.accounts()) owners.set(account.mangle, account.name);
    const results = await Promise.all(specs.map(({ spec, server }) => this.#checkClasses(spec, server, owners)));
    return results.flat();
  }

  async #checkClasses(spec: ShaperInterfaceSpec, server: string | undefined, owners: ReadonlyMap<number, string>): Promise<Drift[]> {
    const name = spec.interface;
    const where = server ? `${name} (server ${server})` : `${name} (IKEv2 tunnel)`;
    const classes = await this.#shaper.accountClasses(name);
    const have = new Map(classes.map((c) => [`${c.direction} ${c.mark}`, c.mbit]));
    const out: Drift[] = [];
    const wanted = new Set<string>();
    for (const account of spec.accounts) {
      const owner = owners.get(account.mark);
      for (const [direction, mbit] of [
        ["download", account.downloadMbit],
        ["upload", account.uploadMbit],
      ] as const) {
        const key = `${direction} ${account.mark}`;
        wanted.add(key);
        const got = have.get(key);
        const what = `${direction} class 1:${account.mark.toString(16)} of account ${owner ?? hex(account.mark)}`;
        const base = { kind: "class" as const, server, account: owner };
        if (got === undefined) out.push({ ...base, problem: "missing", message: `${where}: ${what} missing` });
        else if (!sameRate(mbit, got)) {
          out.push({ ...base, problem: "different", message: `${where}: ${what} at ${mbitText(got)}, storage has ${mbitText(mbit)}` });
        }
      }
    }
    for (const c of classes) {
      if (wanted.has(`${c.direction} ${c.mark}`)) continue;
      out.push({
        kind: "class",
        problem: "extra",
        server,
        message: `${where}: ${c.direction} class 1:${c.mark.toString(16)} (${mbitText(c.mbit)}) not in storage`,
      });
    }
    return out;
  }

  async #checkIkev2(servers: readonly { server: ServerRecord; accounts: readonly AccountRecord[] }[]): Promise<Drift[]> {
    const on = this.#ikev2Settings.certificates() !== null;
    const ikev2Servers = on ? servers.filter(({ server }) => server.ikev2) : [];
    const users: { server: ServerRecord; account: AccountRecord }[] = [];
    for (const { server, accounts } of ikev2Servers) {
      for (const account of accounts) if (isActive(account, server)) users.push({ server, account });
    }
    let held: Awaited<ReturnType<Ikev2Port["held"]>>;
    try {
      held = await this.#ikev2.held();
    } catch (error) {
      // the rest of the check stands on its own (charon's replies stop at vici's message size)
      const reason = error instanceof Error ? error.message.split("\n")[0] : String(error);
      return [{ kind: "ikev2", problem: "different", message: `IKEv2: what charon holds could not be read (${reason})` }];
    }
    if (!held) {
      if (ikev2Servers.length === 0) return [];
      return [{ kind: "ikev2", problem: "missing", message: "IKEv2: the daemon (charon) does not run" }];
    }
    const out: Drift[] = [];
    const connections = new Set(held.connections);
    for (const { server } of ikev2Servers) {
      if (!connections.has(server.name)) {
        out.push({ kind: "ikev2", problem: "missing", server: server.name, message: `IKEv2: connection of server ${server.name} missing` });
      }
    }
    const key = (user: Ikev2HeldUser) => `${user.username}@${user.connection}`;
    const secrets = new Set(held.secrets.map(key));
    const userConnections = new Set(held.userConnections.map(key));
    const wanted = new Set<string>();
    for (const { server, account } of users) {
      const id = `${account.username}@${server.name}`;
      wanted.add(id);
      const base = { kind: "ikev2" as const, problem: "missing" as const, server: server.name, account: account.name };
      if (!secrets.has(id)) out.push({ ...base, message: `IKEv2: EAP secret of ${account.username} (account ${account.name}) missing` });
      if (!userConnections.has(id)) {
        out.push({ ...base, message: `IKEv2: connection of ${account.username} (account ${account.name}) missing` });
      }
    }
    const wantedServers = new Set(ikev2Servers.map(({ server }) => server.name));
    for (const name of held.connections) {
      if (!wantedServers.has(name))
        out.push({ kind: "ikev2", problem: "extra", message: `IKEv2: connection of server ${name} not in storage` });
    }
    for (const user of held.secrets) {
      if (!wanted.has(key(user))) {
        out.push({
          kind: "ikev2",
          problem: "extra",
          message: `IKEv2: EAP secret of ${user.username} (server ${user.connection}) not in storage`,
        });
      }
    }
    for (const user of held.userConnections) {
      if (!wanted.has(key(user))) {
        out.push({
          kind: "ikev2",
          problem: "extra",
          message: `IKEv2: connection of ${user.username} (server ${user.connection}) not in storage`,
        });
      }
    }
    return out;
  }
}
