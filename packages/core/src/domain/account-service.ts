import { randomUUID } from "node:crypto";
import { inject, injectable, optional } from "inversify";
import { derivePublicKey, generateKeyPair, isValidKey } from "../crypto/keys.js";
import { generatePassword } from "../crypto/secrets.js";
import { type Clock, TYPES } from "../di/ids.js";
import { type ErrorCode, VpncpError } from "../errors.js";
import { accountSnapshot } from "../events/domain-events.js";
import { EVENT_BUS, type EventBus } from "../events/event-bus.js";
import { silentLogger, type VpncpOptions } from "../model/options.js";
import type { AccountRecord, ServerRecord } from "../model/records.js";
import { normalizeAddress, parseAddress, parseCidr } from "../net/ip.js";
import { Inventory } from "./inventory.js";
import type { IpPool } from "./ip-pool.js";
import { MutationLock } from "./mutation-lock.js";
import { Reconciler } from "./reconciler.js";
import { checkBandwidth, checkName, checkPassword, checkStatus, type InputValue, isGiven, text } from "./validation.js";

/** Fields of ADD (all optional but `wgName`), as strings from a form or typed values. */
export interface AccountInput {
  readonly wgName?: InputValue;
  readonly allowedIp?: InputValue;
  readonly allowedIpv6?: InputValue;
  readonly name?: InputValue;
  readonly username?: InputValue;
  readonly password?: InputValue;
  readonly privateKey?: InputValue;
  readonly publicKey?: InputValue;
  readonly status?: InputValue;
  readonly bDownload?: InputValue;
  readonly bUpload?: InputValue;
}

/** Fields of EDIT; `name` cannot change. */
export type AccountUpdate = Omit<AccountInput, "name">;

export interface ListOptions {
  readonly limit?: number | undefined;
  readonly offset?: number | undefined;
}

/** Accounts: ADD, EDIT, DELETE with the pages' validation, and their listing. */
@injectable()
export class AccountService {
  readonly #inventory: Inventory;
  readonly #reconciler: Reconciler;
  readonly #lock: MutationLock;
  readonly #options: VpncpOptions;
  readonly #clock: Clock;
  readonly #events: EventBus | undefined;
  readonly #removeListeners: ((account: AccountRecord) => Promise<unknown>)[] = [];

  constructor(
    @inject(Inventory) inventory: Inventory,
    @inject(Reconciler) reconciler: Reconciler,
    @inject(MutationLock) lock: MutationLock,
    @inject(TYPES.Options) options: VpncpOptions,
    @inject(TYPES.Clock) clock: Clock,
    @inject(EVENT_BUS) @optional() events?: EventBus,
  ) {
    this.#inventory = inventory;
    this.#reconciler = reconciler;
    this.#lock = lock;
    this.#options = options;
    this.#clock = clock;
    this.#events = events;
  }

  /**
   * Runs `listener` for each deleted account, once it is out of storage and the inventory and still
   * under the mutation lock: what belonged to it (traffic statistics, one-time links) goes before an
   * account of the same name can be created, which must start from nothing.
   */
  onRemove(listener: (account: AccountRecord) => Promise<unknown>): void {
    this.#removeListeners.push(listener);
  }

  /** The installation's account limit (`count_accounts_available`). */
  get limit(): number {
    const capacity = this.#inventory.marks.capacity;
    const configured = this.#options.accountLimit;
    return configured !== undefined && configured >= 0 ? Math.min(configured, capacity) : capacity;
  }

  get count(): number {
    return this.#inventory.accountCount();
  }

  list(options: ListOptions = {}): AccountRecord[] {
    const offset = Math.max(0, options.offset ?? 0);
    const limit = options.limit ?? Number.POSITIVE_INFINITY;
    const out: AccountRecord[] = [];
    let index = 0;
    for (const account of this.#inventory.accounts()) {
      if (index++ < offset) continue;
      if (out.length >= limit) break;
      out.push(account);
    }
    return out;
  }

  get(name: string): AccountRecord {
    const account = typeof name === "string" ? this.#inventory.account(name) : undefined;
    if (!account) throw new VpncpError("ACCOUNT_NOT_FOUND");
    return account;
  }

  /** The account's server, which exists for every stored account. */
  serverOf(account: AccountRecord): ServerRecord {
    const server = this.#inventory.server(account.wgName);
    if (!server) throw new VpncpError("SERVER_NOT_VALID");
    return server;
  }

  async create(input: AccountInput): Promise<AccountRecord> {
    const record = await this.#lock.run(async () => {
      if (this.#inventory.accountCount() >= this.limit) throw new VpncpError("ACCOUNT_LIMIT");
      const server = this.#server(input.wgName);
      const pools = this.#inventory.pools(server.name)!;

      const givenName = isGiven(input.name) ? checkName(input.name, "WRONG_NAME") : undefined;
      if (givenName !== undefined && this.#inventory.account(givenName)) throw new VpncpError("NAME_IN_USE");
      const givenUsername = isGiven(input.username) ? checkName(input.username, "WRONG_USERNAME") : undefined;
      if (givenUsername !== undefined && this.#inventory.accountByUsername(givenUsername)) throw new VpncpError("USERNAME_IN_USE");
      const { name, username } = this.#uniqueNames(givenName, givenUsername);

      const allowedIp = isGiven(input.allowedIp) ? this.#claimIpv4(input.allowedIp, pools.pool4, "WRONG_IP", null) : pools.pool4.peek();
      if (allowedIp === null) throw new VpncpError("NO_FREE_IP");
      const allowedIpv6 = this.#ipv6For(server, pools, input.allowedIpv6, allowedIp, null);
      const keys = this.#keys(input.privateKey, input.publicKey, server, null);
      const bDownload = isGiven(input.bDownload) ? checkBandwidth(input.bDownload, "WRONG_DOWNLOAD") : 0;
      const bUpload = isGiven(input.bUpload) ? checkBandwidth(input.bUpload, "WRONG_UPLOAD") : 0;
      const status = isGiven(input.status) ? checkStatus(input.status) : "enable";
      const password = isGiven(input.password) ? checkPassword(input.password) : generatePassword();
      const mangle = this.#inventory.marks.allocate();
      if (mangle === null) throw new VpncpError("NO_FREE_MARK");

      const account: AccountRecord = {
        name,
        username,
        password,
        privateKey: keys.privateKey,
        publicKey: keys.publicKey,
        status,
        wgName: server.name,
        allowedIp,
        allowedIpv6,
        bDownload,
        bUpload,
        mangle,
        uuid: randomUUID(),
        createdAt: this.#clock.now().toISOString(),
      };
      try {
        await this.#inventory.putAccount(account);
      } catch (error) {
        this.#inventory.marks.release(mangle);
        throw error;
      }
      return account;
    });
    await this.#reconciler.submitThen([{ type: "account", before: null, after: record }], () =>
      this.#events?.publish("account.created", { account: accountSnapshot(record) }),
    );
    return record;
  }

  async update(name: string, input: AccountUpdate): Promise<AccountRecord> {
    const [before, after] = await this.#lock.run(async () => {
      const before = this.get(name);
      const server = isGiven(input.wgName) ? this.#server(input.wgName) : this.serverOf(before);
      const pools = this.#inventory.pools(server.name)!;
      const moved = server.name !== before.wgName;

      let username = before.username;
      if (isGiven(input.username) && text(input.username) !== before.username) {
        username = checkName(input.username, "WRONG_USERNAME");
        if (this.#inventory.accountByUsername(username)) throw new VpncpError("USERNAME_IN_USE");
      }
      let allowedIp = before.allowedIp;
      if (isGiven(input.allowedIp)) {
        allowedIp = this.#claimIpv4(input.allowedIp, pools.pool4, "WRONG_EXTERNAL_IP", moved ? null : before);
      } else if (moved) {
        const free = pools.pool4.peek();
        if (free === null) throw new VpncpError("NO_FREE_IP");
        allowedIp = free;
      }
      const keepIpv6 = !moved && !isGiven(input.allowedIpv6) && before.allowedIpv6 !== "" && allowedIp === before.allowedIp;
      const allowedIpv6 = keepIpv6 ? before.allowedIpv6 : this.#ipv6For(server, pools, input.allowedIpv6, allowedIp, moved ? null : before);
      const keys =
        isGiven(input.privateKey) || isGiven(input.publicKey)
          ? this.#keys(input.privateKey, input.publicKey, server, before)
          : { privateKey: before.privateKey, publicKey: before.publicKey };
      if (moved && !isGiven(input.publicKey) && this.#publicKeyInUse(server, before.publicKey, before))
        throw new VpncpError("KEYS_INVALID");
      const after: AccountRecord = {
        ...before,
        username,
        wgName: server.name,
        allowedIp,
        allowedIpv6,
        privateKey: keys.privateKey,
        publicKey: keys.publicKey,
        status: isGiven(input.status) ? checkStatus(input.status) : before.status,
        password: isGiven(input.password) ? checkPassword(input.password) : before.password,
        bDownload: isGiven(input.bDownload) ? checkBandwidth(input.bDownload, "WRONG_DOWNLOAD") : before.bDownload,
        bUpload: isGiven(input.bUpload) ? checkBandwidth(input.bUpload, "WRONG_UPLOAD") : before.bUpload,
      };
      await this.#inventory.putAccount(after);
      return [before, after] as const;
    });
    await this.#reconciler.submitThen([{ type: "account", before, after }], () => this.#publishUpdate(before, after));
    return after;
  }

  async remove(name: string): Promise<void> {
    const before = await this.#lock.run(async () => {
      const account = this.get(name);
      await this.#inventory.deleteAccount(account.name);
      // its statistics and one-time links go too, still under the lock (see onRemove); a failure there
      // must not keep the deletion from reaching the system
      const forgotten = await Promise.allSettled(this.#removeListeners.map((listener) => listener(account)));
      for (const result of forgotten) {
        if (result.status === "rejected") {
          (this.#options.logger ?? silentLogger).error("forgetting a deleted account's data failed", {
            account: account.name,
            error: String(result.reason),
          });
        }
      }
      return account;
    });
    await this.#reconciler.submitThen([{ type: "account", before, after: null }], () =>
      this.#events?.publish("account.deleted", { account: accountSnapshot(before) }),
    );
  }

  /** Writes many accounts' bandwidth at once (server set_bandwidth); one reconcile for all. */
  async setBandwidth(serverName: string, bDownload: InputValue, bUpload: InputValue): Promise<AccountRecord[]> {
    const changes = await this.#lock.run(async () => {
      const server = this.#inventory.server(serverName);
      if (!server) throw new VpncpError("SERVER_NOT_FOUND");
      const download = isGiven(bDownload) ? checkBandwidth(bDownload, "WRONG_DOWNLOAD") : undefined;
      const upload = isGiven(bUpload) ? checkBandwidth(bUpload, "WRONG_UPLOAD") : undefined;
      const out: { before: AccountRecord; after: AccountRecord }[] = [];
      for (const before of this.#inventory.accountsOf(server.name)) {
        const after = { ...before, bDownload: download ?? before.bDownload, bUpload: upload ?? before.bUpload };
        await this.#inventory.putAccount(after);
        out.push({ before, after });
      }
      return out;
    });
    await this.#reconciler.submitThen(
      changes.map(({ before, after }) => ({ type: "account" as const, before, after })),
      () => {
        for (const { before, after } of changes) this.#publishUpdate(before, after);
      },
    );
    return changes.map((c) => c.after);
  }

  /** account.updated, then account.enabled/disabled when the status changed. */
  #publishUpdate(before: AccountRecord, after: AccountRecord): void {
    if (!this.#events) return;
    const account = accountSnapshot(after);
    this.#events.publish("account.updated", { account, before: accountSnapshot(before) });
    if (before.status !== after.status)
      this.#events.publish(after.status === "enable" ? "account.enabled" : "account.disabled", { account });
  }

  #server(wgName: InputValue): ServerRecord {
    const server = isGiven(wgName) ? this.#inventory.server(text(wgName)) : undefined;
    if (!server) throw new VpncpError("SERVER_NOT_VALID");
    return server;
  }

  #uniqueNames(name: string | undefined, username: string | undefined): { name: string; username: string } {
    if (name !== undefined && username !== undefined) return { name, username };
    for (let n = this.#inventory.accountCount() + 1; ; n += 1) {
      const candidateName = name ?? `peer_${n}`;
      const candidateUser = username ?? `user_${n}`;
      if (
        (name !== undefined || !this.#inventory.account(candidateName)) &&
        (username !== undefined || !this.#inventory.accountByUsername(candidateUser))
      ) {
        return { name: candidateName, username: candidateUser };
      }
    }
  }

  /** Validates an IPv4 given for the account: format, range, and that no other account has it. */
  #claimIpv4(value: InputValue, pool: IpPool, formatError: ErrorCode, self: AccountRecord | null): string {
    const address = hostAddress(value, 4);
    if (!address) throw new VpncpError(formatError);
    if (!pool.isAssignable(address)) throw new VpncpError("IP_OUT_OF_RANGE");
    if (!pool.isFree(address) && self?.allowedIp !== address) throw new VpncpError("IP_IN_USE");
    return address;
  }

  /** The account's IPv6: given (checked), or derived from its IPv4 host part, or "" when the server has none. */
  #ipv6For(
    server: ServerRecord,
    pools: { pool4: IpPool; pool6: IpPool | null },
    value: InputValue,
    ipv4: string,
    self: AccountRecord | null,
  ): string {
    const pool6 = pools.pool6;
    if (isGiven(value)) {
      const address = hostAddress(value, 6);
      if (!address) throw new VpncpError("WRONG_IPV6");
      if (!pool6?.isAssignable(address)) throw new VpncpError("IP_OUT_OF_RANGE");
      if (!pool6.isFree(address) && self?.allowedIpv6 !== address) throw new VpncpError("IP_IN_USE");
      return address;
    }
    if (!server.ipv6 || !pool6) return "";
    const offset = pools.pool4.offsetOf(ipv4);
    const derived = offset === null ? null : pool6.addressAt(offset);
    if (derived && (pool6.isFree(derived) || self?.allowedIpv6 === derived)) return derived;
    const free = pool6.peek();
    if (free === null) throw new VpncpError("NO_FREE_IP");
    return free;
  }

  #keys(
    privateKey: InputValue,
    publicKey: InputValue,
    server: ServerRecord,
    self: AccountRecord | null,
  ): { privateKey: string; publicKey: string } {
    let keys: { privateKey: string; publicKey: string };
    if (isGiven(privateKey)) {
      const priv = text(privateKey);
      if (!isValidKey(priv)) throw new VpncpError("KEYS_INVALID");
      const derived = derivePublicKey(priv);
      if (isGiven(publicKey) && text(publicKey) !== derived) throw new VpncpError("KEYS_INVALID");
      keys = { privateKey: priv, publicKey: derived };
    } else if (isGiven(publicKey)) {
      // the client keeps its private key; the config text then lacks it
      const pub = text(publicKey);
      if (!isValidKey(pub)) throw new VpncpError("KEYS_INVALID");
      keys = { privateKey: "", publicKey: pub };
    } else {
      keys = generateKeyPair();
    }
    if (this.#publicKeyInUse(server, keys.publicKey, self) || keys.publicKey === server.publicKey) throw new VpncpError("KEYS_INVALID");
    return keys;
  }

  #publicKeyInUse(server: ServerRecord, publicKey: string, self: AccountRecord | null): boolean {
    const owner = this.#inventory.accountByPublicKey(server.name, publicKey);
    return owner !== undefined && owner.name !== self?.name;
  }
}

/** "10.0.110.52" or "10.0.110.52/32" → "10.0.110.52"; other prefixes or families → null. */
function hostAddress(value: InputValue, family: 4 | 6): string | null {
  const raw = text(value);
  const cidr = parseCidr(raw, { defaultHost: true });
  if (!cidr || cidr.family !== family || cidr.prefix !== (family === 4 ? 32 : 128)) return null;
  const address = raw.split("/")[0] ?? "";
  return parseAddress(address) ? normalizeAddress(address) : null;
}
