import { TYPES } from "@vpncp/core";
import { ContainerModule } from "inversify";
import { FakeFirewall } from "./firewall/fake.js";
import { FakeIkev2 } from "./ikev2/fake.js";
import { FakeShaper } from "./shaper/fake.js";
import { FakeWireGuardDriver } from "./wireguard/fake.js";

export interface FakeDrivers {
  readonly wireguard: FakeWireGuardDriver;
  readonly firewall: FakeFirewall;
  readonly shaper: FakeShaper;
  readonly ikev2: FakeIkev2;
}

/** One fresh set of in-memory drivers: what the kernel would hold, kept in objects tests can read. */
export function createFakeDrivers(): FakeDrivers {
  return { wireguard: new FakeWireGuardDriver(), firewall: new FakeFirewall(), shaper: new FakeShaper(), ikev2: new FakeIkev2() };
}

/** Binds the four ports to in-memory fakes (the embedded default; nothing touches the system). */
export function fakeDriversModule(drivers: FakeDrivers = createFakeDrivers()): ContainerModule {
  return new ContainerModule(({ bind }) => {
    bind(TYPES.WireGuard).toConstantValue(drivers.wireguard);
    bind(TYPES.Firewall).toConstantValue(drivers.firewall);
    bind(TYPES.Shaper).toConstantValue(drivers.shaper);
    bind(TYPES.Ikev2).toConstantValue(drivers.ikev2);
  });
}
