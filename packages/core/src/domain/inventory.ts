import { inject, injectable } from "inversify";
import type { Storage } from "unstorage";
import { TYPES } from "../di/ids.js";
import type { AccountRecord, ServerRecord } from "../model/records.js";
import { type Cidr, parseCidr } from "../net/ip.js";
import { IpPool } from "./ip-pool.js";
import { MarkAllocator } from "./mark-allocator.js";

export const SERVER_PREFIX = "servers";
export const ACCOUNT_PREFIX = "accounts";

interface ServerEntry {
  record: ServerRecord;
  cidr4: Cidr;
  cidr6: Cidr | null;
  pool4: IpPool;
  pool6: IpPool | null;
  accounts: Set<string>;
  /** Public key → account name: the uniqueness check of a change need not scan every account of the server. */
  publicKeys: Map<string, string>;
}

/**
 * Servers and accounts held in memory with every index the services need
 * (names, usernames, addresses, marks, interfaces, ports), written through to
 * storage one record per key. Storage is the source of truth at start; after
 * that every change goes through here, serialised by the services' lock, so
 * two creates can never be handed the same name, address or mark.
 */
@injectable()
export class Inventory {
  readonly #storage: Storage;
  readonly #servers = new Map<string, ServerEntry>();
  readonly #accounts = new Map<string, AccountRecord>();
  readonly #usernames = new Map<string, string>();
  readonly #interfaces = new Map<string, string>();
  readonly #ports = new Map<number, string>();
  readonly #marks = new MarkAllocator();
  #loaded = false;

  constructor(@inject(TYPES.Storage) storage: Storage) {
    this.#storage = storage;
  }

  get storage(): Storage {
    return this.#storage;
  }

  get loaded(): boolean {
    return this.#loaded;
  }

  async load(): Promise<void> {
    this.#servers.clear();
    this.#accounts.clear();
    this.#usernames.clear();
    this.#interfaces.clear();
    this.#ports.clear();
    const [serverKeys, accountKeys] = await Promise.all([this.#storage.getKeys(SERVER_PREFIX), this.#storage.getKeys(ACCOUNT_PREFIX)]);
    const servers = await this.#readAll<ServerRecord>(serverKeys);
    for (const server of servers.sort((a, b) => a.createdAt.localeCompare(b.createdAt))) this.#indexServer(server);
    const accounts = await this.#readAll<AccountRecord>(accountKeys);
    for (const account of accounts.sort((a, b) => a.createdAt.localeCompare(b.createdAt) || a.name.localeCompare(b.name))) {
      this.#indexAccount(account);
    }
    this.#loaded = true;
  }

  async #readAll<T>(keys: string[]): Promise<T[]> {
    const items = await this.#storage.getItems(keys);
    return items.map((item) => item.value as T).filter((value): value is T => value !== null && typeof value === "object");
  }

  // ---- reads -------------------------------------------------------------

  servers(): ServerRecord[] {
    return [...this.#servers.values()].map((entry) => entry.record);
  }

  server(name: string): ServerRecord | undefined {
    return this.#servers.get(name)?.record;
  }

  serverCount(): number {
    return this.#servers.size;
  }

  accounts(): IterableIterator<AccountRecord> {
    return this.#accounts.values();
  }

  account(name: string): AccountRecord | undefined {
    return this.#accounts.get(name);
  }

  accountCount(): number {
    return this.#accounts.size;
  }

  accountsOf(serverName: string): AccountRecord[] {
    const names = this.#servers.get(serverName)?.accounts ?? new Set<string>();
    return [...names].map((name) => this.#accounts.get(name)).filter((a): a is AccountRecord => a !== undefined);
  }

  accountCountOf(serverName: string): number {
    return this.#servers.get(serverName)?.accounts.size ?? 0;
  }

  /** The account of this server holding this public key, if any. */
  accountByPublicKey(serverName: string, publicKey: string): AccountRecord | undefined {
    const name = this.#servers.get(serverName)?.publicKeys.get(publicKey);
    return name === undefined ? undefined : this.#accounts.get(name);
  }

  accountByUsername(username: string): AccountRecord | undefined {
    const name = this.#usernames.get(username);
    return name === undefined ? undefined : this.#accounts.get(name);
  }

  serverByInterface(interfaceName: string): ServerRecord | undefined {
    const name = this.#interfaces.get(interfaceName);
    return name === undefined ? undefined : this.server(name);
  }

  serverByPort(port: number): ServerRecord | undefined {
    const name = this.#ports.get(port);
    return name === undefined ? undefined : this.server(name);
  }

  pools(serverName: string): { pool4: IpPool; pool6: IpPool | null } | undefined {
    const entry = this.#servers.get(serverName);
    return entry ? { pool4: entry.pool4, pool6: entry.pool6 } : undefined;
  }

  networks(): { name: string; cidr4: Cidr; cidr6: Cidr | null }[] {
    return [...this.#servers.values()].map((e) => ({ name: e.record.name, cidr4: e.cidr4, cidr6: e.cidr6 }));
  }

  get marks(): MarkAllocator {
    return this.#marks;
  }

  // ---- writes ------------------------------------------------------------

  async putServer(record: ServerRecord): Promise<void> {
    await this.#storage.setItem(`${SERVER_PREFIX}:${record.name}`, record as never);
    const previous = this.#servers.get(record.name);
    if (previous) this.#unindexServer(previous.record);
    this.#indexServer(record, previous?.accounts);
  }

  async deleteServer(name: string): Promise<void> {
    const entry = this.#servers.get(name);
    if (!entry) return;
    await this.#storage.removeItem(`${SERVER_PREFIX}:${name}`);
    this.#unindexServer(entry.record);
  }

  async putAccount(record: AccountRecord): Promise<void> {
    await this.#storage.setItem(`${ACCOUNT_PREFIX}:${record.name}`, record as never);
    const previous = this.#accounts.get(record.name);
    if (previous) this.#unindexAccount(previous);
    this.#indexAccount(record);
  }

  async deleteAccount(name: string): Promise<void> {
    const record = this.#accounts.get(name);
    if (!record) return;
    await this.#storage.removeItem(`${ACCOUNT_PREFIX}:${name}`);
    this.#unindexAccount(record);
  }

  // ---- indexes -----------------------------------------------------------

  #indexServer(record: ServerRecord, accounts = new Set<string>()): void {
    const cidr4 = parseCidr(record.address);
    if (!cidr4) throw new Error(`stored server ${record.name} has an invalid address ${record.address}`);
    const cidr6 = record.ipv6 && record.addressIpv6 ? parseCidr(record.addressIpv6) : null;
    const entry: ServerEntry = {
      record,
      cidr4,
      cidr6,
      pool4: new IpPool(cidr4),
      pool6: cidr6 ? new IpPool(cidr6) : null,
      accounts,
      publicKeys: new Map(),
    };
    this.#servers.set(record.name, entry);
    this.#interfaces.set(record.interfaceName, record.name);
    this.#ports.set(record.listenPort, record.name);
    for (const name of accounts) {
      const account = this.#accounts.get(name);
      if (account) this.#attachAccount(entry, account);
    }
  }

  #unindexServer(record: ServerRecord): void {
    this.#servers.delete(record.name);
    if (this.#interfaces.get(record.interfaceName) === record.name) this.#interfaces.delete(record.interfaceName);
    if (this.#ports.get(record.listenPort) === record.name) this.#ports.delete(record.listenPort);
  }

  /** Reserves the account's addresses in its server's pools and indexes its public key there. */
  #attachAccount(entry: ServerEntry, account: AccountRecord): void {
    entry.publicKeys.set(account.publicKey, account.name);
    entry.pool4.reserve(account.allowedIp);
    if (account.allowedIpv6) entry.pool6?.reserve(account.allowedIpv6);
  }

  #indexAccount(record: AccountRecord): void {
    this.#accounts.set(record.name, record);
    this.#usernames.set(record.username, record.name);
    this.#marks.reserve(record.mangle);
    const entry = this.#servers.get(record.wgName);
    if (entry) {
      entry.accounts.add(record.name);
      this.#attachAccount(entry, record);
    }
  }

  #unindexAccount(record: AccountRecord): void {
    this.#accounts.delete(record.name);
    if (this.#usernames.get(record.username) === record.name) this.#usernames.delete(record.username);
    this.#marks.release(record.mangle);
    const entry = this.#servers.get(record.wgName);
    if (entry) {
      entry.accounts.delete(record.name);
      if (entry.publicKeys.get(record.publicKey) === record.name) entry.publicKeys.delete(record.publicKey);
      entry.pool4.release(record.allowedIp);
      if (record.allowedIpv6) entry.pool6?.release(record.allowedIpv6);
    }
  }
}
