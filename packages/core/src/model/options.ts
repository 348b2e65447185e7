/** Options of one vpncp installation, bound in the container as TYPES.Options. */
export interface VpncpOptions {
  /** Uplink interface for NAT; unset: anything that is not a vpncp interface. */
  readonly wanInterface?: string | undefined;
  /** Account limit; unset: what the mark space (and so HTB) can hold. */
  readonly accountLimit?: number | undefined;
  /** Base of one-time links, e.g. "https://vpn.example.com". */
  readonly publicUrl?: string | undefined;
  /** IANA timezone of statistics days; unset: the host's. */
  readonly timezone?: string | undefined;
  /** External address offered to new servers when none is given; unset: detected. */
  readonly defaultExternalIp?: string | undefined;
  /** Called with what happens (never with secrets). */
  readonly logger?: Logger | undefined;
}

export interface Logger {
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
  error(message: string, fields?: Record<string, unknown>): void;
}

export const silentLogger: Logger = Object.freeze({
  info() {},
  warn() {},
  error() {},
});
