/**
 * WireGuard in memory, behaving like wireguard-tools where the contract suite can see it:
 * re-applying keeps the endpoint, handshake and counters of unchanged peers (syncconf),
 * allowed IPs are canonical and belong to one peer only, a removed and re-created interface
 * starts from zero. Tests read the state and simulate traffic.
 */
import { createPrivateKey, createPublicKey } from "node:crypto";
import type { WgInterfaceSpec, WgInterfaceState, WgPeerChange, WgPeerSpec, WgPeerState, WireGuardPort } from "@vpncp/core";

export const DRIVER_NAME = "fake";

export interface FakeWireGuardOptions {
  /** What info() reports as the implementation (default "fake"). */
  readonly implementation?: string;
}

export interface FakeWgPeer extends WgPeerState {
  /** The preshared key as applied (tests compare it; the port never reads it back). */
  readonly presharedKey: string | null;
}

export interface FakeWgInterface {
  readonly name: string;
  readonly publicKey: string;
  readonly listenPort: number;
  readonly addresses: readonly string[];
  readonly mtu: number | null;
  readonly up: boolean;
  readonly peers: ReadonlyMap<string, FakeWgPeer>;
}

export interface SimulatedTraffic {
  readonly rxBytes?: number;
  readonly txBytes?: number;
  /** Unix seconds. */
  readonly latestHandshake?: number;
  /** "192.0.2.2:38446" */
  readonly endpoint?: string;
}

const KEY = /^[A-Za-z0-9+/]{42}[AEIMQUYcgkosw048]=$/;
const INTERFACE_NAME = /^[A-Za-z0-9_=+.][A-Za-z0-9_=+.-]{0,14}$/;
const X25519_PKCS8_PREFIX = Buffer.from("302e020100300506032b656e04220420", "hex");

function fail(message: string): never {
  throw new Error(`[vpncp] [wireguard-fake] ${message}`);
}

/** What `wg pubkey` prints for a private key. */
function publicKeyOf(privateKey: string): string {
  const key = createPrivateKey({
    key: Buffer.concat([X25519_PKCS8_PREFIX, Buffer.from(privateKey, "base64")]),
    format: "der",
    type: "pkcs8",
  });
  const { x } = createPublicKey(key).export({ format: "jwk" });
  return Buffer.from(x ?? "", "base64url").toString("base64");
}

function parseIpv6(text: string): number[] | null {
  const halves = text.split("::");
  if (halves.length > 2) return null;
  const part = (s: string): number[] | null => {
    if (s === "") return [];
    const groups: number[] = [];
    const pieces = s.split(":");
    for (const [i, piece] of pieces.entries()) {
      if (i === pieces.length - 1 && piece.includes(".")) {
        const v4 = parseIpv4(piece);
        if (!v4) return null;
        groups.push((v4[0]! << 8) | v4[1]!, (v4[2]! << 8) | v4[3]!);
      } else if (/^[0-9a-fA-F]{1,4}$/.test(piece)) groups.push(Number.parseInt(piece, 16));
      else return null;
    }
    return groups;
  };
  const head = part(halves[0]!);
  const tail = halves.length === 2 ? part(halves[1]!) : [];
  if (!head || !tail) return null;
  const missing = 8 - head.length - tail.length;
  if (halves.length === 2 ? missing < 1 : missing !== 0) return null;
  const groups = [...head, ...new Array<number>(missing).fill(0), ...tail];
  return groups.flatMap((g) => [g >> 8, g & 0xff]);
}

function parseIpv4(text: string): number[] | null {
  const parts = text.split(".");
  if (parts.length !== 4 || !parts.every((p) => /^[0-9]{1,3}$/.test(p) && Number(p) <= 255)) return null;
  return parts.map(Number);
}

function formatIpv6(bytes: readonly number[]): string {
  const groups = Array.from({ length: 8 }, (_, i) => (bytes[2 * i]! << 8) | bytes[2 * i + 1]!);
  // RFC 5952: compress the longest run (≥ 2) of zero groups, the first one on a tie.
  let best = { start: -1, length: 0 };
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i += 1;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j += 1;
    if (j - i > best.length) best = { start: i, length: j - i };
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (best.length < 2) return hex.join(":");
  return `${hex.slice(0, best.start).join(":")}::${hex.slice(best.start + best.length).join(":")}`;
}

/** What wg prints for an allowed IP: host bits cleared, IPv6 in RFC 5952 form. */
function canonicalAllowedIp(cidr: string): string {
  const [ip = "", prefixText, extra] = cidr.trim().split("/");
  if (extra !== undefined) fail(`invalid allowed IP: ${cidr}`);
  const v6 = ip.includes(":");
  const bytes = v6 ? parseIpv6(ip) : parseIpv4(ip);
  const bits = v6 ? 128 : 32;
  const prefix = prefixText === undefined ? bits : /^[0-9]{1,3}$/.test(prefixText) ? Number(prefixText) : Number.NaN;
  if (!bytes || !(prefix >= 0 && prefix <= bits)) fail(`invalid allowed IP: ${cidr}`);
  const masked = bytes.map((byte, i) => {
    const keep = Math.max(0, Math.min(8, prefix - 8 * i));
    return byte & ((0xff << (8 - keep)) & 0xff);
  });
  return `${v6 ? formatIpv6(masked) : masked.join(".")}/${prefix}`;
}

interface PeerRecord {
  publicKey: string;
  presharedKey: string | null;
  allowedIps: string[];
  persistentKeepalive: number | null;
  endpoint: string | null;
  latestHandshake: number;
  rxBytes: number;
  txBytes: number;
}

interface InterfaceRecord {
  name: string;
  publicKey: string;
  listenPort: number;
  addresses: string[];
  mtu: number | null;
  up: boolean;
  peers: Map<string, PeerRecord>;
  /** Allowed IP → the peer holding it, so an upsert need not scan every peer. */
  owners: Map<string, string>;
}

export class FakeWireGuardDriver implements WireGuardPort {
  readonly driverName = DRIVER_NAME;
  readonly #implementation: string;
  readonly #interfaces = new Map<string, InterfaceRecord>();
  readonly #recreatedListeners: ((name: string) => void)[] = [];

  constructor(options: FakeWireGuardOptions = {}) {
    this.#implementation = options.implementation ?? "fake";
  }

  /** A snapshot of every interface, for assertions. */
  interfaces(): ReadonlyMap<string, FakeWgInterface> {
    return new Map([...this.#interfaces].map(([name, record]) => [name, snapshot(record)]));
  }

  /** Adds to a peer's counters and sets its handshake/endpoint, as traffic through the tunnel would. */
  simulateTraffic(iface: string, publicKey: string, traffic: SimulatedTraffic): void {
    const peer = this.#interfaces.get(iface)?.peers.get(publicKey);
    if (!peer) fail(`no peer ${publicKey} on ${iface}`);
    peer.rxBytes += traffic.rxBytes ?? 0;
    peer.txBytes += traffic.txBytes ?? 0;
    if (traffic.latestHandshake !== undefined) peer.latestHandshake = traffic.latestHandshake;
    if (traffic.endpoint !== undefined) peer.endpoint = traffic.endpoint;
  }

  async info(): Promise<Record<string, string>> {
    return { "wireguard-tools": "fake", implementation: this.#implementation };
  }

  async listInterfaces(): Promise<string[]> {
    return [...this.#interfaces.keys()].sort();
  }

  async applyInterface(spec: WgInterfaceSpec, peers: readonly WgPeerSpec[]): Promise<void> {
    if (!INTERFACE_NAME.test(spec.name)) fail(`invalid interface name: ${JSON.stringify(spec.name)}`);
    if (!KEY.test(spec.privateKey)) fail(`private key of ${spec.name} is not a valid WireGuard key`);
    if (!Number.isInteger(spec.listenPort) || spec.listenPort < 0 || spec.listenPort > 65535)
      fail(`invalid listen port ${spec.listenPort}`);
    const checked = peers.map(checkPeer);
    const existing = this.#interfaces.get(spec.name);
    const record: InterfaceRecord = existing ?? {
      name: spec.name,
      publicKey: "",
      listenPort: 0,
      addresses: [],
      mtu: null,
      up: false,
      peers: new Map(),
      owners: new Map(),
    };
    record.publicKey = publicKeyOf(spec.privateKey);
    // Port 0 means "any": the real one then binds a random port.
    record.listenPort = spec.listenPort === 0 ? 49152 + Math.floor(Math.random() * 16384) : spec.listenPort;
    record.addresses = [...spec.addresses];
    if (spec.mtu) record.mtu = spec.mtu;
    else if (!existing) record.mtu = 1420;
    record.up = true;
    const keep = new Set(checked.map((peer) => peer.publicKey));
    for (const key of record.peers.keys()) if (!keep.has(key)) removePeer(record, key);
    for (const peer of checked) upsert(record, peer);
    this.#interfaces.set(spec.name, record);
  }

  async removeInterface(name: string): Promise<void> {
    this.#interfaces.delete(name);
  }

  async updatePeers(name: string, change: WgPeerChange): Promise<void> {
    if (change.upsert.length === 0 && change.remove.length === 0) return;
    const checked = change.upsert.map(checkPeer);
    for (const key of change.remove) if (!KEY.test(key)) fail(`invalid public key: ${JSON.stringify(key)}`);
    const record = this.#interfaces.get(name);
    if (!record) fail(`Unable to modify interface ${name}: No such device`);
    for (const peer of checked) upsert(record, peer);
    for (const key of change.remove) removePeer(record, key);
  }

  async dump(name: string): Promise<WgInterfaceState | null> {
    const record = this.#interfaces.get(name);
    if (!record) return null;
    return {
      name,
      publicKey: record.publicKey,
      listenPort: record.listenPort,
      fwmark: null,
      peers: [...record.peers.values()].map(({ presharedKey, ...state }) => ({
        ...state,
        allowedIps: [...state.allowedIps],
        hasPresharedKey: presharedKey !== null,
      })),
    };
  }

  onInterfaceRecreated(listener: (name: string) => void): void {
    this.#recreatedListeners.push(listener);
  }

  async dispose(): Promise<void> {}

  /**
   * The interface's daemon dies and its supervisor starts it again with the same configuration
   * and peers (sessions and counters gone, as with a new wireguard-go), then the listeners hear
   * of it. Throws for an interface that does not exist.
   */
  simulateRestart(name: string): void {
    const record = this.#interfaces.get(name);
    if (!record) fail(`no interface ${name}`);
    for (const peer of record.peers.values()) {
      peer.endpoint = null;
      peer.latestHandshake = 0;
      peer.rxBytes = 0;
      peer.txBytes = 0;
    }
    for (const listener of this.#recreatedListeners) listener(name);
  }
}

function checkPeer(peer: WgPeerSpec): WgPeerSpec {
  if (!KEY.test(peer.publicKey)) fail(`invalid public key: ${JSON.stringify(peer.publicKey)}`);
  if (peer.presharedKey !== undefined && !KEY.test(peer.presharedKey))
    fail(`preshared key of peer ${peer.publicKey} is not a valid WireGuard key`);
  const keepalive = peer.persistentKeepalive;
  if (keepalive !== undefined && !(Number.isInteger(keepalive) && keepalive >= 0 && keepalive <= 65535))
    fail(`invalid persistent keepalive ${keepalive}`);
  return { ...peer, allowedIps: [...new Set(peer.allowedIps.map(canonicalAllowedIp))] };
}

/** Like `wg set peer …`: the whole peer config, session state kept; an allowed IP leaves its previous peer. */
function upsert(record: InterfaceRecord, peer: WgPeerSpec): void {
  for (const ip of peer.allowedIps) {
    const owner = record.owners.get(ip);
    const other = owner !== undefined && owner !== peer.publicKey ? record.peers.get(owner) : undefined;
    if (other) other.allowedIps = other.allowedIps.filter((x) => x !== ip);
  }
  const existing = record.peers.get(peer.publicKey);
  const state: PeerRecord = existing ?? {
    publicKey: peer.publicKey,
    presharedKey: null,
    allowedIps: [],
    persistentKeepalive: null,
    endpoint: null,
    latestHandshake: 0,
    rxBytes: 0,
    txBytes: 0,
  };
  state.presharedKey = peer.presharedKey ?? null;
  for (const ip of state.allowedIps) if (record.owners.get(ip) === peer.publicKey) record.owners.delete(ip);
  state.allowedIps = [...peer.allowedIps];
  for (const ip of state.allowedIps) record.owners.set(ip, peer.publicKey);
  state.persistentKeepalive = peer.persistentKeepalive ? peer.persistentKeepalive : null;
  record.peers.set(peer.publicKey, state);
}

function removePeer(record: InterfaceRecord, publicKey: string): void {
  const peer = record.peers.get(publicKey);
  if (!peer) return;
  for (const ip of peer.allowedIps) if (record.owners.get(ip) === publicKey) record.owners.delete(ip);
  record.peers.delete(publicKey);
}

function snapshot(record: InterfaceRecord): FakeWgInterface {
  const peers = new Map<string, FakeWgPeer>();
  for (const [key, { presharedKey, ...state }] of record.peers) {
    peers.set(key, { ...state, allowedIps: [...state.allowedIps], presharedKey, hasPresharedKey: presharedKey !== null });
  }
  return {
    name: record.name,
    publicKey: record.publicKey,
    listenPort: record.listenPort,
    addresses: [...record.addresses],
    mtu: record.mtu,
    up: record.up,
    peers,
  };
}

export default function createFakeWireGuardDriver(options?: FakeWireGuardOptions): FakeWireGuardDriver {
  return new FakeWireGuardDriver(options);
}
