import { readFile } from "node:fs/promises";
import os from "node:os";
import { inject, injectable } from "inversify";
import type { Storage } from "unstorage";
import { TYPES } from "../di/ids.js";
import { VpncpError } from "../errors.js";
import { DEFAULT_SYSTEM_CONFIG, type SystemConfig } from "../model/records.js";
import { AccountService } from "./account-service.js";
import { Inventory } from "./inventory.js";
import { Reconciler } from "./reconciler.js";
import { checkInteger, type InputValue, isGiven } from "./validation.js";

export const VPNCP_VERSION = "1.0";
const CONFIG_KEY = "system:config";
const MAX_INT32 = 2_147_483_647;

export interface SystemStatus {
  readonly countAccounts: number;
  readonly countAccountsAvailable: number;
  readonly countWireguard: number;
  /** Kept for compatibility with billing modules that read it. */
  readonly license: string;
  readonly licenseValid: boolean;
  readonly status: string;
  readonly version: string;
}

export interface SystemInfo {
  readonly cpuModel: string;
  readonly cpuThreads: number;
  readonly cpuUsedLoad1: string;
  readonly cpuUsedLoad5: string;
  readonly cpuUsedLoad15: string;
  readonly hostname: string;
  readonly memoryFreeMb: number;
  readonly memoryTotalMb: number;
  readonly memoryUsedMb: number;
  readonly memoryUsedPercent: number;
  readonly osArchitecture: string;
  readonly osName: string;
  readonly timezone: string;
}

export interface SystemConfigInput {
  readonly trafficStatisticsFrequency?: InputValue;
  readonly trafficStatisticsHistory?: InputValue;
  readonly wireguardHandshakeUptime?: InputValue;
}

type ConfigListener = (config: SystemConfig) => void;

/** System status, host information, the reload switch and the statistics/online settings. */
@injectable()
export class SystemService {
  readonly #inventory: Inventory;
  readonly #accounts: AccountService;
  readonly #reconciler: Reconciler;
  readonly #storage: Storage;
  readonly #startedAt = new Date();
  readonly #listeners = new Set<ConfigListener>();
  #config: SystemConfig = DEFAULT_SYSTEM_CONFIG;

  constructor(
    @inject(Inventory) inventory: Inventory,
    @inject(AccountService) accounts: AccountService,
    @inject(Reconciler) reconciler: Reconciler,
    @inject(TYPES.Storage) storage: Storage,
  ) {
    this.#inventory = inventory;
    this.#accounts = accounts;
    this.#reconciler = reconciler;
    this.#storage = storage;
  }

  async load(): Promise<void> {
    const stored = await this.#storage.getItem<SystemConfig>(CONFIG_KEY);
    this.#config = stored && typeof stored === "object" ? { ...DEFAULT_SYSTEM_CONFIG, ...stored } : DEFAULT_SYSTEM_CONFIG;
  }

  status(): SystemStatus {
    return {
      countAccounts: this.#inventory.accountCount(),
      countAccountsAvailable: this.#accounts.limit,
      countWireguard: this.#inventory.serverCount(),
      license: this.#startedAt.toISOString().replace(/\.\d{3}Z$/, "+00:00"),
      licenseValid: true,
      status: this.#reconciler.status,
      version: VPNCP_VERSION,
    };
  }

  /**
   * Re-applies everything from storage: what repairs a degraded system. Refused before the
   * stored state is loaded; one asked for while another runs follows it. When the system still
   * cannot apply it the answer is the pages' "PUQVPNCP status not OK", and /system/status says why.
   */
  async reload(): Promise<void> {
    if (!this.#inventory.loaded) throw new VpncpError("STATUS_NOT_OK");
    try {
      await this.#reconciler.reload();
    } catch (error) {
      throw new VpncpError("STATUS_NOT_OK", { cause: error });
    }
  }

  async info(): Promise<SystemInfo> {
    const cpus = os.cpus();
    const [load1 = 0, load5 = 0, load15 = 0] = os.loadavg();
    const total = os.totalmem();
    const available = await availableMemory();
    const free = available ?? os.freemem();
    const mb = (bytes: number) => Math.round(bytes / 1024 / 1024);
    return {
      cpuModel: cpus[0]?.model.trim() || "unknown",
      cpuThreads: cpus.length,
      cpuUsedLoad1: load1.toFixed(2),
      cpuUsedLoad5: load5.toFixed(2),
      cpuUsedLoad15: load15.toFixed(2),
      hostname: os.hostname(),
      memoryFreeMb: mb(free),
      memoryTotalMb: mb(total),
      memoryUsedMb: mb(total - free),
      memoryUsedPercent: Math.round(((total - free) / total) * 100),
      osArchitecture: architecture(os.arch()),
      osName: await osName(),
      timezone: Intl.DateTimeFormat().resolvedOptions().timeZone,
    };
  }

  get config(): SystemConfig {
    return this.#config;
  }

  /** Called with the new config after every change (the statistics collector reschedules). */
  onConfigChange(listener: ConfigListener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  async setConfig(input: SystemConfigInput): Promise<SystemConfig> {
    const next: SystemConfig = {
      trafficStatisticsFrequency: isGiven(input.trafficStatisticsFrequency)
        ? checkInteger(input.trafficStatisticsFrequency, 1, MAX_INT32, "WRONG_FREQUENCY")
        : this.#config.trafficStatisticsFrequency,
      trafficStatisticsHistory: isGiven(input.trafficStatisticsHistory)
        ? checkInteger(input.trafficStatisticsHistory, 0, MAX_INT32, "WRONG_HISTORY")
        : this.#config.trafficStatisticsHistory,
      wireguardHandshakeUptime: isGiven(input.wireguardHandshakeUptime)
        ? checkInteger(input.wireguardHandshakeUptime, 1, 300, "WRONG_HANDSHAKE_UPTIME")
        : this.#config.wireguardHandshakeUptime,
    };
    return this.#saveConfig(next);
  }

  resetConfig(): Promise<SystemConfig> {
    return this.#saveConfig(DEFAULT_SYSTEM_CONFIG);
  }

  async #saveConfig(config: SystemConfig): Promise<SystemConfig> {
    await this.#storage.setItem(CONFIG_KEY, config as never);
    this.#config = config;
    for (const listener of this.#listeners) listener(config);
    return config;
  }
}

/** MemAvailable from /proc/meminfo (what `free` calls available); null off Linux. */
async function availableMemory(): Promise<number | null> {
  try {
    const meminfo = await readFile("/proc/meminfo", "utf8");
    const match = /^MemAvailable:\s+(\d+) kB/m.exec(meminfo);
    return match ? Number(match[1]) * 1024 : null;
  } catch {
    return null;
  }
}

async function osName(): Promise<string> {
  try {
    const release = await readFile("/etc/os-release", "utf8");
    const match = /^PRETTY_NAME="?([^"\n]*)"?$/m.exec(release);
    if (match?.[1]) return match[1];
  } catch {
    // not Linux, or no os-release
  }
  return `${os.type()} ${os.release()}`;
}

/** Debian's names, as the panel reports them ("amd64"). */
function architecture(arch: string): string {
  return ({ x64: "amd64", arm64: "arm64", arm: "armhf", ia32: "i386" } as Record<string, string>)[arch] ?? arch;
}
