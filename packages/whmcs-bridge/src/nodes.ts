import { isVpncpApiError, VpncpClient } from "@vpncp/http/client";
import { WhmcsError } from "./params.js";

/** One vpncp installation the bridge places accounts on. */
export interface BridgeNode {
  /** A short stable name ("fra-1"); the mapping refers to nodes by it. */
  readonly id: string;
  /** Base URL of its API, e.g. "https://vpn1.example.com". */
  readonly url: string;
  /** Its `access_hash`. */
  readonly accessHash: string;
  /** Region a service may ask for (configurable option / custom field "Region"). */
  readonly region?: string | undefined;
  /** WireGuard servers new accounts may go to; default: all of the node's servers. */
  readonly servers?: readonly string[] | undefined;
  /** Take no new accounts (existing ones are still served). */
  readonly drain?: boolean | undefined;
}

export interface NodeClientOptions {
  readonly timeoutMs?: number | undefined;
  readonly retries?: number | undefined;
  readonly retryDelayMs?: number | undefined;
  readonly fetch?: typeof fetch | undefined;
}

export interface NodeHandle {
  readonly node: BridgeNode;
  readonly client: VpncpClient;
}

/** What a look at a node found when placing an account. */
export interface NodeProbe {
  readonly id: string;
  readonly reachable: boolean;
  readonly countAccounts?: number;
  readonly countAccountsAvailable?: number;
  /** Free addresses per eligible WireGuard server. */
  readonly freeAddresses?: Readonly<Record<string, number>>;
  readonly error?: string;
}

export interface Placement {
  readonly node: NodeHandle;
  readonly server: string;
}

/** The sentence a failure of a node becomes: refusals as the node's own sentence, silence named after the node. */
export function nodeFailure(node: BridgeNode, error: unknown): WhmcsError {
  if (error instanceof WhmcsError) return error;
  if (isVpncpApiError(error)) {
    if (error.kind === "api") return new WhmcsError(error.message, { cause: error });
    return new WhmcsError(`VPN node "${node.id}" is not reachable: ${error.message}`, { cause: error });
  }
  return new WhmcsError(`VPN node "${node.id}" failed: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
}

/** The configured nodes, a client for each, and placement of new accounts. */
export class NodePool {
  readonly #nodes: Map<string, NodeHandle>;
  readonly #probeTimeoutMs: number;

  constructor(nodes: readonly BridgeNode[], options: NodeClientOptions & { readonly probeTimeoutMs?: number | undefined } = {}) {
    if (nodes.length === 0) throw new Error("the bridge needs at least one vpncp node");
    this.#nodes = new Map();
    for (const node of nodes) {
      if (!/^[A-Za-z0-9_.-]{1,64}$/.test(node.id)) throw new Error(`node id must be 1-64 letters, digits, "_", "-", ".": ${node.id}`);
      if (this.#nodes.has(node.id)) throw new Error(`node id used twice: ${node.id}`);
      if (!/^https?:\/\//.test(node.url)) throw new Error(`node ${node.id}: url must start with http:// or https://`);
      const client = new VpncpClient({
        baseUrl: node.url,
        accessHash: node.accessHash,
        timeoutMs: options.timeoutMs,
        retries: options.retries,
        retryDelayMs: options.retryDelayMs,
        fetch: options.fetch,
      });
      this.#nodes.set(node.id, { node, client });
    }
    this.#probeTimeoutMs = options.probeTimeoutMs ?? Math.min(options.timeoutMs ?? 5_000, 5_000);
  }

  get all(): NodeHandle[] {
    return [...this.#nodes.values()];
  }

  get(id: string): NodeHandle {
    const handle = this.#nodes.get(id);
    if (!handle) throw new WhmcsError(`The service is on VPN node "${id}", which is not in the bridge's configuration`);
    return handle;
  }

  /** Status and free addresses of one node; never throws. */
  async probe(handle: NodeHandle): Promise<NodeProbe> {
    const { node, client } = handle;
    // one quick attempt: a node that does not answer now is skipped, not waited for
    const call = { timeoutMs: this.#probeTimeoutMs, retries: 0 };
    try {
      const [status, servers] = await Promise.all([client.systemStatus(call), client.listWireguardServers(call)]);
      const names = Object.keys(servers).filter((name) => !node.servers || node.servers.includes(name));
      const free = await Promise.all(names.map(async (name) => [name, (await client.wireguardAvailableIps(name, call)).length] as const));
      return {
        id: node.id,
        reachable: true,
        countAccounts: status.count_accounts,
        countAccountsAvailable: status.count_accounts_available,
        freeAddresses: Object.fromEntries(free),
      };
    } catch (error) {
      return { id: node.id, reachable: false, error: nodeFailure(node, error).message };
    }
  }

  /**
   * The least-full node (accounts / account limit) of the region with room for one more account
   * and a server with a free address; on that node the server with the most free addresses.
   * Nodes that do not answer are skipped.
   */
  async place(region: string | undefined): Promise<Placement> {
    const candidates = this.all.filter(({ node }) => !node.drain && (region === undefined || node.region === region));
    if (candidates.length === 0) {
      throw new WhmcsError(region === undefined ? "No VPN node takes new accounts" : `No VPN node serves the region "${region}"`);
    }
    const probes = await Promise.all(candidates.map(async (handle) => ({ handle, probe: await this.probe(handle) })));
    const reasons: string[] = [];
    const usable: { handle: NodeHandle; fullness: number; count: number; server: string; free: number; order: number }[] = [];
    probes.forEach(({ handle, probe }, order) => {
      if (!probe.reachable) {
        reasons.push(`${probe.id}: down`);
        return;
      }
      const count = probe.countAccounts ?? 0;
      const limit = probe.countAccountsAvailable ?? 0;
      if (count >= limit) {
        reasons.push(`${probe.id}: account limit reached`);
        return;
      }
      const best = Object.entries(probe.freeAddresses ?? {})
        .filter(([, free]) => free > 0)
        .sort((a, b) => b[1] - a[1])[0];
      if (!best) {
        reasons.push(`${probe.id}: no free address`);
        return;
      }
      usable.push({ handle, fullness: count / limit, count, server: best[0], free: best[1], order });
    });
    usable.sort((a, b) => a.fullness - b.fullness || a.count - b.count || a.order - b.order);
    const chosen = usable[0];
    if (!chosen) {
      const where = region === undefined ? "" : ` in the region "${region}"`;
      throw new WhmcsError(`No VPN node${where} has room for a new account (${reasons.join("; ")})`);
    }
    return { node: chosen.handle, server: chosen.server };
  }
}
