import type { Storage } from "unstorage";
import { describeCertificate } from "../crypto/certificates.js";
import { derivePublicKey, isValidKey } from "../crypto/keys.js";
import { ERRORS, type ErrorCode, VpncpError } from "../errors.js";
import { type AccountRecord, DEFAULT_SYSTEM_CONFIG, type ServerRecord, type SystemConfig } from "../model/records.js";
import { type Cidr, cidrsOverlap, parseAddress, parseCidr } from "../net/ip.js";
import type { AccessHashEntry } from "./access-hash-service.js";
import type { StoredCa, StoredServerCertificate } from "./ikev2-settings.js";
import { ACCOUNT_PREFIX, SERVER_PREFIX } from "./inventory.js";
import { IpPool } from "./ip-pool.js";
import { FIRST_MARK, LAST_MARK } from "./mark-allocator.js";
import {
  DEFAULT_OTL_CONFIG,
  DEFAULT_OTL_IKEV2,
  DEFAULT_OTL_WIREGUARD,
  type OtlConfig,
  type OtlLink,
  type OtlProtocolConfig,
} from "./otl-service.js";
import { checkMtu, checkServerCidr, isInterfaceName } from "./server-service.js";
import { isHostname, isName, isPassword } from "./validation.js";

/**
 * A portable snapshot of one installation: every record an operator or a client made (servers,
 * accounts with their keys, IKEv2 certificates with their private keys, access hashes as digests,
 * live one-time links, settings) and the traffic statistics, as one versioned JSON document, so an
 * installation can move to another host. Left out on purpose: what describes the old host's kernel
 * (the last counter readings, which interfaces were applied); the new host starts those afresh.
 *
 * The document holds private keys and passwords: whoever reads it controls every tunnel.
 */
export const SNAPSHOT_FORMAT = "vpncp-snapshot";
export const SNAPSHOT_VERSION = 1;

/** Bytes [to the client, from the client] per day ("YYYY-MM-DD") per account. */
export type SnapshotStatistics = Record<string, Record<string, [number, number]>>;

export interface SnapshotIkev2 {
  readonly enabled: boolean;
  readonly ca: StoredCa | null;
  readonly server: StoredServerCertificate | null;
}

export interface SnapshotOtl {
  readonly config: OtlConfig;
  readonly wireguard: OtlProtocolConfig;
  readonly ikev2: OtlProtocolConfig;
  /** Links still live when the snapshot was taken; they keep working if the public URL moves with the installation. */
  readonly links: readonly OtlLink[];
}

export interface VpncpSnapshot {
  readonly format: typeof SNAPSHOT_FORMAT;
  readonly version: typeof SNAPSHOT_VERSION;
  readonly createdAt: string;
  readonly servers: readonly ServerRecord[];
  readonly accounts: readonly AccountRecord[];
  readonly ikev2: SnapshotIkev2;
  readonly systemConfig: SystemConfig;
  readonly otl: SnapshotOtl;
  /** SHA-256 digests: the hashes themselves are never stored, and clients keep using theirs. */
  readonly accessHashes: readonly AccessHashEntry[];
  readonly statistics: SnapshotStatistics;
}

/** An import refused before anything was written: every problem found, each with where it is. */
export class SnapshotError extends Error {
  readonly problems: readonly string[];
  constructor(problems: readonly string[]) {
    const shown = problems.slice(0, 20).map((p) => `- ${p}`);
    if (problems.length > 20) shown.push(`- … and ${problems.length - 20} more`);
    super(`The snapshot cannot be imported:\n${shown.join("\n")}`);
    this.name = "SnapshotError";
    this.problems = problems;
  }
}

// Where the services keep their records (their own modules name them; the snapshot test round-trips
// through the services, so a key moved there fails it here).
const KEYS = {
  ikev2: "ikev2:settings",
  systemConfig: "system:config",
  otlConfig: "otl:config",
  otlWireguard: "otl:config_wireguard",
  otlIkev2: "otl:config_ikev2",
  otlLinks: "otl:links",
  accessHashes: "auth:hashes",
  statsMonths: "stats:months",
  statsDays: "stats:days",
} as const;

/** Prefixes whose records make a storage "not empty" for an import (access hashes are merged instead). */
const CONTENT_PREFIXES = [SERVER_PREFIX, ACCOUNT_PREFIX, KEYS.ikev2, KEYS.otlLinks, KEYS.statsMonths, KEYS.statsDays];

const DATE_RE = /^\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])$/;
const MONTH_RE = /^\d{4}-(0[1-9]|1[0-2])$/;
const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const HEX80_RE = /^[0-9a-f]{80}$/;
const DIGEST_RE = /^[0-9a-f]{64}$/;

type Obj = Record<string, unknown>;
const isObj = (value: unknown): value is Obj => typeof value === "object" && value !== null && !Array.isArray(value);

async function readPrefix<T>(storage: Storage, prefix: string): Promise<{ key: string; value: T }[]> {
  const keys = await storage.getKeys(prefix);
  const items = await storage.getItems(keys);
  return items.filter((i) => isObj(i.value) || Array.isArray(i.value)).map((i) => ({ key: i.key, value: i.value as T }));
}

async function readObject<T>(storage: Storage, key: string): Promise<Partial<T> | null> {
  const value = await storage.getItem(key);
  return isObj(value) ? (value as Partial<T>) : null;
}

const byName = <T extends { name: string; createdAt: string }>(a: T, b: T) =>
  a.createdAt.localeCompare(b.createdAt) || a.name.localeCompare(b.name);

/** Reads a snapshot of the installation kept in `storage` (vpncp's own records; nothing else is read). */
export async function exportSnapshot(storage: Storage, options: { now?: Date } = {}): Promise<VpncpSnapshot> {
  const now = options.now ?? new Date();
  const servers = (await readPrefix<ServerRecord>(storage, SERVER_PREFIX)).map((i) => i.value).sort(byName);
  const accounts = (await readPrefix<AccountRecord>(storage, ACCOUNT_PREFIX)).map((i) => i.value).sort(byName);
  const names = new Set(accounts.map((a) => a.name));

  const ikev2 = await readObject<SnapshotIkev2>(storage, KEYS.ikev2);
  const links = (await readPrefix<OtlLink>(storage, KEYS.otlLinks))
    .map((i) => i.value)
    .filter((l) => typeof l.key === "string" && names.has(l.account) && Date.parse(l.expiresAt) > now.getTime())
    .sort((a, b) => a.createdAt.localeCompare(b.createdAt));
  const hashes = (await readPrefix<AccessHashEntry>(storage, KEYS.accessHashes))
    .map((i) => i.value)
    .filter((e) => typeof e.digest === "string")
    .sort((a, b) => a.createdAt.localeCompare(b.createdAt) || a.digest.localeCompare(b.digest));

  // month records first, then the days not yet moved into them (newer, as StatisticsService.month reads them)
  const statistics: SnapshotStatistics = {};
  const book = (account: string, date: string, value: unknown) => {
    if (!names.has(account) || !Array.isArray(value)) return;
    const days = statistics[account] ?? {};
    days[date] = [Number(value[0] ?? 0), Number(value[1] ?? 0)];
    statistics[account] = days;
  };
  for (const { key, value } of await readPrefix<Record<string, unknown>>(storage, KEYS.statsMonths)) {
    const [, , month = "", account = ""] = key.split(":");
    if (!MONTH_RE.test(month)) continue;
    for (const [dd, pair] of Object.entries(value)) book(account, `${month}-${dd}`, pair);
  }
  for (const { key, value } of await readPrefix<Record<string, unknown>>(storage, KEYS.statsDays)) {
    const date = key.split(":")[2] ?? "";
    if (!DATE_RE.test(date)) continue;
    for (const [account, pair] of Object.entries(value)) book(account, date, pair);
  }
  const sortedStatistics: SnapshotStatistics = {};
  for (const account of Object.keys(statistics).sort()) {
    const days = statistics[account] ?? {};
    sortedStatistics[account] = Object.fromEntries(
      Object.keys(days)
        .sort()
        .map((d) => [d, days[d] as [number, number]]),
    );
  }

  return {
    format: SNAPSHOT_FORMAT,
    version: SNAPSHOT_VERSION,
    createdAt: now.toISOString(),
    servers,
    accounts,
    ikev2: { enabled: ikev2?.enabled !== false, ca: ikev2?.ca ?? null, server: ikev2?.server ?? null },
    systemConfig: { ...DEFAULT_SYSTEM_CONFIG, ...(await readObject<SystemConfig>(storage, KEYS.systemConfig)) },
    otl: {
      config: { ...DEFAULT_OTL_CONFIG, ...(await readObject<OtlConfig>(storage, KEYS.otlConfig)) },
      wireguard: { ...DEFAULT_OTL_WIREGUARD, ...(await readObject<OtlProtocolConfig>(storage, KEYS.otlWireguard)) },
      ikev2: { ...DEFAULT_OTL_IKEV2, ...(await readObject<OtlProtocolConfig>(storage, KEYS.otlIkev2)) },
      links,
    },
    accessHashes: hashes,
    statistics: sortedStatistics,
  };
}

/** The snapshot as the JSON text `vpncp export` writes. */
export function serializeSnapshot(snapshot: VpncpSnapshot): string {
  return `${JSON.stringify(snapshot, null, 2)}\n`;
}

/** Whether the storage holds an installation already (servers, accounts, certificates, links or statistics). */
export async function storageHoldsInstallation(storage: Storage): Promise<boolean> {
  for (const prefix of CONTENT_PREFIXES) {
    if (prefix === KEYS.ikev2) {
      if ((await storage.getItem(prefix)) !== null) return true;
    } else if ((await storage.getKeys(prefix)).length > 0) return true;
  }
  return false;
}

// ---- validation ------------------------------------------------------------------------------

class Problems {
  readonly list: string[] = [];
  add(path: string, message: string): void {
    this.list.push(`${path}: ${message}`);
  }
  sentence(path: string, code: ErrorCode): void {
    this.add(path, ERRORS[code].message);
  }
  /** Runs one of the API's own checks; its refusal is noted with its sentence. */
  rule<T>(path: string, check: () => T): T | null {
    try {
      return check();
    } catch (error) {
      if (!(error instanceof VpncpError)) throw error;
      this.sentence(path, error.code);
      return null;
    }
  }
}

/** Reads typed fields of one object, noting every missing or mistyped one. */
class Fields {
  constructor(
    readonly value: Obj,
    readonly path: string,
    readonly problems: Problems,
  ) {}
  string(key: string): string {
    const v = this.value[key];
    if (typeof v === "string") return v;
    this.problems.add(`${this.path}.${key}`, "must be a string");
    return "";
  }
  boolean(key: string): boolean {
    const v = this.value[key];
    if (typeof v === "boolean") return v;
    this.problems.add(`${this.path}.${key}`, "must be true or false");
    return false;
  }
  integer(key: string, min: number, max: number, code?: ErrorCode): number {
    const v = this.value[key];
    if (typeof v === "number" && Number.isSafeInteger(v) && v >= min && v <= max) return v;
    if (code) this.problems.sentence(`${this.path}.${key}`, code);
    else this.problems.add(`${this.path}.${key}`, `must be a whole number ${min}–${max}`);
    return min;
  }
  date(key: string): string {
    const v = this.string(key);
    if (v !== "" && Number.isNaN(Date.parse(v))) this.problems.add(`${this.path}.${key}`, "must be an ISO date");
    return v;
  }
}

function list(value: unknown, path: string, problems: Problems): unknown[] {
  if (Array.isArray(value)) return value;
  problems.add(path, "must be a list");
  return [];
}

function object(value: unknown, path: string, problems: Problems): Obj | null {
  if (isObj(value)) return value;
  problems.add(path, "must be an object");
  return null;
}

interface ServerCheck {
  readonly record: ServerRecord;
  readonly pool4: IpPool | null;
  readonly pool6: IpPool | null;
  readonly publicKeys: Set<string>;
}

function checkServers(value: unknown, problems: Problems): Map<string, ServerCheck> {
  const out = new Map<string, ServerCheck>();
  const interfaces = new Set<string>();
  const ports = new Set<number>();
  const networks: { name: string; cidr: Cidr }[] = [];
  list(value, "servers", problems).forEach((raw, index) => {
    const o = object(raw, `servers[${index}]`, problems);
    if (!o) return;
    const path = `servers[${index}] (${String(o.name)})`;
    const f = new Fields(o, path, problems);
    const name = f.string("name");
    if (!isName(name)) problems.sentence(`${path}.name`, "WRONG_NAME");
    else if (out.has(name)) problems.sentence(`${path}.name`, "NAME_IN_USE");
    const interfaceName = f.string("interfaceName");
    if (!isInterfaceName(interfaceName)) problems.sentence(`${path}.interfaceName`, "WRONG_INTERFACE");
    else if (interfaces.has(interfaceName)) problems.sentence(`${path}.interfaceName`, "INTERFACE_IN_USE");
    interfaces.add(interfaceName);
    const listenPort = f.integer("listenPort", 1, 65535, "WRONG_PORT");
    if (ports.has(listenPort)) problems.sentence(`${path}.listenPort`, "PORT_IN_USE");
    ports.add(listenPort);

    const cidrs: { key: string; family: 4 | 6; cidr: Cidr | null }[] = [];
    const ipv6 = f.boolean("ipv6");
    const addressIpv6 = f.string("addressIpv6");
    for (const [key, family, given] of [
      ["address", 4, f.string("address")],
      ["addressIpv6", 6, ipv6 || addressIpv6 !== "" ? addressIpv6 : null],
    ] as const) {
      if (given === null) continue;
      const cidr = problems.rule(`${path}.${key}`, () => checkServerCidr(given, family));
      if (cidr && networks.some((n) => cidrsOverlap(n.cidr, cidr))) problems.sentence(`${path}.${key}`, "SUBNET_IN_USE");
      else if (cidr) networks.push({ name, cidr });
      cidrs.push({ key, family, cidr });
    }

    const privateKey = f.string("privateKey");
    const publicKey = f.string("publicKey");
    if (!isValidKey(privateKey) || derivePublicKey(privateKey) !== publicKey) problems.sentence(`${path}.privateKey`, "KEYS_INVALID");
    if (!parseAddress(f.string("externalIp"))) problems.sentence(`${path}.externalIp`, "WRONG_EXTERNAL_IP");
    const endpoint = f.string("endpoint");
    if (endpoint !== "" && !parseAddress(endpoint) && !isHostname(endpoint)) problems.sentence(`${path}.endpoint`, "WRONG_ENDPOINT");
    for (const [key, family, code] of [
      ["dns1", 4, "WRONG_DNS1"],
      ["dns2", 4, "WRONG_DNS2"],
      ["dns1Ipv6", 6, "WRONG_DNS1_IPV6"],
      ["dns2Ipv6", 6, "WRONG_DNS2_IPV6"],
    ] as const) {
      const v = f.string(key);
      if (v !== "" && parseAddress(v)?.family !== family) problems.sentence(`${path}.${key}`, code);
    }
    const mtu = f.integer("mtu", 0, 9000, "WRONG_MTU");
    problems.rule(`${path}.mtu`, () => checkMtu(mtu));
    f.integer("keepAlive", 0, 65535, "WRONG_KEEP_ALIVE");
    const allowedIps = f
      .string("allowedIps")
      .split(",")
      .map((p) => p.trim());
    if (allowedIps.some((p) => !parseCidr(p, { defaultHost: true }))) problems.sentence(`${path}.allowedIps`, "WRONG_ALLOWED_IPS");
    f.boolean("internalTraffic");
    f.boolean("ikev2");
    f.integer("bDownload", 0, 10_000, "WRONG_DOWNLOAD");
    f.integer("bUpload", 0, 10_000, "WRONG_UPLOAD");
    f.date("createdAt");

    const cidr4 = cidrs.find((c) => c.family === 4)?.cidr ?? null;
    const cidr6 = cidrs.find((c) => c.family === 6)?.cidr ?? null;
    if (isName(name) && !out.has(name)) {
      out.set(name, {
        record: o as unknown as ServerRecord,
        pool4: cidr4 ? new IpPool(cidr4) : null,
        pool6: cidr6 ? new IpPool(cidr6) : null,
        publicKeys: new Set([publicKey]),
      });
    }
  });
  return out;
}

function checkAccounts(value: unknown, servers: Map<string, ServerCheck>, problems: Problems): Set<string> {
  const names = new Set<string>();
  const usernames = new Set<string>();
  const marks = new Set<number>();
  list(value, "accounts", problems).forEach((raw, index) => {
    const o = object(raw, `accounts[${index}]`, problems);
    if (!o) return;
    const path = `accounts[${index}] (${String(o.name)})`;
    const f = new Fields(o, path, problems);
    const name = f.string("name");
    if (!isName(name)) problems.sentence(`${path}.name`, "WRONG_NAME");
    else if (names.has(name)) problems.sentence(`${path}.name`, "NAME_IN_USE");
    else names.add(name);
    const username = f.string("username");
    if (!isName(username)) problems.sentence(`${path}.username`, "WRONG_USERNAME");
    else if (usernames.has(username)) problems.sentence(`${path}.username`, "USERNAME_IN_USE");
    usernames.add(username);
    if (!isPassword(f.string("password"))) problems.sentence(`${path}.password`, "WRONG_PASSWORD");
    const status = f.string("status");
    if (status !== "enable" && status !== "disable") problems.sentence(`${path}.status`, "WRONG_STATUS");
    f.integer("bDownload", 0, 10_000, "WRONG_DOWNLOAD");
    f.integer("bUpload", 0, 10_000, "WRONG_UPLOAD");
    const mangle = f.integer("mangle", FIRST_MARK, LAST_MARK);
    if (marks.has(mangle)) problems.add(`${path}.mangle`, `mark ${mangle} is already another account's`);
    marks.add(mangle);
    if (!UUID_RE.test(f.string("uuid"))) problems.add(`${path}.uuid`, "must be a UUID");
    f.date("createdAt");

    const server = servers.get(f.string("wgName"));
    if (!server) {
      problems.sentence(`${path}.wgName`, "SERVER_NOT_VALID");
      return;
    }
    const privateKey = f.string("privateKey");
    const publicKey = f.string("publicKey");
    const keysOk = isValidKey(publicKey) && (privateKey === "" || (isValidKey(privateKey) && derivePublicKey(privateKey) === publicKey));
    if (!keysOk || server.publicKeys.has(publicKey)) problems.sentence(`${path}.publicKey`, "KEYS_INVALID");
    server.publicKeys.add(publicKey);
    for (const [key, pool, code] of [
      ["allowedIp", server.pool4, "WRONG_IP"],
      ["allowedIpv6", server.pool6, "WRONG_IPV6"],
    ] as const) {
      const address = f.string(key);
      if (key === "allowedIpv6" && address === "") continue;
      if (!parseAddress(address)) problems.sentence(`${path}.${key}`, code);
      else if (!pool?.isAssignable(address)) problems.sentence(`${path}.${key}`, "IP_OUT_OF_RANGE");
      else if (!pool.reserve(address)) problems.sentence(`${path}.${key}`, "IP_IN_USE");
    }
  });
  return names;
}

function checkCertificate(pem: unknown, path: string, problems: Problems): void {
  try {
    describeCertificate(String(pem));
  } catch {
    problems.sentence(path, "CERT_FAILED");
  }
}

function checkIkev2(value: unknown, problems: Problems): void {
  const o = object(value, "ikev2", problems);
  if (!o) return;
  new Fields(o, "ikev2", problems).boolean("enabled");
  for (const part of ["ca", "server"] as const) {
    if (o[part] === null) continue;
    const c = object(o[part], `ikev2.${part}`, problems);
    if (!c) continue;
    const f = new Fields(c, `ikev2.${part}`, problems);
    checkCertificate(f.string("certificatePem"), `ikev2.${part}.certificatePem`, problems);
    if (!f.string("privateKeyPem").includes("PRIVATE KEY")) problems.add(`ikev2.${part}.privateKeyPem`, "must be a PEM private key");
    f.date("createdAt");
    if (part === "server") {
      f.string("domain");
      f.string("ip");
      f.string("ipv6");
    }
  }
  if (o.server !== null && o.ca === null) problems.sentence("ikev2.server", "CA_MISSING");
}

function checkSettings(value: Obj, problems: Problems, accounts: ReadonlySet<string>): void {
  const config = object(value.systemConfig, "systemConfig", problems);
  if (config) {
    const f = new Fields(config, "systemConfig", problems);
    f.integer("trafficStatisticsFrequency", 1, 2_147_483_647, "WRONG_FREQUENCY");
    f.integer("trafficStatisticsHistory", 0, 2_147_483_647, "WRONG_HISTORY");
    f.integer("wireguardHandshakeUptime", 1, 300, "WRONG_HANDSHAKE_UPTIME");
  }
  const otl = object(value.otl, "otl", problems);
  if (otl) {
    const c = object(otl.config, "otl.config", problems);
    if (c) {
      const f = new Fields(c, "otl.config", problems);
      for (const key of ["title", "css", "before_body", "after_body", "not_relevant"]) f.string(key);
      const lifetime = f.string("lifetime");
      if (!/^\d{1,4}$/.test(lifetime) || Number(lifetime) < 1 || Number(lifetime) > 3650)
        problems.sentence("otl.config.lifetime", "WRONG_OTL_LIFETIME");
    }
    for (const protocol of ["wireguard", "ikev2"] as const) {
      const p = object(otl[protocol], `otl.${protocol}`, problems);
      if (!p) continue;
      const f = new Fields(p, `otl.${protocol}`, problems);
      f.boolean("enable_config_qr");
      f.boolean("enable_config_text");
      f.string("download_label");
      list(p.clients, `otl.${protocol}.clients`, problems).forEach((client, i) => {
        const b = object(client, `otl.${protocol}.clients[${i}]`, problems);
        if (b) {
          const fb = new Fields(b, `otl.${protocol}.clients[${i}]`, problems);
          fb.string("label");
          fb.string("link");
        }
      });
    }
    const keys = new Set<string>();
    list(otl.links, "otl.links", problems).forEach((raw, i) => {
      const l = object(raw, `otl.links[${i}]`, problems);
      if (!l) return;
      const f = new Fields(l, `otl.links[${i}]`, problems);
      const key = f.string("key");
      if (!HEX80_RE.test(key) || keys.has(key)) problems.add(`otl.links[${i}].key`, "must be 80 hex characters, once");
      keys.add(key);
      if (!accounts.has(f.string("account"))) problems.sentence(`otl.links[${i}].account`, "ACCOUNT_NOT_FOUND");
      f.date("createdAt");
      f.date("expiresAt");
    });
  }
  const digests = new Set<string>();
  list(value.accessHashes, "accessHashes", problems).forEach((raw, i) => {
    const h = object(raw, `accessHashes[${i}]`, problems);
    if (!h) return;
    const f = new Fields(h, `accessHashes[${i}]`, problems);
    const digest = f.string("digest");
    if (!DIGEST_RE.test(digest) || digests.has(digest))
      problems.add(`accessHashes[${i}].digest`, "must be a SHA-256 digest (64 hex), once");
    digests.add(digest);
    if (f.string("id") !== digest.slice(0, 12)) problems.add(`accessHashes[${i}].id`, "must be the digest's first 12 characters");
    if (h.ip !== null && !parseAddress(String(h.ip))) problems.add(`accessHashes[${i}].ip`, "must be an IP address or null");
    f.date("createdAt");
  });
}

function checkStatistics(value: unknown, accounts: ReadonlySet<string>, problems: Problems): void {
  const stats = object(value, "statistics", problems);
  if (!stats) return;
  for (const [account, days] of Object.entries(stats)) {
    const path = `statistics.${account}`;
    if (!accounts.has(account)) problems.add(path, "statistics of an account the snapshot does not hold");
    const d = object(days, path, problems);
    if (!d) continue;
    for (const [date, pair] of Object.entries(d)) {
      if (!DATE_RE.test(date)) problems.add(`${path}.${date}`, "must be a date YYYY-MM-DD");
      const ok = Array.isArray(pair) && pair.length === 2 && pair.every((n) => typeof n === "number" && Number.isSafeInteger(n) && n >= 0);
      if (!ok) problems.add(`${path}.${date}`, "must be [download bytes, upload bytes]");
    }
  }
}

/**
 * Checks a parsed snapshot against the format and the rules every change in core obeys (the
 * API's sentences), and uniqueness across it: names, usernames, interfaces, ports, subnets,
 * addresses, keys per server, marks. Throws a SnapshotError listing every problem.
 */
export function validateSnapshot(value: unknown): VpncpSnapshot {
  const problems = new Problems();
  const root = object(value, "snapshot", problems);
  if (!root) throw new SnapshotError(problems.list);
  if (root.format !== SNAPSHOT_FORMAT) problems.add("format", `must be "${SNAPSHOT_FORMAT}" (not a vpncp snapshot)`);
  if (root.version !== SNAPSHOT_VERSION)
    problems.add("version", `version ${String(root.version)} is not supported; this vpncp reads version ${SNAPSHOT_VERSION}`);
  if (problems.list.length > 0) throw new SnapshotError(problems.list);
  new Fields(root, "snapshot", problems).date("createdAt");
  const servers = checkServers(root.servers, problems);
  const accounts = checkAccounts(root.accounts, servers, problems);
  if (accounts.size > LAST_MARK - FIRST_MARK + 1) problems.sentence("accounts", "ACCOUNT_LIMIT");
  checkIkev2(root.ikev2, problems);
  checkSettings(root, problems, accounts);
  checkStatistics(root.statistics, accounts, problems);
  if (problems.list.length > 0) throw new SnapshotError(problems.list);
  return root as unknown as VpncpSnapshot;
}

/** Parses the JSON text of a snapshot and validates it (see validateSnapshot). */
export function parseSnapshot(text: string): VpncpSnapshot {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new SnapshotError([`snapshot: not JSON (${error instanceof Error ? error.message : String(error)})`]);
  }
  return validateSnapshot(value);
}

// ---- import ----------------------------------------------------------------------------------

export interface ImportOptions {
  /** Called after every record written, for progress bars. */
  readonly onProgress?: ((written: number, total: number) => void) | undefined;
  /** Links expired by then are left out (default now). */
  readonly now?: Date | undefined;
}

export interface ImportSummary {
  readonly servers: number;
  readonly accounts: number;
  readonly accessHashes: number;
  readonly links: number;
  /** Links the snapshot held that had expired by the import. */
  readonly expiredLinks: number;
  readonly statisticsDays: number;
  readonly records: number;
}

/**
 * Validates `value` as a snapshot, refuses a storage that already holds an installation (access
 * hashes alone do not count: those of the snapshot are added to them), then writes every record.
 * Nothing is written unless all of it is valid. Statistics land in month records, as the
 * statistics service keeps past days.
 */
export async function importSnapshot(storage: Storage, value: unknown, options: ImportOptions = {}): Promise<ImportSummary> {
  const snapshot = validateSnapshot(value);
  if (await storageHoldsInstallation(storage)) {
    throw new SnapshotError(["target: the storage already holds an installation; import into an empty data directory"]);
  }
  const now = (options.now ?? new Date()).getTime();
  const links = snapshot.otl.links.filter((l) => Date.parse(l.expiresAt) > now);

  const writes: [string, unknown][] = [];
  const months = new Map<string, Record<string, [number, number]>>();
  let statisticsDays = 0;
  for (const [account, days] of Object.entries(snapshot.statistics)) {
    for (const [date, pair] of Object.entries(days)) {
      const key = `${KEYS.statsMonths}:${date.slice(0, 7)}:${account}`;
      const record = months.get(key) ?? {};
      record[date.slice(8, 10)] = [pair[0], pair[1]];
      months.set(key, record);
      statisticsDays += 1;
    }
  }
  writes.push(...months);
  for (const entry of snapshot.accessHashes) writes.push([`${KEYS.accessHashes}:${entry.digest}`, entry]);
  writes.push([KEYS.systemConfig, snapshot.systemConfig]);
  writes.push([KEYS.otlConfig, snapshot.otl.config], [KEYS.otlWireguard, snapshot.otl.wireguard], [KEYS.otlIkev2, snapshot.otl.ikev2]);
  for (const link of links) writes.push([`${KEYS.otlLinks}:${link.key}`, link]);
  writes.push([KEYS.ikev2, snapshot.ikev2]);
  // servers before their accounts, accounts last: a storage read mid-import never holds an account without its server
  for (const server of snapshot.servers) writes.push([`${SERVER_PREFIX}:${server.name}`, server]);
  for (const account of snapshot.accounts) writes.push([`${ACCOUNT_PREFIX}:${account.name}`, account]);

  let written = 0;
  for (const [key, record] of writes) {
    await storage.setItem(key, record as never);
    written += 1;
    options.onProgress?.(written, writes.length);
  }
  return {
    servers: snapshot.servers.length,
    accounts: snapshot.accounts.length,
    accessHashes: snapshot.accessHashes.length,
    links: links.length,
    expiredLinks: snapshot.otl.links.length - links.length,
    statisticsDays,
    records: writes.length,
  };
}
