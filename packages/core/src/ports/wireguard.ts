/**
 * The WireGuard port, shaped after what `wg` and wireguard-go do: an interface
 * is created once (kernel link or userspace daemon), its whole peer list is
 * applied with `wg syncconf` (live sessions kept), single changes are applied
 * with `wg set`, and its state is read back from `wg show <if> dump`.
 */
export interface WgInterfaceSpec {
  /** Interface name, unique on the machine (wireguard-go sockets are not per-namespace). */
  readonly name: string;
  readonly privateKey: string;
  readonly listenPort: number;
  /** Addresses with prefix, IPv4 and IPv6: ["10.0.105.1/24", "fd00:105::1/64"]. */
  readonly addresses: readonly string[];
  readonly mtu?: number | undefined;
}

export interface WgPeerSpec {
  readonly publicKey: string;
  /** ["10.0.105.18/32", "fd00:105::12/128"] */
  readonly allowedIps: readonly string[];
  readonly presharedKey?: string | undefined;
  readonly persistentKeepalive?: number | undefined;
}

/** One peer line of `wg show <if> dump`. */
export interface WgPeerState {
  readonly publicKey: string;
  /** True when a preshared key is set (the key itself is never read back). */
  readonly hasPresharedKey: boolean;
  /** "192.0.2.2:38446", or null for "(none)". */
  readonly endpoint: string | null;
  readonly allowedIps: readonly string[];
  /** Unix seconds of the latest handshake, 0 for never. */
  readonly latestHandshake: number;
  readonly rxBytes: number;
  readonly txBytes: number;
  /** Seconds, or null for "off". */
  readonly persistentKeepalive: number | null;
}

/** The interface line of `wg show <if> dump` plus its peers. */
export interface WgInterfaceState {
  readonly name: string;
  readonly publicKey: string;
  readonly listenPort: number;
  /** null for "off". */
  readonly fwmark: number | null;
  readonly peers: readonly WgPeerState[];
}

export interface WgPeerChange {
  readonly upsert: readonly WgPeerSpec[];
  /** Public keys of peers to remove. */
  readonly remove: readonly string[];
}

export interface WireGuardPort {
  readonly driverName: string;
  /** Versions of the tools in use, e.g. { "wireguard-tools": "v1.0.20210914", implementation: "wireguard-go 0.0.20220316" }. */
  info(): Promise<Record<string, string>>;
  /** Interfaces this driver manages that exist now. */
  listInterfaces(): Promise<string[]>;
  /**
   * Creates the interface when missing, sets addresses, MTU, port and key, brings it up and
   * makes its peers exactly `peers` without resetting the sessions of peers that stay.
   */
  applyInterface(spec: WgInterfaceSpec, peers: readonly WgPeerSpec[]): Promise<void>;
  /** Removes the interface; a missing one is not an error. */
  removeInterface(name: string): Promise<void>;
  /** Adds, changes and removes peers in one step; other peers are untouched. */
  updatePeers(name: string, change: WgPeerChange): Promise<void>;
  /** `wg show <if> dump`, or null when the interface does not exist. */
  dump(name: string): Promise<WgInterfaceState | null>;
  /**
   * Calls `listener` with the interface's name whenever the driver made the interface anew by
   * itself (its supervised wireguard-go died and was started again) and applied its peers again:
   * the new device has none of the qdiscs the old one had. Never for applyInterface's own creations.
   */
  onInterfaceRecreated(listener: (name: string) => void): void;
  /** Stops what the driver started (daemons); interfaces of the kernel stay. */
  dispose(): Promise<void>;
}
