import { createVpncpStorage, type Logger, parseStorageSpec, type StorageConfig, silentLogger } from "@vpncp/core";
import { type Account, type AccountDump, type DailyTraffic, isVpncpApiError } from "@vpncp/http/client";
import type { Storage } from "unstorage";
import { type BridgeNode, type NodeClientOptions, type NodeHandle, NodePool, nodeFailure } from "./nodes.js";
import {
  BANDWIDTH_DOWNLOAD,
  BANDWIDTH_UPLOAD,
  type BridgeAnswer,
  bandwidthOf,
  monthOf,
  passwordOf,
  REGION,
  regionOf,
  serviceIdOf,
  WhmcsError,
  type WhmcsParams,
  type WhmcsResult,
} from "./params.js";
import { ServiceMap, type ServicePlacement } from "./service-map.js";
import { type BilledDirection, bytesToWhmcsMb, type ServiceUsage, usageOfMonth } from "./usage.js";

export interface WhmcsBridgeOptions extends NodeClientOptions {
  readonly nodes: readonly BridgeNode[];
  /**
   * The service → node mapping: an unstorage instance, a config for vpncp's storage factory, or
   * a spec string ("redis:redis://127.0.0.1:6379", "fs:base=/var/lib/vpncp-bridge"). Default:
   * crash-safe files in `.vpncp-bridge/`.
   */
  readonly storage?: Storage | StorageConfig | string | undefined;
  /** Accounts are named `<prefix><serviceid>` (default "whmcs_"); one prefix per WHMCS installation. */
  readonly accountPrefix?: string | undefined;
  /** Name of the configurable option or custom field that picks a region (default "Region"). */
  readonly regionField?: string | undefined;
  /** What UsageUpdate reports as bandwidth (default both directions). */
  readonly billedDirection?: BilledDirection | undefined;
  /** Timezone whose calendar month UsageUpdate and the client area report (default UTC). */
  readonly timeZone?: string | undefined;
  /** Time limit of the quick look at each node when placing (default min(timeoutMs, 5000)). */
  readonly probeTimeoutMs?: number | undefined;
  readonly clock?: (() => Date) | undefined;
  /** Failures are logged here (never passwords or hashes). */
  readonly logger?: Logger | undefined;
}

/** The account as the client area shows it (no keys: the config text carries the private key). */
export interface ServiceAccount {
  readonly name: string;
  readonly username: string;
  readonly password: string;
  readonly status: Account["status"];
  readonly b_download: string;
  readonly b_upload: string;
  readonly allowed_IPs: string;
  readonly wg_name: string;
}

export interface MonthTraffic {
  readonly year: number;
  readonly month: number;
  readonly download_bytes: number;
  readonly upload_bytes: number;
  /** WHMCS MB (1 048 576 bytes), rounded. */
  readonly download_mb: number;
  readonly upload_mb: number;
  readonly total_mb: number;
  readonly days: readonly DailyTraffic[];
}

export interface ClientAreaData {
  readonly service: { readonly serviceid: string; readonly node: string; readonly region: string | null; readonly server: string };
  readonly account: ServiceAccount;
  readonly config_text: string;
  /** The config as a QR code: PNG, base64. */
  readonly config_qr: string;
  /** Present when the account's server and the node have IKEv2 on. */
  readonly ikev2: {
    readonly server: string;
    readonly username: string;
    /** strongSwan Android profile (.sswan). */
    readonly sswan: string;
    /** Apple profile (.mobileconfig). */
    readonly mobileconfig: string;
  } | null;
  readonly traffic: MonthTraffic;
}

export interface AdminTabData {
  readonly node: { readonly id: string; readonly url: string; readonly region: string | null };
  readonly server: string;
  readonly account: ServiceAccount & { readonly mangle: string; readonly public_key: string };
  readonly dump: AccountDump;
  readonly mangle_rules: string;
  readonly traffic_control: string;
}

export interface UsageData {
  readonly year: number;
  readonly month: number;
  readonly services: readonly ServiceUsage[];
  readonly failed: readonly { readonly serviceid: string; readonly error: string }[];
}

export interface TestConnectionData {
  readonly nodes: readonly {
    readonly id: string;
    readonly url: string;
    readonly region: string | null;
    readonly reachable: boolean;
    readonly count_accounts?: number;
    readonly count_accounts_available?: number;
    readonly error?: string;
  }[];
}

/** Functions the PHP module may call, with what each answers. */
export const BRIDGE_FUNCTIONS = [
  "CreateAccount",
  "SuspendAccount",
  "UnsuspendAccount",
  "TerminateAccount",
  "ChangePassword",
  "ChangePackage",
  "TestConnection",
  "UsageUpdate",
  "ClientArea",
  "OneTimeLink",
  "AdminServicesTabFields",
] as const;

export type BridgeFunction = (typeof BRIDGE_FUNCTIONS)[number];

const ACCOUNT_NOT_FOUND = "Account not found";
const NAME_IN_USE = "The name is already in use";
const USAGE_CONCURRENCY = 8;

function isStorage(value: unknown): value is Storage {
  return typeof value === "object" && value !== null && typeof (value as Storage).getItem === "function";
}

function serviceAccount(account: Account): ServiceAccount {
  return {
    name: account.name,
    username: account.username,
    password: account.password,
    status: account.status,
    b_download: account.b_download,
    b_upload: account.b_upload,
    allowed_IPs: account.allowed_IPs,
    wg_name: account.wg_name,
  };
}

function isRefusal(error: unknown, sentence: string): boolean {
  return isVpncpApiError(error) && error.is(sentence);
}

/**
 * WHMCS's server-module functions over many vpncp nodes. Every function answers WHMCS's way
 * ("success" or the sentence to show) and never throws.
 */
export class WhmcsBridge {
  readonly nodes: NodePool;
  readonly services: ServiceMap;
  readonly #storage: Storage;
  readonly #ownsStorage: boolean;
  readonly #prefix: string;
  readonly #regionField: string;
  readonly #billed: BilledDirection;
  readonly #timeZone: string;
  readonly #clock: () => Date;
  readonly #logger: Logger;
  /** Calls for one service run one after another, so a double-clicked create places one account. */
  readonly #queues = new Map<string, Promise<unknown>>();

  constructor(options: WhmcsBridgeOptions, storage: Storage, ownsStorage: boolean) {
    this.nodes = new NodePool(options.nodes, options);
    this.#storage = storage;
    this.#ownsStorage = ownsStorage;
    this.services = new ServiceMap(storage);
    this.#prefix = options.accountPrefix ?? "whmcs_";
    if (!/^[A-Za-z0-9_-]{0,32}$/.test(this.#prefix)) throw new Error("accountPrefix may hold only letters, digits, '_' and '-'");
    this.#regionField = options.regionField ?? REGION;
    this.#billed = options.billedDirection ?? "total";
    this.#timeZone = options.timeZone ?? "UTC";
    this.#clock = options.clock ?? (() => new Date());
    this.#logger = options.logger ?? silentLogger;
  }

  /** The account name of a service: stable, so a retried create finds what the first one made. */
  accountName(serviceid: string): string {
    return `${this.#prefix}${serviceid}`;
  }

  // ---- WHMCS functions ---------------------------------------------------------------------

  /** Places the account on the least-full node; a service that already has one succeeds as it is. */
  CreateAccount(params: WhmcsParams): Promise<WhmcsResult> {
    return this.#result("CreateAccount", params, async () => {
      const id = serviceIdOf(params);
      const bandwidth = this.#bandwidth(params);
      const password = passwordOf(params);
      await this.#serial(id, async () => {
        const name = this.accountName(id);
        const mapped = await this.services.get(id);
        if (mapped) {
          const handle = this.nodes.get(mapped.node);
          try {
            await handle.client.getAccount(mapped.account);
            if (mapped.state !== "active") await this.services.set({ ...mapped, state: "active" });
            return;
          } catch (error) {
            if (!isRefusal(error, ACCOUNT_NOT_FOUND)) throw nodeFailure(handle.node, error);
          }
          // the earlier attempt never made it: create the account on the node it was meant for
          const server = await this.#serverOn(handle, mapped.server);
          await this.#createOn(handle, { ...mapped, server }, password, bandwidth, false);
          return;
        }
        const found = await this.#search(name);
        if (found.handle && found.account) {
          await this.services.set(this.#placement(id, params, found.handle.node.id, found.account.wg_name, "active"));
          return;
        }
        const { node, server } = await this.nodes.place(regionOf(params, this.#regionField));
        const placement = this.#placement(id, params, node.node.id, server, "creating");
        await this.services.set(placement);
        await this.#createOn(node, placement, password, bandwidth, true);
      });
      return "success";
    });
  }

  /** Disables the account: no tunnel, no shaping, until UnsuspendAccount. */
  SuspendAccount(params: WhmcsParams): Promise<WhmcsResult> {
    return this.#result("SuspendAccount", params, () => this.#update(params, { status: "disable" }));
  }

  UnsuspendAccount(params: WhmcsParams): Promise<WhmcsResult> {
    return this.#result("UnsuspendAccount", params, () => this.#update(params, { status: "enable" }));
  }

  /** Removes the account; an account that is already gone counts as removed. */
  TerminateAccount(params: WhmcsParams): Promise<WhmcsResult> {
    return this.#result("TerminateAccount", params, async () => {
      const id = serviceIdOf(params);
      await this.#serial(id, async () => {
        const mapped = await this.services.get(id);
        if (mapped) {
          await this.#deleteOn(this.nodes.get(mapped.node), mapped.account);
          await this.services.remove(id);
          return;
        }
        const name = this.accountName(id);
        const found = await this.#search(name);
        if (found.handle) {
          await this.#deleteOn(found.handle, name);
          return;
        }
        if (found.down.length > 0) {
          throw new WhmcsError(`Cannot confirm that service ${id} has no VPN account: ${found.down.join("; ")}`);
        }
      });
      return "success";
    });
  }

  ChangePassword(params: WhmcsParams): Promise<WhmcsResult> {
    return this.#result("ChangePassword", params, () => {
      const password = passwordOf(params);
      if (password === undefined) throw new WhmcsError("The new password is empty");
      return this.#update(params, { password });
    });
  }

  /** Applies the package's bandwidth (both directions, every time: the node may have been changed by hand). */
  ChangePackage(params: WhmcsParams): Promise<WhmcsResult> {
    return this.#result("ChangePackage", params, () => this.#update(params, this.#bandwidth(params)));
  }

  /** Every node answers with this access hash. */
  async TestConnection(params: WhmcsParams): Promise<BridgeAnswer<TestConnectionData>> {
    void params;
    const nodes = await Promise.all(
      this.nodes.all.map(async ({ node, client }): Promise<TestConnectionData["nodes"][number]> => {
        const base = { id: node.id, url: node.url, region: node.region ?? null };
        try {
          const status = await client.systemStatus();
          return {
            ...base,
            reachable: true,
            count_accounts: status.count_accounts,
            count_accounts_available: status.count_accounts_available,
          };
        } catch (error) {
          return { ...base, reachable: false, error: nodeFailure(node, error).message };
        }
      }),
    );
    const failed = nodes.filter((n) => n.error !== undefined);
    const result = failed.length === 0 ? "success" : failed.map((n) => `${n.id}: ${n.error}`).join("; ");
    return { result, data: { nodes } };
  }

  /**
   * This month's traffic of every service the bridge placed, in WHMCS MB (see usage.ts). Services
   * on nodes that do not answer are listed in `failed`; the rest are still reported.
   */
  async UsageUpdate(params: WhmcsParams): Promise<BridgeAnswer<UsageData>> {
    void params;
    const { year, month } = monthOf(this.#clock(), this.#timeZone);
    let services: ServicePlacement[];
    try {
      services = (await this.services.list()).filter((s) => s.state === "active");
    } catch (error) {
      this.#logger.error("whmcs bridge: mapping unreadable", { error: String(error) });
      return { result: "The bridge cannot read its service mapping" };
    }
    const downNodes = new Map<string, string>();
    const usage: ServiceUsage[] = [];
    const failed: { serviceid: string; error: string }[] = [];
    const queue = [...services];
    const worker = async () => {
      for (let service = queue.shift(); service; service = queue.shift()) {
        const down = downNodes.get(service.node);
        if (down !== undefined) {
          failed.push({ serviceid: service.serviceid, error: down });
          continue;
        }
        try {
          const handle = this.nodes.get(service.node);
          const days = await handle.client.accountTrafficStatistics(service.account, year, month);
          usage.push(usageOfMonth(days, service, this.#billed));
        } catch (error) {
          const sentence = error instanceof WhmcsError ? error.message : nodeFailure(this.nodes.get(service.node).node, error).message;
          if (isVpncpApiError(error) && error.unreachable) downNodes.set(service.node, sentence);
          failed.push({ serviceid: service.serviceid, error: sentence });
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(USAGE_CONCURRENCY, services.length) }, worker));
    usage.sort((a, b) => Number(a.serviceid) - Number(b.serviceid));
    failed.sort((a, b) => Number(a.serviceid) - Number(b.serviceid));
    const result =
      failed.length === 0
        ? "success"
        : `Usage of ${failed.length} service(s) could not be read: ${failed
            .slice(0, 5)
            .map((f) => `${f.serviceid} (${f.error})`)
            .join("; ")}`;
    if (failed.length > 0) this.#logger.warn("whmcs bridge: usage incomplete", { failed: failed.length });
    return { result, data: { year, month, services: usage, failed } };
  }

  /** What the customer sees: config text, QR, IKEv2 profiles when IKEv2 is on, this month's traffic. */
  ClientArea(params: WhmcsParams): Promise<BridgeAnswer<ClientAreaData>> {
    return this.#answer("ClientArea", params, async () => {
      const { placement, handle } = await this.#locate(params);
      const { client, node } = handle;
      const { year, month } = monthOf(this.#clock(), this.#timeZone);
      try {
        const account = await client.getAccount(placement.account);
        const [configText, configQr, days, server, ikev2Config] = await Promise.all([
          client.accountConfigText(account.name),
          client.accountConfigQr(account.name),
          client.accountTrafficStatistics(account.name, year, month),
          client.getWireguardServer(account.wg_name),
          client.ikev2Config(),
        ]);
        let ikev2: ClientAreaData["ikev2"] = null;
        if (server.ikev2 && ikev2Config.enabled) {
          const [sswan, mobileconfig] = await Promise.all([
            client.accountIkev2Profile(account.name),
            client.accountIkev2Mobileconfig(account.name),
          ]);
          const address = ikev2Config.server_domain || ikev2Config.server_ip || server.endpoint || server.external_ip;
          ikev2 = { server: address, username: account.username, sswan, mobileconfig };
        }
        const usage = usageOfMonth(days, { serviceid: placement.serviceid, account: account.name, node: node.id });
        return {
          service: { serviceid: placement.serviceid, node: node.id, region: node.region ?? null, server: account.wg_name },
          account: serviceAccount(account),
          config_text: configText,
          config_qr: configQr,
          ikev2,
          traffic: {
            year,
            month,
            download_bytes: usage.download_bytes,
            upload_bytes: usage.upload_bytes,
            download_mb: bytesToWhmcsMb(usage.download_bytes),
            upload_mb: bytesToWhmcsMb(usage.upload_bytes),
            total_mb: bytesToWhmcsMb(usage.download_bytes + usage.upload_bytes),
            days,
          },
        };
      } catch (error) {
        throw nodeFailure(node, error);
      }
    });
  }

  /** A new one-time link (each call makes one; the client area asks only when the customer does). */
  OneTimeLink(params: WhmcsParams): Promise<BridgeAnswer<{ url: string }>> {
    return this.#answer("OneTimeLink", params, async () => {
      const { placement, handle } = await this.#locate(params);
      try {
        return { url: await handle.client.accountOneTimeLink(placement.account) };
      } catch (error) {
        throw nodeFailure(handle.node, error);
      }
    });
  }

  /** What the admin sees on the service tab: where it lives, the peer dump, its mangle rules and shaping. */
  AdminServicesTabFields(params: WhmcsParams): Promise<BridgeAnswer<AdminTabData>> {
    return this.#answer("AdminServicesTabFields", params, async () => {
      const { placement, handle } = await this.#locate(params);
      const { client, node } = handle;
      try {
        const [account, dump, mangleRules, trafficControl] = await Promise.all([
          client.getAccount(placement.account),
          client.accountDump(placement.account),
          client.accountMangleRules(placement.account),
          client.accountTrafficControl(placement.account),
        ]);
        return {
          node: { id: node.id, url: node.url, region: node.region ?? null },
          server: account.wg_name,
          account: { ...serviceAccount(account), mangle: account.mangle, public_key: account.public_key },
          dump,
          mangle_rules: mangleRules,
          traffic_control: trafficControl,
        };
      } catch (error) {
        throw nodeFailure(node, error);
      }
    });
  }

  /** Calls a function by its WHMCS name; what the HTTP sub-app serves. */
  async call(name: string, params: WhmcsParams): Promise<BridgeAnswer> {
    switch (name as BridgeFunction) {
      case "CreateAccount":
      case "SuspendAccount":
      case "UnsuspendAccount":
      case "TerminateAccount":
      case "ChangePassword":
      case "ChangePackage":
        return { result: await this[name as "CreateAccount"](params) };
      case "TestConnection":
      case "UsageUpdate":
      case "ClientArea":
      case "OneTimeLink":
      case "AdminServicesTabFields":
        return this[name as "ClientArea"](params);
      default:
        return { result: `Unknown function: ${name}` };
    }
  }

  async close(): Promise<void> {
    await Promise.allSettled(this.#queues.values());
    if (this.#ownsStorage) await this.#storage.dispose();
  }

  // ---- Internals ---------------------------------------------------------------------------

  #bandwidth(params: WhmcsParams): { b_download: number; b_upload: number } {
    return {
      b_download: bandwidthOf(params, BANDWIDTH_DOWNLOAD, "configoption1"),
      b_upload: bandwidthOf(params, BANDWIDTH_UPLOAD, "configoption2"),
    };
  }

  #placement(id: string, params: WhmcsParams, node: string, server: string, state: ServicePlacement["state"]): ServicePlacement {
    const userid = params.userid === undefined || params.userid === null ? undefined : String(params.userid);
    return { serviceid: id, node, server, account: this.accountName(id), userid, state, createdAt: this.#clock().toISOString() };
  }

  async #createOn(
    handle: NodeHandle,
    placement: ServicePlacement,
    password: string | undefined,
    bandwidth: { b_download: number; b_upload: number },
    fresh: boolean,
  ): Promise<void> {
    try {
      await handle.client.createAccount({
        wg_name: placement.server,
        name: placement.account,
        username: placement.account,
        password,
        status: "enable",
        ...bandwidth,
      });
    } catch (error) {
      // made by an attempt whose answer was lost: it is there, which is what was asked
      if (!isRefusal(error, NAME_IN_USE)) {
        // a refusal means nothing was made: forget the placement so a retry places afresh;
        // silence may hide a made account: keep it so the retry looks there first
        if (fresh && isVpncpApiError(error) && error.kind === "api") await this.services.remove(placement.serviceid);
        throw nodeFailure(handle.node, error);
      }
    }
    await this.services.set({ ...placement, state: "active" });
  }

  async #deleteOn(handle: NodeHandle, name: string): Promise<void> {
    try {
      await handle.client.deleteAccount(name);
    } catch (error) {
      if (!isRefusal(error, ACCOUNT_NOT_FOUND)) throw nodeFailure(handle.node, error);
    }
  }

  /** The server a re-create goes to: the mapped one while it has a free address, else the node's emptiest. */
  async #serverOn(handle: NodeHandle, preferred: string): Promise<string> {
    const probe = await this.nodes.probe(handle);
    if (!probe.reachable) throw new WhmcsError(probe.error ?? `VPN node "${handle.node.id}" is not reachable`);
    const free = probe.freeAddresses ?? {};
    if ((free[preferred] ?? 0) > 0) return preferred;
    const best = Object.entries(free).sort((a, b) => b[1] - a[1])[0];
    if (!best || best[1] === 0) throw new WhmcsError(`VPN node "${handle.node.id}" has no free address for the account`);
    return best[0];
  }

  /** Looks for an account on every node (a mapping lost with its storage); nodes that do not answer are named. */
  async #search(name: string): Promise<{ handle?: NodeHandle; account?: Account; down: string[] }> {
    const down: string[] = [];
    const results = await Promise.all(
      this.nodes.all.map(async (handle) => {
        try {
          return { handle, account: await handle.client.getAccount(name, { retries: 0 }) };
        } catch (error) {
          if (!isRefusal(error, ACCOUNT_NOT_FOUND)) down.push(nodeFailure(handle.node, error).message);
          return null;
        }
      }),
    );
    const hit = results.find((r) => r !== null);
    return hit ? { handle: hit.handle, account: hit.account, down } : { down };
  }

  /** Where a service's account is: the mapping, else a search of the nodes (and the mapping is restored). */
  async #locate(params: WhmcsParams): Promise<{ placement: ServicePlacement; handle: NodeHandle }> {
    const id = serviceIdOf(params);
    const mapped = await this.services.get(id);
    if (mapped) return { placement: mapped, handle: this.nodes.get(mapped.node) };
    const name = this.accountName(id);
    const found = await this.#search(name);
    if (found.handle && found.account) {
      const placement = this.#placement(id, params, found.handle.node.id, found.account.wg_name, "active");
      await this.services.set(placement);
      return { placement, handle: found.handle };
    }
    const down = found.down.length > 0 ? ` (not answering: ${found.down.join("; ")})` : "";
    throw new WhmcsError(`Service ${id} has no VPN account (${name})${down}`);
  }

  async #update(params: WhmcsParams, update: Parameters<NodeHandle["client"]["updateAccount"]>[1]): Promise<WhmcsResult> {
    const id = serviceIdOf(params);
    await this.#serial(id, async () => {
      const { placement, handle } = await this.#locate(params);
      try {
        await handle.client.updateAccount(placement.account, update);
      } catch (error) {
        throw nodeFailure(handle.node, error);
      }
    });
    return "success";
  }

  #serial<T>(serviceid: string, task: () => Promise<T>): Promise<T> {
    const previous = this.#queues.get(serviceid) ?? Promise.resolve();
    const next = previous.then(task, task);
    const settled = next.then(
      () => undefined,
      () => undefined,
    );
    this.#queues.set(serviceid, settled);
    void settled.then(() => {
      if (this.#queues.get(serviceid) === settled) this.#queues.delete(serviceid);
    });
    return next;
  }

  async #result(name: BridgeFunction, params: WhmcsParams, run: () => Promise<WhmcsResult>): Promise<WhmcsResult> {
    try {
      return await run();
    } catch (error) {
      return this.#sentence(name, params, error);
    }
  }

  async #answer<T>(name: BridgeFunction, params: WhmcsParams, run: () => Promise<T>): Promise<BridgeAnswer<T>> {
    try {
      return { result: "success", data: await run() };
    } catch (error) {
      return { result: this.#sentence(name, params, error) };
    }
  }

  #sentence(name: BridgeFunction, params: WhmcsParams, error: unknown): string {
    const sentence = error instanceof WhmcsError ? error.message : "The bridge failed; see its log";
    const log = error instanceof WhmcsError ? this.#logger.warn : this.#logger.error;
    log.call(this.#logger, `whmcs bridge: ${name} failed`, {
      serviceid: params?.serviceid,
      error: error instanceof WhmcsError ? sentence : String(error),
    });
    return sentence;
  }
}

/** Opens the mapping storage and returns the bridge. */
export async function createWhmcsBridge(options: WhmcsBridgeOptions): Promise<WhmcsBridge> {
  let storage: Storage;
  let owns = true;
  if (isStorage(options.storage)) {
    storage = options.storage;
    owns = false;
  } else if (typeof options.storage === "string") {
    storage = await createVpncpStorage(parseStorageSpec(options.storage));
  } else {
    storage = await createVpncpStorage(options.storage ?? { driver: "fs", options: { base: ".vpncp-bridge" } });
  }
  try {
    return new WhmcsBridge(options, storage, owns);
  } catch (error) {
    if (owns) await storage.dispose();
    throw error;
  }
}
