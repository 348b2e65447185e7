import { networkInterfaces } from "node:os";
import { inject, injectable, optional } from "inversify";
import { derivePublicKey, generateKeyPair, isValidKey } from "../crypto/keys.js";
import { type Clock, TYPES } from "../di/ids.js";
import { type ErrorCode, VpncpError } from "../errors.js";
import { accountSnapshot, serverSnapshot } from "../events/domain-events.js";
import { EVENT_BUS, type EventBus } from "../events/event-bus.js";
import type { VpncpOptions } from "../model/options.js";
import type { AccountRecord, ServerRecord } from "../model/records.js";
import {
  type Cidr,
  cidrContains,
  cidrsOverlap,
  formatAddress,
  formatCidrAddress,
  normalizeAddress,
  parseAddress,
  parseCidr,
} from "../net/ip.js";
import type { WireGuardPort } from "../ports/index.js";
import { Inventory } from "./inventory.js";
import { MutationLock } from "./mutation-lock.js";
import { Reconciler } from "./reconciler.js";
import { checkBandwidth, checkBoolean, checkInteger, checkName, type InputValue, isGiven, isHostname, text } from "./validation.js";

/** Server fields as the API names them (camelCase here); every one optional on creation. */
export interface ServerInput {
  readonly name?: InputValue;
  readonly interfaceName?: InputValue;
  readonly listenPort?: InputValue;
  readonly address?: InputValue;
  readonly ipv6?: InputValue;
  readonly addressIpv6?: InputValue;
  readonly privateKey?: InputValue;
  readonly publicKey?: InputValue;
  readonly externalIp?: InputValue;
  readonly endpoint?: InputValue;
  readonly dns1?: InputValue;
  readonly dns2?: InputValue;
  readonly dns1Ipv6?: InputValue;
  readonly dns2Ipv6?: InputValue;
  readonly mtu?: InputValue;
  readonly keepAlive?: InputValue;
  readonly allowedIps?: InputValue;
  readonly internalTraffic?: InputValue;
  readonly ikev2?: InputValue;
  readonly bDownload?: InputValue;
  readonly bUpload?: InputValue;
}

/** What PUT may change (name, interface and keys stay). */
export type ServerUpdate = Omit<ServerInput, "name" | "interfaceName" | "privateKey" | "publicKey">;

export const FIRST_LISTEN_PORT = 51820;
const INTERFACE_RE = /^wg\d{1,13}$/;

/** A WireGuard interface name vpncp may create (wgN). */
export function isInterfaceName(value: string): boolean {
  return INTERFACE_RE.test(value);
}

export const SERVER_DEFAULTS = Object.freeze({
  dns1: "8.8.8.8",
  dns2: "1.1.1.1",
  dns1Ipv6: "2001:4860:4860::8888",
  dns2Ipv6: "2606:4700:4700::1111",
  keepAlive: 25,
  allowedIps: "0.0.0.0/0",
});

/** WireGuard servers: creation with every missing field generated unique, edits, deletion. */
@injectable()
export class ServerService {
  readonly #inventory: Inventory;
  readonly #reconciler: Reconciler;
  readonly #lock: MutationLock;
  readonly #wg: WireGuardPort;
  readonly #options: VpncpOptions;
  readonly #clock: Clock;
  readonly #events: EventBus | undefined;

  constructor(
    @inject(Inventory) inventory: Inventory,
    @inject(Reconciler) reconciler: Reconciler,
    @inject(MutationLock) lock: MutationLock,
    @inject(TYPES.WireGuard) wg: WireGuardPort,
    @inject(TYPES.Options) options: VpncpOptions,
    @inject(TYPES.Clock) clock: Clock,
    @inject(EVENT_BUS) @optional() events?: EventBus,
  ) {
    this.#inventory = inventory;
    this.#reconciler = reconciler;
    this.#lock = lock;
    this.#wg = wg;
    this.#options = options;
    this.#clock = clock;
    this.#events = events;
  }

  list(): ServerRecord[] {
    return this.#inventory.servers();
  }

  get(name: string): ServerRecord {
    const server = typeof name === "string" ? this.#inventory.server(name) : undefined;
    if (!server) throw new VpncpError("SERVER_NOT_FOUND");
    return server;
  }

  accounts(name: string): AccountRecord[] {
    return this.#inventory.accountsOf(this.get(name).name);
  }

  availableIps(name: string): string[] {
    return this.#inventory.pools(this.get(name).name)!.pool4.available();
  }

  async create(input: ServerInput = {}): Promise<ServerRecord> {
    const hostInterfaces = new Set(await this.#wg.listInterfaces().catch(() => [] as string[]));
    const record = await this.#lock.run(async () => {
      const name = isGiven(input.name) ? checkName(input.name, "WRONG_NAME") : undefined;
      if (name !== undefined && this.#inventory.server(name)) throw new VpncpError("NAME_IN_USE");

      let interfaceName: string;
      if (isGiven(input.interfaceName)) {
        interfaceName = text(input.interfaceName);
        if (!isInterfaceName(interfaceName)) throw new VpncpError("WRONG_INTERFACE");
        if (this.#inventory.serverByInterface(interfaceName) || hostInterfaces.has(interfaceName)) throw new VpncpError("INTERFACE_IN_USE");
      } else {
        interfaceName = this.#freeInterface(hostInterfaces);
      }
      const finalName = name ?? this.#freeName(interfaceName);

      const listenPort = isGiven(input.listenPort) ? this.#checkPort(input.listenPort, null) : this.#freePort();
      const address = isGiven(input.address) ? this.#checkAddress(input.address, 4, null) : this.#freeSubnet4();
      const ipv6 = isGiven(input.ipv6) ? checkBoolean(input.ipv6) : isGiven(input.addressIpv6);
      const addressIpv6 = isGiven(input.addressIpv6) ? this.#checkAddress(input.addressIpv6, 6, null) : ipv6 ? this.#freeSubnet6() : "";
      const keys = this.#keys(input.privateKey, input.publicKey);
      const externalIp = isGiven(input.externalIp) ? checkIp(input.externalIp, "WRONG_EXTERNAL_IP") : this.#defaultExternalIp();

      const record: ServerRecord = {
        name: finalName,
        interfaceName,
        listenPort,
        address,
        ipv6,
        addressIpv6,
        privateKey: keys.privateKey,
        publicKey: keys.publicKey,
        externalIp,
        createdAt: this.#clock.now().toISOString(),
        ...this.#settings(input, {
          endpoint: "",
          dns1: SERVER_DEFAULTS.dns1,
          dns2: SERVER_DEFAULTS.dns2,
          dns1Ipv6: SERVER_DEFAULTS.dns1Ipv6,
          dns2Ipv6: SERVER_DEFAULTS.dns2Ipv6,
          mtu: 0,
          keepAlive: SERVER_DEFAULTS.keepAlive,
          allowedIps: SERVER_DEFAULTS.allowedIps,
          internalTraffic: false,
          ikev2: false,
          bDownload: 0,
          bUpload: 0,
        }),
      };
      await this.#inventory.putServer(record);
      return record;
    });
    await this.#reconciler.submitThen([{ type: "server", before: null, after: record }], () =>
      this.#events?.publish("server.created", { server: serverSnapshot(record) }),
    );
    return record;
  }

  async update(name: string, input: ServerUpdate): Promise<ServerRecord> {
    const result = await this.#lock.run(async () => {
      const before = this.get(name);
      const accounts = this.#inventory.accountsOf(before.name);
      const listenPort = isGiven(input.listenPort) ? this.#checkPort(input.listenPort, before) : before.listenPort;
      const externalIp = isGiven(input.externalIp) ? checkIp(input.externalIp, "WRONG_EXTERNAL_IP") : before.externalIp;
      let address = before.address;
      if (isGiven(input.address)) {
        address = this.#checkAddress(input.address, 4, before);
        const cidr = parseCidr(address)!;
        const self = parseAddress(address.split("/")[0] ?? "")!;
        for (const account of accounts) {
          const ip = parseAddress(account.allowedIp)!;
          const networkOrBroadcast = ip.value === cidr.network || ip.value === cidr.network + cidr.size - 1n;
          if (!cidrContains(cidr, ip) || networkOrBroadcast || ip.value === self.value) throw new VpncpError("IP_OUT_OF_RANGE");
        }
      }
      const ipv6 = isGiven(input.ipv6) ? checkBoolean(input.ipv6) : before.ipv6 || isGiven(input.addressIpv6);
      let addressIpv6 = before.addressIpv6;
      if (isGiven(input.addressIpv6)) addressIpv6 = this.#checkAddress(input.addressIpv6, 6, before);
      else if (ipv6 && !addressIpv6) addressIpv6 = this.#freeSubnet6();
      const after: ServerRecord = { ...before, listenPort, externalIp, address, ipv6, addressIpv6, ...this.#settings(input, before) };

      // accounts keep their IPv6 host part; a changed IPv6 network moves them along
      const accountChanges: { before: AccountRecord; after: AccountRecord }[] = [];
      if (after.ipv6 && after.addressIpv6 !== before.addressIpv6) {
        const old6 = before.addressIpv6 ? parseCidr(before.addressIpv6) : null;
        const new6 = parseCidr(after.addressIpv6)!;
        const old4 = parseCidr(before.address)!;
        for (const account of accounts) {
          const offset =
            account.allowedIpv6 && old6
              ? parseAddress(account.allowedIpv6)!.value - old6.network
              : parseAddress(account.allowedIp)!.value - old4.network;
          const v6 = offset > 0n && offset < new6.size ? formatAddress(6, new6.network + offset) : "";
          accountChanges.push({ before: account, after: { ...account, allowedIpv6: v6 } });
        }
      }
      await this.#inventory.putServer(after);
      for (const change of accountChanges) await this.#inventory.putAccount(change.after);
      return { before, after, accountChanges };
    });
    await this.#reconciler.submitThen(
      [
        { type: "server", before: result.before, after: result.after },
        ...result.accountChanges.map((c) => ({ type: "account" as const, ...c })),
      ],
      () => {
        this.#events?.publish("server.updated", { server: serverSnapshot(result.after), before: serverSnapshot(result.before) });
        for (const c of result.accountChanges)
          this.#events?.publish("account.updated", { account: accountSnapshot(c.after), before: accountSnapshot(c.before) });
      },
    );
    return result.after;
  }

  async remove(name: string): Promise<void> {
    const before = await this.#lock.run(async () => {
      const server = this.get(name);
      if (this.#inventory.accountCountOf(server.name) > 0) throw new VpncpError("SERVER_HAS_PEERS");
      await this.#inventory.deleteServer(server.name);
      return server;
    });
    await this.#reconciler.submitThen([{ type: "server", before, after: null }], () =>
      this.#events?.publish("server.deleted", { server: serverSnapshot(before) }),
    );
  }

  /** `{port, public_key}` as the running interface reports them; the stored values when it is not up. */
  async dump(name: string): Promise<{ port: string; public_key: string }> {
    const server = this.get(name);
    const state = await this.#wg.dump(server.interfaceName);
    return state
      ? { port: String(state.listenPort), public_key: state.publicKey }
      : { port: String(server.listenPort), public_key: server.publicKey };
  }

  // ---- validation and generation -----------------------------------------

  #settings(
    input: ServerUpdate,
    base: Pick<
      ServerRecord,
      | "endpoint"
      | "dns1"
      | "dns2"
      | "dns1Ipv6"
      | "dns2Ipv6"
      | "mtu"
      | "keepAlive"
      | "allowedIps"
      | "internalTraffic"
      | "ikev2"
      | "bDownload"
      | "bUpload"
    >,
  ) {
    return {
      endpoint: input.endpoint !== undefined ? checkEndpoint(input.endpoint) : base.endpoint,
      dns1: input.dns1 !== undefined ? checkOptionalIp(input.dns1, 4, "WRONG_DNS1") : base.dns1,
      dns2: input.dns2 !== undefined ? checkOptionalIp(input.dns2, 4, "WRONG_DNS2") : base.dns2,
      dns1Ipv6: input.dns1Ipv6 !== undefined ? checkOptionalIp(input.dns1Ipv6, 6, "WRONG_DNS1_IPV6") : base.dns1Ipv6,
      dns2Ipv6: input.dns2Ipv6 !== undefined ? checkOptionalIp(input.dns2Ipv6, 6, "WRONG_DNS2_IPV6") : base.dns2Ipv6,
      mtu: isGiven(input.mtu) ? checkMtu(input.mtu) : base.mtu,
      keepAlive: isGiven(input.keepAlive) ? checkInteger(input.keepAlive, 0, 65535, "WRONG_KEEP_ALIVE") : base.keepAlive,
      allowedIps: isGiven(input.allowedIps) ? checkAllowedIps(input.allowedIps) : base.allowedIps,
      internalTraffic: isGiven(input.internalTraffic) ? checkBoolean(input.internalTraffic) : base.internalTraffic,
      ikev2: isGiven(input.ikev2) ? checkBoolean(input.ikev2) : base.ikev2,
      bDownload: isGiven(input.bDownload) ? checkBandwidth(input.bDownload, "WRONG_DOWNLOAD") : base.bDownload,
      bUpload: isGiven(input.bUpload) ? checkBandwidth(input.bUpload, "WRONG_UPLOAD") : base.bUpload,
    };
  }

  #keys(privateKey: InputValue, publicKey: InputValue): { privateKey: string; publicKey: string } {
    if (!isGiven(privateKey)) {
      if (isGiven(publicKey)) throw new VpncpError("KEYS_INVALID");
      return generateKeyPair();
    }
    const priv = text(privateKey);
    if (!isValidKey(priv)) throw new VpncpError("KEYS_INVALID");
    const pub = derivePublicKey(priv);
    if (isGiven(publicKey) && text(publicKey) !== pub) throw new VpncpError("KEYS_INVALID");
    return { privateKey: priv, publicKey: pub };
  }

  #checkPort(value: InputValue, self: ServerRecord | null): number {
    const port = checkInteger(value, 1, 65535, "WRONG_PORT");
    const owner = this.#inventory.serverByPort(port);
    if (owner && owner.name !== self?.name) throw new VpncpError("PORT_IN_USE");
    return port;
  }

  /** A server address with prefix, not a network or broadcast address, overlapping no other server. */
  #checkAddress(value: InputValue, family: 4 | 6, self: ServerRecord | null): string {
    const cidr = checkServerCidr(text(value), family);
    if (this.#overlaps(cidr, self?.name)) throw new VpncpError("SUBNET_IN_USE");
    return formatCidrAddress(cidr);
  }

  #overlaps(cidr: Cidr, except?: string): boolean {
    return this.#inventory
      .networks()
      .some((n) => n.name !== except && (cidrsOverlap(n.cidr4, cidr) || (n.cidr6 !== null && cidrsOverlap(n.cidr6, cidr))));
  }

  #freeInterface(hostInterfaces: ReadonlySet<string>): string {
    for (let n = 0; ; n += 1) {
      const name = `wg${n}`;
      if (!this.#inventory.serverByInterface(name) && !hostInterfaces.has(name)) return name;
    }
  }

  #freeName(interfaceName: string): string {
    if (!this.#inventory.server(interfaceName)) return interfaceName;
    for (let n = 1; ; n += 1) {
      const name = `${interfaceName}_${n}`;
      if (!this.#inventory.server(name)) return name;
    }
  }

  #freePort(): number {
    for (let port = FIRST_LISTEN_PORT; port <= 65535; port += 1) {
      if (!this.#inventory.serverByPort(port)) return port;
    }
    throw new VpncpError("PORT_IN_USE");
  }

  /** The first /24 of 10.0.0.0/8 (from 10.0.1.0) that no server uses; the server takes .1. */
  #freeSubnet4(): string {
    for (let n = 1; n < 65536; n += 1) {
      const cidr = parseCidr(`10.${n >> 8}.${n & 255}.1/24`)!;
      if (!this.#overlaps(cidr)) return formatCidrAddress(cidr);
    }
    throw new VpncpError("NO_FREE_SUBNET");
  }

  /** A /64 of fd00::/48-style unique local space that no server uses. */
  #freeSubnet6(): string {
    for (let n = 1; n < 65536; n += 1) {
      const cidr = parseCidr(`fd00:0:0:${n.toString(16)}::1/64`)!;
      if (!this.#overlaps(cidr)) return formatCidrAddress(cidr);
    }
    throw new VpncpError("NO_FREE_SUBNET");
  }

  #defaultExternalIp(): string {
    if (this.#options.defaultExternalIp) return this.#options.defaultExternalIp;
    for (const addresses of Object.values(networkInterfaces())) {
      for (const address of addresses ?? []) {
        if (address.family === "IPv4" && !address.internal) return address.address;
      }
    }
    return "127.0.0.1";
  }
}

function checkIp(value: InputValue, code: ErrorCode): string {
  const address = normalizeAddress(text(value));
  if (!address) throw new VpncpError(code);
  return address;
}

function checkOptionalIp(value: InputValue, family: 4 | 6, code: ErrorCode): string {
  if (!isGiven(value)) return "";
  const parsed = parseAddress(text(value));
  if (!parsed || parsed.family !== family) throw new VpncpError(code);
  return formatAddress(parsed.family, parsed.value);
}

/** A server address with its prefix (8–30 / 48–126), not the network's (or IPv4 broadcast) address. */
export function checkServerCidr(value: string, family: 4 | 6): Cidr {
  const formatError = family === 4 ? "WRONG_IP" : "WRONG_IPV6";
  const cidr = parseCidr(value);
  if (!cidr || cidr.family !== family) throw new VpncpError(formatError);
  const maxPrefix = family === 4 ? 30 : 126;
  const minPrefix = family === 4 ? 8 : 48;
  if (cidr.prefix < minPrefix || cidr.prefix > maxPrefix) throw new VpncpError(formatError);
  if (cidr.address === cidr.network || (family === 4 && cidr.address === cidr.network + cidr.size - 1n)) throw new VpncpError(formatError);
  return cidr;
}

export function checkEndpoint(value: InputValue): string {
  if (!isGiven(value)) return "";
  const endpoint = text(value);
  if (parseAddress(endpoint) || isHostname(endpoint)) return endpoint;
  throw new VpncpError("WRONG_ENDPOINT");
}

export function checkMtu(value: InputValue): number {
  const mtu = checkInteger(value, 0, 9000, "WRONG_MTU");
  if (mtu !== 0 && mtu < 1280) throw new VpncpError("WRONG_MTU");
  return mtu;
}

function checkAllowedIps(value: InputValue): string {
  const parts = text(value)
    .split(",")
    .map((p) => p.trim())
    .filter(Boolean);
  if (parts.length === 0) throw new VpncpError("WRONG_ALLOWED_IPS");
  const out = parts.map((part) => {
    const cidr = parseCidr(part, { defaultHost: true });
    if (!cidr) throw new VpncpError("WRONG_ALLOWED_IPS");
    return `${formatAddress(cidr.family, cidr.network)}/${cidr.prefix}`;
  });
  return out.join(", ");
}
