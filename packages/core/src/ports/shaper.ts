/**
 * The traffic shaper port (tc/HTB). Each WireGuard interface (and the IKEv2
 * tunnel device, where strongSwan has one) gets an HTB root
 * (download: egress of the interface) and an IFB twin fed from its ingress
 * (upload), so no qdisc holds more than one server's accounts. Each account has
 * class 1:<mark in hex> on both at its rate; downloads are classified by the
 * firewall (skb priority), uploads by hashed u32 on the source address.
 * Applied in one `tc -batch` on reload and per change otherwise.
 */
export interface ShaperAccountSpec {
  readonly mark: number;
  readonly ipv4: string;
  readonly ipv6?: string | undefined;
  /** Mbit/s; 0 = unlimited. */
  readonly downloadMbit: number;
  /** Mbit/s; 0 = unlimited. */
  readonly uploadMbit: number;
}

export interface ShaperInterfaceSpec {
  /** The WireGuard interface. */
  readonly interface: string;
  /** Subnets the interface's accounts live in (for the upload classifier's hash tables). */
  readonly subnets: readonly string[];
  readonly accounts: readonly ShaperAccountSpec[];
}

export interface ShaperAccountChange {
  readonly upsert: readonly ShaperAccountSpec[];
  readonly remove: readonly ShaperAccountSpec[];
}

/** What `tc -s class show dev <device> classid 1:<hex>` prints, per device. */
export interface ShaperClassState {
  readonly device: string;
  readonly direction: "download" | "upload";
  readonly text: string;
}

/** One account class as the kernel holds it (class 1:<mark hex> of the interface or its IFB). */
export interface ShaperRateState {
  readonly mark: number;
  readonly direction: "download" | "upload";
  /** Mbit/s; 0 = unlimited. */
  readonly mbit: number;
}

export interface ShaperPort {
  readonly driverName: string;
  info(): Promise<Record<string, string>>;
  /** Makes the shaping of these interfaces exactly as given (one batch); others are left alone. */
  applyInterfaces(specs: readonly ShaperInterfaceSpec[]): Promise<void>;
  /** Removes the qdiscs (and the IFB) of an interface. */
  removeInterface(name: string): Promise<void>;
  /** Adds, changes and removes account classes of one interface. */
  updateAccounts(name: string, change: ShaperAccountChange): Promise<void>;
  /** The account's classes as `tc -s class show` prints them. */
  classes(name: string, mark: number): Promise<ShaperClassState[]>;
  /**
   * Every account class of the interface (download) and of its IFB (upload), read in one pass
   * per device; empty when the interface is not shaped. For checks of the whole state (doctor).
   */
  accountClasses(name: string): Promise<ShaperRateState[]>;
  /** The interface's qdiscs as `tc -s qdisc show` prints them, per device. */
  qdiscs(name: string): Promise<ShaperClassState[]>;
  dispose(): Promise<void>;
}
