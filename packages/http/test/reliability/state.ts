/**
 * What the reliability tests compare: the state the fake drivers hold, the state the
 * stored records say they should hold (through core's own desired-state functions),
 * and the raw records of a data directory.
 */
import { readdirSync, readFileSync } from "node:fs";
import { join, relative, sep } from "node:path";
import {
  type AccountRecord,
  firewallAccountSpec,
  ikev2UserSpec,
  isActive,
  peerSpec,
  type ServerRecord,
  shaperAccountSpec,
} from "@vpncp/core";
import type { FakeDrivers } from "@vpncp/drivers";

/** One comparable shape for "what the system holds": sorted, plain, JSON-equal when equal. */
export interface DriverState {
  readonly interfaces: Record<string, { listenPort: number; peers: [string, string[]][] }>;
  readonly marks: [number, string, string, string][];
  readonly classes: Record<string, [number, string, number, number][]>;
  readonly ikev2Users: [string, string, string, string][];
}

const byFirst = <T extends readonly unknown[]>(a: T, b: T): number => String(a[0]).localeCompare(String(b[0]));

/** What the drivers should hold for these servers and accounts. */
export function expectedDriverState(servers: readonly ServerRecord[], accounts: readonly AccountRecord[], ikev2On = false): DriverState {
  const interfaces: DriverState["interfaces"] = {};
  const classes: DriverState["classes"] = {};
  const marks: DriverState["marks"] = [];
  const ikev2Users: DriverState["ikev2Users"] = [];
  for (const server of servers) {
    const mine = accounts.filter((a) => isActive(a, server));
    interfaces[server.interfaceName] = {
      listenPort: server.listenPort,
      peers: mine.map((a) => [peerSpec(a).publicKey, [...peerSpec(a).allowedIps].sort()] as [string, string[]]).sort(byFirst),
    };
    classes[server.interfaceName] = mine
      .map((a) => shaperAccountSpec(a, server))
      .map((c) => [c.mark, c.ipv4, c.downloadMbit, c.uploadMbit] as [number, string, number, number])
      .sort((a, b) => a[0] - b[0]);
    for (const a of mine) {
      const spec = firewallAccountSpec(a, server);
      marks.push([spec.mark, spec.interface, spec.ipv4, spec.ipv6 ?? ""]);
      if (ikev2On && server.ikev2) {
        const user = ikev2UserSpec(a, server);
        ikev2Users.push([user.username, user.connection, user.password, user.ipv4]);
      }
    }
  }
  return { interfaces, marks: marks.sort((a, b) => a[0] - b[0]), classes, ikev2Users: ikev2Users.sort(byFirst) };
}

/** What the fake drivers hold now. */
export function fakeDriverState(drivers: FakeDrivers): DriverState {
  const interfaces: DriverState["interfaces"] = {};
  for (const [name, wg] of drivers.wireguard.interfaces()) {
    interfaces[name] = {
      listenPort: wg.listenPort,
      peers: [...wg.peers.values()].map((p) => [p.publicKey, [...p.allowedIps].sort()] as [string, string[]]).sort(byFirst),
    };
  }
  const classes: DriverState["classes"] = {};
  for (const name of drivers.shaper.interfaces) {
    const shaped = drivers.shaper.interface(name);
    classes[name] = [...(shaped?.accounts.values() ?? [])]
      .map((c) => [c.mark, c.ipv4, c.downloadMbit, c.uploadMbit] as [number, string, number, number])
      .sort((a, b) => a[0] - b[0]);
  }
  return {
    interfaces,
    marks: drivers.firewall.accounts.map((a) => [a.mark, a.interface, a.ipv4, a.ipv6 ?? ""] as [number, string, string, string]),
    classes,
    ikev2Users: drivers.ikev2.users
      .map((u) => [u.username, u.connection, u.password, u.ipv4] as [string, string, string, string])
      .sort(byFirst),
  };
}

/** Every record file of a data directory (file storage), parsed; `.tmp/` holds no records. */
export function readDataDir(dir: string): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const walk = (at: string) => {
    for (const entry of readdirSync(at, { withFileTypes: true })) {
      const full = join(at, entry.name);
      if (entry.isDirectory()) {
        if (entry.name !== ".tmp" && entry.name !== "run") walk(full);
      } else if (entry.isFile()) {
        const text = readFileSync(full, "utf8");
        // a record that does not parse is what a torn write leaves: the caller's expect shows its key
        try {
          out[relative(dir, full).split(sep).join(":")] = JSON.parse(text);
        } catch {
          out[relative(dir, full).split(sep).join(":")] = { corrupt: text.slice(0, 200) };
        }
      }
    }
  };
  walk(dir);
  return out;
}

/** Distinct values of `key` over `items` (to assert "all different" with the duplicates in the message). */
export function duplicates<T>(items: readonly T[], key: (item: T) => string): string[] {
  const seen = new Map<string, number>();
  for (const item of items) seen.set(key(item), (seen.get(key(item)) ?? 0) + 1);
  return [...seen].filter(([, n]) => n > 1).map(([k]) => k);
}
