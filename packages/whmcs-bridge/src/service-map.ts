import type { Storage } from "unstorage";

/** Where a WHMCS service lives: node, WireGuard server, account. */
export interface ServicePlacement {
  readonly serviceid: string;
  readonly node: string;
  readonly server: string;
  readonly account: string;
  readonly userid?: string | undefined;
  /**
   * "creating" is written before the account is asked for, so a create whose answer was lost
   * (bridge crash, timeout) is retried on the same node instead of placing a second account.
   */
  readonly state: "creating" | "active";
  readonly createdAt: string;
}

const PREFIX = "whmcs:services";

/**
 * The service → node mapping on any unstorage backend: files by default, Redis when several
 * bridge instances must see the same mapping.
 */
export class ServiceMap {
  readonly #storage: Storage;

  constructor(storage: Storage) {
    this.#storage = storage;
  }

  async get(serviceid: string): Promise<ServicePlacement | null> {
    const value = await this.#storage.getItem<ServicePlacement>(`${PREFIX}:${serviceid}`);
    return value && typeof value === "object" ? (value as ServicePlacement) : null;
  }

  async set(placement: ServicePlacement): Promise<void> {
    await this.#storage.setItem(`${PREFIX}:${placement.serviceid}`, placement as never);
  }

  async remove(serviceid: string): Promise<void> {
    await this.#storage.removeItem(`${PREFIX}:${serviceid}`);
  }

  /** Every mapped service. */
  async list(): Promise<ServicePlacement[]> {
    const keys = await this.#storage.getKeys(PREFIX);
    const values = await Promise.all(keys.map((key) => this.#storage.getItem<ServicePlacement>(key)));
    return values.filter((v): v is ServicePlacement => v !== null && typeof v === "object");
  }
}
