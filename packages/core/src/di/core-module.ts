import { ContainerModule } from "inversify";
import { AccessHashService } from "../domain/access-hash-service.js";
import { AccountService } from "../domain/account-service.js";
import { AccountViews } from "../domain/account-views.js";
import { Doctor } from "../domain/doctor.js";
import { Ikev2Service } from "../domain/ikev2-service.js";
import { Ikev2Settings } from "../domain/ikev2-settings.js";
import { Inventory } from "../domain/inventory.js";
import { MutationLock } from "../domain/mutation-lock.js";
import { OtlService } from "../domain/otl-service.js";
import { Reconciler } from "../domain/reconciler.js";
import { ServerService } from "../domain/server-service.js";
import { StatisticsService } from "../domain/statistics-service.js";
import { SystemService } from "../domain/system-service.js";
import { EVENT_BUS, EventBus } from "../events/event-bus.js";
import type { VpncpOptions } from "../model/options.js";
import { type Clock, TYPES } from "./ids.js";

export const systemClock: Clock = Object.freeze({ now: () => new Date() });

/** The domain services of vpncp. Needs TYPES.Storage and a drivers module for the ports. */
export function coreModule(options: VpncpOptions = {}, clock: Clock = systemClock): ContainerModule {
  return new ContainerModule(({ bind }) => {
    bind(TYPES.Options).toConstantValue(options);
    bind(TYPES.Clock).toConstantValue(clock);
    for (const service of [
      Inventory,
      MutationLock,
      Reconciler,
      Ikev2Settings,
      AccountService,
      ServerService,
      SystemService,
      Ikev2Service,
      OtlService,
      AccessHashService,
      StatisticsService,
      AccountViews,
      Doctor,
    ]) {
      bind(service as never)
        .toSelf()
        .inSingletonScope();
    }
    bind(EVENT_BUS).to(EventBus).inSingletonScope();
  });
}
