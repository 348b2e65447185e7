import "reflect-metadata";
import { Container, ContainerModule } from "inversify";
import type { Storage } from "unstorage";
import { coreModule, systemClock } from "./di/core-module.js";
import { type Clock, TYPES } from "./di/ids.js";
import { AccessHashService } from "./domain/access-hash-service.js";
import { AccountService } from "./domain/account-service.js";
import { AccountViews } from "./domain/account-views.js";
import { Ikev2Service } from "./domain/ikev2-service.js";
import { Ikev2Settings } from "./domain/ikev2-settings.js";
import { Inventory } from "./domain/inventory.js";
import { OtlService } from "./domain/otl-service.js";
import { PortFailure, Reconciler } from "./domain/reconciler.js";
import { ServerService } from "./domain/server-service.js";
import { StatisticsService } from "./domain/statistics-service.js";
import { SystemService } from "./domain/system-service.js";
import { VpncpError } from "./errors.js";
import { EVENT_BUS, type EventBus } from "./events/event-bus.js";
import { silentLogger, type VpncpOptions } from "./model/options.js";
import type { FirewallPort, Ikev2Port, ShaperPort, WireGuardPort } from "./ports/index.js";
import { createVpncpStorage, type StorageConfig } from "./storage/create-storage.js";

/** The four ports as plain objects, for callers that skip DI. */
export interface DriverSet {
  readonly wireguard: WireGuardPort;
  readonly firewall: FirewallPort;
  readonly shaper: ShaperPort;
  readonly ikev2: Ikev2Port;
}

export interface CreateVpncpOptions extends VpncpOptions {
  /** The drivers: a container module binding the ports (`fakeDriversModule()` from @vpncp/drivers) or the ports themselves. */
  readonly drivers: ContainerModule | DriverSet;
  /** An unstorage instance, or how to make one (default: crash-safe files in `.vpncp/`). */
  readonly storage?: Storage | StorageConfig | undefined;
  readonly clock?: Clock | undefined;
  /**
   * Apply the stored state to the system at start (default true). When a tool or daemon fails
   * there, vpncp still starts, degraded: `system.status()` says `Error (…)`, the reconciler
   * retries with a growing delay, and a reload repairs. Storage that cannot be read still throws.
   */
  readonly reload?: boolean | undefined;
  /** Sample traffic on the configured frequency (default false; the CLI turns it on). */
  readonly collectStatistics?: boolean | undefined;
}

export interface Vpncp {
  readonly container: Container;
  readonly accounts: AccountService;
  readonly servers: ServerService;
  readonly system: SystemService;
  readonly ikev2: Ikev2Service;
  readonly otl: OtlService;
  readonly accessHashes: AccessHashService;
  readonly statistics: StatisticsService;
  readonly views: AccountViews;
  readonly storage: Storage;
  /** Domain events (account.created, reconcile.failed, …), published once a change is stored and its apply settled (applied, or kept for the retry). */
  readonly events: EventBus;
  /** Re-applies everything from storage to the system. */
  reload(): Promise<void>;
  /** Stops timers, waits for changes under way, releases the drivers and the storage. */
  close(): Promise<void>;
}

function isStorage(value: unknown): value is Storage {
  return (
    typeof value === "object" &&
    value !== null &&
    typeof (value as Storage).getItem === "function" &&
    typeof (value as Storage).mount === "function"
  );
}

function driverSetModule(drivers: DriverSet): ContainerModule {
  return new ContainerModule(({ bind }) => {
    bind(TYPES.WireGuard).toConstantValue(drivers.wireguard);
    bind(TYPES.Firewall).toConstantValue(drivers.firewall);
    bind(TYPES.Shaper).toConstantValue(drivers.shaper);
    bind(TYPES.Ikev2).toConstantValue(drivers.ikev2);
  });
}

/** Builds the container, loads the stored state and (by default) applies it to the system. */
export async function createVpncpContainer(options: CreateVpncpOptions): Promise<Container> {
  const storage = isStorage(options.storage) ? options.storage : await createVpncpStorage(options.storage ?? {});
  const container = new Container();
  container.bind(TYPES.Storage).toConstantValue(storage);
  await container.load(
    coreModule(options, options.clock ?? systemClock),
    options.drivers instanceof ContainerModule ? options.drivers : driverSetModule(options.drivers),
  );
  return container;
}

export async function createVpncp(options: CreateVpncpOptions): Promise<Vpncp> {
  const container = await createVpncpContainer(options);
  const get = <T>(id: Parameters<Container["get"]>[0]) => container.get(id) as T;
  const inventory = get<Inventory>(Inventory);
  await Promise.all([inventory.load(), get<Ikev2Settings>(Ikev2Settings).load(), get<SystemService>(SystemService).load()]);
  const reconciler = get<Reconciler>(Reconciler);
  // created before the first reload, so it books what the kernel counted before this start
  const statistics = get<StatisticsService>(StatisticsService);
  const storage = container.get(TYPES.Storage);
  const ports = () => [
    container.get(TYPES.WireGuard),
    container.get(TYPES.Firewall),
    container.get(TYPES.Shaper),
    container.get(TYPES.Ikev2),
  ];
  if (options.reload !== false) {
    try {
      await reconciler.reload();
    } catch (error) {
      if (!(error instanceof VpncpError && error.cause instanceof PortFailure)) {
        // not the system's fault (storage, a bug): nothing to retry; stop what started
        await reconciler.close();
        await Promise.allSettled(ports().map((port) => port.dispose()));
        if (!isStorage(options.storage)) await storage.dispose();
        // the reconciler's "saved but not applied yet" would mislead here: what failed, as it failed
        throw error instanceof VpncpError && error.cause !== undefined ? error.cause : error;
      }
      // a production panel comes up degraded rather than not at all: the API answers, the status
      // says why, and the reconciler's retry (or a reload) applies the stored state once it can
      (options.logger ?? silentLogger).error("the stored state could not be applied at start; serving degraded", {
        error: reconciler.status,
      });
    }
  }
  if (options.collectStatistics) statistics.start();
  return {
    container,
    accounts: get(AccountService),
    servers: get(ServerService),
    system: get(SystemService),
    ikev2: get(Ikev2Service),
    otl: get(OtlService),
    accessHashes: get(AccessHashService),
    statistics,
    views: get(AccountViews),
    storage,
    events: get(EVENT_BUS),
    reload: () => reconciler.reload(),
    async close() {
      statistics.stop();
      await reconciler.close();
      // subscribers of the last changes finish (bounded) before the drivers and storage go
      await container.get(EVENT_BUS).close();
      await Promise.allSettled(ports().map((port) => port.dispose()));
      await storage.dispose();
    },
  };
}
