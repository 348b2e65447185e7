/**
 * The firewall port: one ruleset owned by vpncp (an nftables table, or iptables
 * chains), replaced atomically on reload (`nft -f`, `iptables-restore`) and
 * changed per account in one step. It marks every account's packets in both
 * directions with counters, picks the download tc class (`meta priority set`
 * or `CLASSIFY`, because `tc ... fw` is not available everywhere), NATs each
 * server's subnet to its external address, and filters traffic between the
 * clients of a server. Rules of the host that vpncp does not own are never touched.
 */
export interface FirewallServerSpec {
  readonly name: string;
  /** The WireGuard interface of the server. */
  readonly interface: string;
  /** Network of the server, "10.0.105.0/24". */
  readonly subnet4: string;
  /** Network of the server, "fd00:105::/64", when IPv6 is on. */
  readonly subnet6?: string | undefined;
  /** Source address for NAT ("SNAT to:"); empty: masquerade. */
  readonly externalIp: string;
  /** May clients of this server reach each other. */
  readonly internalTraffic: boolean;
}

export interface FirewallAccountSpec {
  /** The account's mark; also the minor of its tc class (1:<mark hex>). */
  readonly mark: number;
  /** WireGuard interface of the account's server. */
  readonly interface: string;
  readonly ipv4: string;
  readonly ipv6?: string | undefined;
}

export interface FirewallState {
  /** Uplink interface for NAT; unset: any interface that is not a vpncp interface. */
  readonly wanInterface?: string | undefined;
  readonly servers: readonly FirewallServerSpec[];
  readonly accounts: readonly FirewallAccountSpec[];
  /**
   * More interfaces whose egress gets the download class, e.g. IKEv2's tunnel device; the
   * servers' interfaces always do. On all of them the class is picked by destination address.
   */
  readonly shapedInterfaces?: readonly string[] | undefined;
}

export interface FirewallAccountChange {
  readonly upsert: readonly FirewallAccountSpec[];
  readonly remove: readonly FirewallAccountSpec[];
}

/** A mark rule with its counters: "0.0.0.0/0 -> 10.0.105.18 MARK 0x6d Pkt:0 Bytes:0". */
export interface MarkRuleState {
  readonly mark: number;
  /** "down": to the account (destination = its address); "up": from it. */
  readonly direction: "down" | "up";
  readonly source: string;
  readonly destination: string;
  readonly packets: number;
  readonly bytes: number;
}

/** "10.0.124.0/24 -> 0.0.0.0/0 SNAT to:77.87.125.200 Pkt:0 Bytes:0" */
export interface NatRuleState {
  readonly source: string;
  readonly destination: string;
  /** "SNAT to:77.87.125.200" or "MASQUERADE". */
  readonly target: string;
  readonly packets: number;
  readonly bytes: number;
}

/** "10.0.124.0/24 -> 10.0.124.0/24 ACCEPT  Pkt:0 Bytes:0" */
export interface FilterRuleState {
  readonly source: string;
  readonly destination: string;
  readonly action: "ACCEPT" | "DROP";
  readonly packets: number;
  readonly bytes: number;
}

export interface FirewallPort {
  readonly driverName: string;
  /** Versions of the tools in use. */
  info(): Promise<Record<string, string>>;
  /** Replaces everything vpncp owns with `state`, atomically. */
  apply(state: FirewallState): Promise<void>;
  /** Adds, changes and removes accounts in one step; servers and other accounts are untouched. */
  updateAccounts(change: FirewallAccountChange): Promise<void>;
  /** Mark rules with counters, of the given accounts or of all. */
  markRules(accounts?: readonly FirewallAccountSpec[]): Promise<MarkRuleState[]>;
  natRules(server: string): Promise<NatRuleState[]>;
  filterRules(server: string): Promise<FilterRuleState[]>;
  /** Removes everything vpncp owns. */
  clear(): Promise<void>;
  dispose(): Promise<void>;
}
