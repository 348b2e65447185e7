import type { ServiceIdentifier } from "inversify";
import type { Storage } from "unstorage";
import type { VpncpOptions } from "../model/options.js";
import type { CommandRunner, FirewallPort, Ikev2Port, ShaperPort, WireGuardPort } from "../ports/index.js";

/** The current time; tests move it. */
export interface Clock {
  now(): Date;
}

/** Every service identifier of vpncp, in one place. */
export const TYPES = {
  // ports (bound by a drivers module)
  WireGuard: Symbol.for("@vpncp/core/WireGuardPort") as ServiceIdentifier<WireGuardPort>,
  Firewall: Symbol.for("@vpncp/core/FirewallPort") as ServiceIdentifier<FirewallPort>,
  Shaper: Symbol.for("@vpncp/core/ShaperPort") as ServiceIdentifier<ShaperPort>,
  Ikev2: Symbol.for("@vpncp/core/Ikev2Port") as ServiceIdentifier<Ikev2Port>,
  CommandRunner: Symbol.for("@vpncp/core/CommandRunner") as ServiceIdentifier<CommandRunner>,
  // environment
  Storage: Symbol.for("@vpncp/core/Storage") as ServiceIdentifier<Storage>,
  Options: Symbol.for("@vpncp/core/Options") as ServiceIdentifier<VpncpOptions>,
  Clock: Symbol.for("@vpncp/core/Clock") as ServiceIdentifier<Clock>,
} as const;
