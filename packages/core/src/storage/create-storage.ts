import { createStorage, type Driver, type Storage } from "unstorage";
import memoryDriver from "unstorage/drivers/memory";
import { fsAtomicDriver } from "./fs-atomic.js";

export interface StorageConfig {
  /**
   * "fs" (the default: crash-safe files in `base`), "memory" (tests), or the name of
   * any unstorage driver, e.g. "redis" with { url } for several instances.
   */
  readonly driver?: string;
  readonly options?: Record<string, unknown>;
}

const DRIVER_NAME_RE = /^[a-z0-9-]+$/;

/** Parses the CLI's `--storage` value: "redis:url=redis://host:6379,base=vpncp" or "memory". */
export function parseStorageSpec(spec: string): StorageConfig {
  const colon = spec.indexOf(":");
  const driver = colon < 0 ? spec : spec.slice(0, colon);
  const options: Record<string, unknown> = {};
  if (colon >= 0) {
    const rest = spec.slice(colon + 1);
    if (/^[a-z]+:\/\//.test(rest)) {
      options.url = rest;
    } else {
      for (const pair of rest.split(",").filter(Boolean)) {
        const eq = pair.indexOf("=");
        if (eq < 0) throw new Error(`storage option without a value: ${pair}`);
        const value = pair.slice(eq + 1);
        options[pair.slice(0, eq)] = /^\d+$/.test(value) ? Number(value) : value;
      }
    }
  }
  return { driver, options };
}

export async function createVpncpStorage(config: StorageConfig = {}): Promise<Storage> {
  const name = config.driver ?? "fs";
  let driver: Driver;
  if (name === "fs" || name === "fs-atomic") {
    const base = (config.options?.base as string | undefined) ?? ".vpncp";
    driver = fsAtomicDriver({ base });
  } else if (name === "memory") {
    driver = memoryDriver();
  } else {
    if (!DRIVER_NAME_RE.test(name)) throw new Error(`unknown storage driver: ${name}`);
    const module = (await import(`unstorage/drivers/${name}`)) as { default: (options: unknown) => Driver };
    driver = module.default(config.options ?? {});
  }
  return createStorage({ driver });
}
