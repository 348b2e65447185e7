/**
 * The IKEv2 port (strongSwan charon over vici/swanctl): one connection per
 * WireGuard server with IKEv2 on, EAP-MSCHAPv2 with the accounts' usernames
 * and passwords, the server certificate from core, and each account's own
 * address from the server's subnet. Secrets are loaded without restarting charon.
 */
export interface Ikev2ConnectionSpec {
  /** The WireGuard server's name. */
  readonly name: string;
  /** Local addresses to accept IKE on; empty: any. */
  readonly localAddrs: readonly string[];
  /** The server identity (certificate SAN), e.g. "vpn.example.com". */
  readonly serverId: string;
  readonly serverCertificatePem: string;
  readonly serverPrivateKeyPem: string;
  readonly caCertificatePem: string;
  /** The server's networks; accounts' addresses come from here. */
  readonly subnet4: string;
  readonly subnet6?: string | undefined;
  /** Traffic selectors offered to clients, e.g. ["0.0.0.0/0"]. */
  readonly localTs: readonly string[];
  readonly dns: readonly string[];
}

export interface Ikev2UserSpec {
  /** Connection (server) name. */
  readonly connection: string;
  readonly username: string;
  readonly password: string;
  readonly ipv4: string;
  readonly ipv6?: string | undefined;
}

export interface Ikev2State {
  readonly connections: readonly Ikev2ConnectionSpec[];
  readonly users: readonly Ikev2UserSpec[];
}

export interface Ikev2UserChange {
  readonly upsert: readonly Ikev2UserSpec[];
  readonly remove: readonly Ikev2UserSpec[];
}

/** One IKE SA as `swanctl --list-sas` reports it. */
export interface Ikev2SaState {
  readonly uniqueId: string;
  readonly connection: string;
  /** EAP identity (the account's username). */
  readonly username: string;
  readonly remoteHost: string;
  readonly remotePort: number;
  readonly virtualIps: readonly string[];
  readonly establishedSeconds: number;
  /** Summed over the CHILD SAs: in = from the client (upload), out = to the client (download). */
  readonly bytesIn: number;
  readonly bytesOut: number;
}

/** An account as the daemon holds it: its EAP secret or its own connection, on a server's connection. */
export interface Ikev2HeldUser {
  readonly connection: string;
  readonly username: string;
}

/** What the running daemon holds of vpncp's configuration, as it reports it (names only, never secrets). */
export interface Ikev2HeldState {
  /** Servers (Ikev2ConnectionSpec names) whose connection is loaded. */
  readonly connections: readonly string[];
  /** Accounts whose EAP secret is loaded. */
  readonly secrets: readonly Ikev2HeldUser[];
  /** Accounts whose own connection (the one that gives them their address) is loaded. */
  readonly userConnections: readonly Ikev2HeldUser[];
}

export interface Ikev2Port {
  readonly driverName: string;
  /** Daemon version and state: { version, state: "running" | "stopped" | ... }. */
  info(): Promise<Record<string, string>>;
  /** Makes connections and users exactly as given. */
  apply(state: Ikev2State): Promise<void>;
  /** Adds, changes and removes users; removed users' sessions are ended. */
  updateUsers(change: Ikev2UserChange): Promise<void>;
  listSas(): Promise<Ikev2SaState[]>;
  /** What the daemon holds now, read from it (vici `get-conns`, `get-shared`); null when no daemon runs. */
  held(): Promise<Ikev2HeldState | null>;
  /** Ends every session of the username; returns how many were ended. */
  terminate(username: string): Promise<number>;
  /**
   * The network device that carries the clients' decrypted packets, where they can be shaped
   * like a WireGuard interface: with userspace ESP (strongSwan's kernel-libipsec) its TUN
   * device, e.g. "ipsec0", while the daemon runs; null before that, and with kernel ESP
   * (packets pass through XFRM on the uplink and have no device of their own: not shaped).
   */
  tunnelInterface(): string | null;
  /**
   * Calls `listener` whenever the daemon was started again (it is supervised) and made its
   * tunnel device anew, without the qdiscs the old one had.
   */
  onTunnelRecreated(listener: () => void): void;
  dispose(): Promise<void>;
}
