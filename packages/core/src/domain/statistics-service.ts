import { EventEmitter } from "node:events";
import { inject, injectable, optional } from "inversify";
import type { Storage } from "unstorage";
import { type Clock, TYPES } from "../di/ids.js";
import { VpncpError } from "../errors.js";
import { EVENT_BUS, type EventBus } from "../events/event-bus.js";
import { type Logger, silentLogger, type VpncpOptions } from "../model/options.js";
import type { FirewallPort } from "../ports/index.js";
import { AccountService } from "./account-service.js";
import { Inventory } from "./inventory.js";
import { Reconciler } from "./reconciler.js";
import { SystemService } from "./system-service.js";
import type { InputValue } from "./validation.js";

export interface DailyTraffic {
  readonly account: string;
  /** "2022-11-10" in the server's timezone. */
  readonly date: string;
  /** Bytes to the client. */
  readonly traffic_download: number;
  /** Bytes from the client. */
  readonly traffic_upload: number;
}

export interface TrafficSample {
  /** When the counters were read. */
  readonly at: Date;
  /** Day the deltas were added to. */
  readonly date: string;
  /** Time the sample took. */
  readonly durationMs: number;
  /** Accounts whose counters were read. */
  readonly accounts: number;
  /** Bytes added per account in this sample (only accounts with traffic). */
  readonly deltas: ReadonlyMap<string, { readonly download: number; readonly upload: number }>;
  /** Current raw counter per account (what /metrics exports). */
  readonly counters: ReadonlyMap<string, { readonly download: number; readonly upload: number }>;
}

type MonthRecord = Record<string, [number, number]>;
/** One day of every account: account name → [download, upload]. */
type DayRecord = Record<string, [number, number]>;

const LAST_KEY = "stats:last";
const MONTH_PREFIX = "stats:months";
const DAY_PREFIX = "stats:days";
const MONTH_RE = /^\d{4}-\d{2}$/;
const DATE_RE = /^\d{4}-\d{2}-\d{2}$/;
/** Accounts of a past day moved into their month records per sample at least (~50 ms of CPU): a sample's cost stays bounded. */
const FOLD_PER_SAMPLE = 100;
/** …and enough that a day of every account is moved within this many minutes, whatever the sampling frequency. */
const FOLD_WITHIN_MINUTES = 12 * 60;

/**
 * Daily traffic per account. Every `traffic_statistics_frequency` minutes the
 * firewall's per-account mark counters (they count the account's inner packets
 * of both VPN protocols, in both directions) are read; the growth since the
 * previous reading is added to the account's day in the installation's
 * timezone. A counter that went down (rules reloaded, interface recreated,
 * daemon restarted) counts from zero again. The last readings are stored with
 * every sample, so a restart loses nothing that was sampled.
 *
 * A sample writes two records whatever the number of accounts: the last readings
 * and the day of every account (`stats:days:<date>`). Past days are then moved into
 * each account's month record (`stats:months:<month>:<account>`, what a month query
 * reads) a few hundred accounts per sample; until then queries read them from the
 * day record. Moving sets a day's value (it never adds), so a move interrupted by a
 * restart is simply done again.
 */
@injectable()
export class StatisticsService extends EventEmitter<{ sample: [TrafficSample] }> {
  readonly #storage: Storage;
  readonly #inventory: Inventory;
  readonly #firewall: FirewallPort;
  readonly #system: SystemService;
  readonly #clock: Clock;
  readonly #timezone: string;
  readonly #logger: Logger;
  #last: Record<string, [number, number]> | null = null;
  #timer: NodeJS.Timeout | null = null;
  #sampling: Promise<TrafficSample> | null = null;
  /** Samples and forgets take turns: a sample under way when an account is deleted books it before it is forgotten. */
  #turns: Promise<unknown> = Promise.resolve();
  #unsubscribe: (() => void) | null = null;
  #lastSample: TrafficSample | null = null;
  /** Day records not yet moved into month records (today's and any past one), by date; null until read. */
  #days: Map<string, DayRecord> | null = null;
  readonly #events: EventBus | undefined;

  constructor(
    @inject(TYPES.Storage) storage: Storage,
    @inject(Inventory) inventory: Inventory,
    @inject(TYPES.Firewall) firewall: FirewallPort,
    @inject(SystemService) system: SystemService,
    @inject(TYPES.Options) options: VpncpOptions,
    @inject(TYPES.Clock) clock: Clock,
    @inject(Reconciler) reconciler: Reconciler,
    @inject(EVENT_BUS) @optional() events?: EventBus,
    @inject(AccountService) @optional() accounts?: AccountService,
  ) {
    super();
    this.#events = events;
    // a later account of the same name starts from zero
    accounts?.onRemove((account) => this.forget(account.name));
    // a ruleset reload starts the counters from zero: book what they hold first
    reconciler.onBeforeFirewallReplace(() => this.sample());
    this.#storage = storage;
    this.#inventory = inventory;
    this.#firewall = firewall;
    this.#system = system;
    this.#clock = clock;
    this.#timezone = options.timezone ?? Intl.DateTimeFormat().resolvedOptions().timeZone;
    this.#logger = options.logger ?? silentLogger;
  }

  get timezone(): string {
    return this.#timezone;
  }

  get lastSample(): TrafficSample | null {
    return this.#lastSample;
  }

  /** Samples on the configured frequency until stop(); follows config changes. */
  start(): void {
    this.stop();
    const schedule = () => {
      if (this.#timer) clearInterval(this.#timer);
      this.#timer = setInterval(() => {
        this.sample().catch((error) => this.#logger.error("traffic sample failed", { error: String(error) }));
      }, this.#system.config.trafficStatisticsFrequency * 60_000);
      this.#timer.unref();
    };
    schedule();
    this.#unsubscribe = this.#system.onConfigChange(schedule);
  }

  stop(): void {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = null;
    this.#unsubscribe?.();
    this.#unsubscribe = null;
  }

  /** Reads the counters once and books the deltas; concurrent calls share one sample. */
  sample(): Promise<TrafficSample> {
    this.#sampling ??= this.#inTurn(() => this.#sample()).finally(() => {
      this.#sampling = null;
    });
    return this.#sampling;
  }

  #inTurn<T>(task: () => Promise<T>): Promise<T> {
    const result = this.#turns.then(task);
    this.#turns = result.catch(() => {});
    return result;
  }

  async #sample(): Promise<TrafficSample> {
    const started = performance.now();
    const at = this.#clock.now();
    const date = dayOf(at, this.#timezone);
    const rules = await this.#firewall.markRules();

    const byMark = new Map<number, { download: number; upload: number }>();
    for (const rule of rules) {
      const entry = byMark.get(rule.mark) ?? { download: 0, upload: 0 };
      if (rule.direction === "down") entry.download += rule.bytes;
      else entry.upload += rule.bytes;
      byMark.set(rule.mark, entry);
    }

    const last = await this.#lastCounters();
    const next: Record<string, [number, number]> = {};
    const counters = new Map<string, { download: number; upload: number }>();
    const deltas = new Map<string, { download: number; upload: number }>();
    let accounts = 0;
    for (const account of this.#inventory.accounts()) {
      const current = byMark.get(account.mangle);
      if (!current) continue;
      accounts += 1;
      // keyed by name and mark: a deleted account's mark reused by a new one starts afresh
      const key = `${account.name}:${account.mangle}`;
      const previous = last[key];
      const download = grow(previous?.[0], current.download);
      const upload = grow(previous?.[1], current.upload);
      next[key] = [current.download, current.upload];
      counters.set(account.name, current);
      if (download > 0 || upload > 0) deltas.set(account.name, { download, upload });
    }

    await this.#book(date, deltas);
    await this.#storage.setItem(LAST_KEY, next as never);
    this.#last = next;
    await this.prune(at);

    const sample: TrafficSample = { at, date, durationMs: performance.now() - started, accounts, deltas, counters };
    this.#lastSample = sample;
    this.emit("sample", sample);
    this.#events?.publish("statistics.sampled", { date, accounts, deltas: Object.fromEntries(deltas) });
    return sample;
  }

  async #lastCounters(): Promise<Record<string, [number, number]>> {
    if (!this.#last) {
      const stored = await this.#storage.getItem<Record<string, [number, number]>>(LAST_KEY);
      this.#last = stored && typeof stored === "object" ? stored : {};
    }
    return this.#last;
  }

  /** Adds the deltas to the accounts' day: one write for all of them. */
  async #book(date: string, deltas: ReadonlyMap<string, { download: number; upload: number }>): Promise<void> {
    const days = await this.#openDays();
    if (deltas.size > 0) {
      const day = days.get(date) ?? {};
      for (const [account, delta] of deltas) {
        const [down, up] = day[account] ?? [0, 0];
        day[account] = [down + delta.download, up + delta.upload];
      }
      days.set(date, day);
      await this.#storage.setItem(`${DAY_PREFIX}:${date}`, day as never);
    }
    await this.#fold(date);
  }

  async #openDays(): Promise<Map<string, DayRecord>> {
    if (!this.#days) {
      const keys = (await this.#storage.getKeys(DAY_PREFIX)).filter((key) => DATE_RE.test(key.split(":")[2] ?? ""));
      const items = await this.#storage.getItems(keys);
      const days = new Map<string, DayRecord>();
      for (const { key, value } of items) {
        if (value && typeof value === "object") days.set(key.split(":")[2] ?? "", value as DayRecord);
      }
      this.#days = days;
    }
    return this.#days;
  }

  /** Moves some accounts of days before `today` into their month records (see FOLD_PER_SAMPLE). */
  async #fold(today: string): Promise<void> {
    const days = await this.#openDays();
    const samples = Math.max(1, FOLD_WITHIN_MINUTES / this.#system.config.trafficStatisticsFrequency);
    let budget = Math.max(FOLD_PER_SAMPLE, Math.ceil(this.#inventory.accountCount() / samples));
    for (const date of [...days.keys()].filter((d) => d < today).sort()) {
      const day = days.get(date) ?? {};
      const accounts = Object.keys(day).slice(0, budget);
      budget -= accounts.length;
      const month = date.slice(0, 7);
      const dd = date.slice(8, 10);
      await Promise.all(
        accounts.map(async (account) => {
          const key = `${MONTH_PREFIX}:${month}:${account}`;
          const record = ((await this.#storage.getItem<MonthRecord>(key)) as MonthRecord | null) ?? {};
          record[dd] = day[account] ?? [0, 0];
          await this.#storage.setItem(key, record as never);
        }),
      );
      for (const account of accounts) delete day[account];
      if (Object.keys(day).length === 0) {
        days.delete(date);
        await this.#storage.removeItem(`${DAY_PREFIX}:${date}`);
      } else {
        await this.#storage.setItem(`${DAY_PREFIX}:${date}`, day as never);
      }
      if (budget <= 0) return;
    }
  }

  /** Removes months older than `traffic_statistics_history` months before the current one. */
  async prune(now: Date = this.#clock.now()): Promise<void> {
    const history = this.#system.config.trafficStatisticsHistory;
    const current = dayOf(now, this.#timezone).slice(0, 7);
    const oldest = addMonths(current, -history);
    const keys = await this.#storage.getKeys(MONTH_PREFIX);
    const doomed = keys.filter((key) => {
      const month = key.split(":")[2] ?? "";
      return MONTH_RE.test(month) && month < oldest;
    });
    const days = await this.#openDays();
    for (const date of [...days.keys()]) {
      if (date.slice(0, 7) >= oldest) continue;
      days.delete(date);
      doomed.push(`${DAY_PREFIX}:${date}`);
    }
    await Promise.all(doomed.map((key) => this.#storage.removeItem(key)));
  }

  /** Every day of the month in order, zeros where nothing was counted. */
  async month(account: string, year: InputValue, month: InputValue): Promise<DailyTraffic[]> {
    const m = String(month ?? "");
    const y = String(year ?? "");
    if (!/^\d{1,2}$/.test(m) || Number(m) < 1 || Number(m) > 12) throw new VpncpError("WRONG_MONTH");
    if (!/^\d{4}$/.test(y) || Number(y) < 1970) throw new VpncpError("WRONG_YEAR");
    const key = `${y}-${m.padStart(2, "0")}`;
    const record = ((await this.#storage.getItem<MonthRecord>(`${MONTH_PREFIX}:${key}:${account}`)) as MonthRecord | null) ?? {};
    // days not yet moved into the month record (today's at least) hold the newer value
    for (const [date, day] of await this.#openDays()) {
      const value = date.slice(0, 7) === key ? day[account] : undefined;
      if (value) record[date.slice(8, 10)] = value;
    }
    const days = new Date(Date.UTC(Number(y), Number(m), 0)).getUTCDate();
    const out: DailyTraffic[] = [];
    for (let d = 1; d <= days; d += 1) {
      const dd = String(d).padStart(2, "0");
      const [download, upload] = record[dd] ?? [0, 0];
      out.push({ account, date: `${key}-${dd}`, traffic_download: download, traffic_upload: upload });
    }
    return out;
  }

  /** Days from `from` to `to` inclusive ("YYYY-MM-DD"). */
  async range(account: string, from: string, to: string): Promise<DailyTraffic[]> {
    const out: DailyTraffic[] = [];
    for (let month = from.slice(0, 7); month <= to.slice(0, 7); month = addMonths(month, 1)) {
      const days = await this.month(account, month.slice(0, 4), month.slice(5, 7));
      out.push(...days.filter((d) => d.date >= from && d.date <= to));
    }
    return out;
  }

  /**
   * Forgets an account's statistics (its deletion), so that a later account of the same name starts
   * from zero. Takes its turn after a sample under way (which may still book the account); call it
   * once the account is out of the inventory, so no later sample books it again.
   */
  forget(account: string): Promise<void> {
    return this.#inTurn(async () => {
      const keys = await this.#storage.getKeys(MONTH_PREFIX);
      await Promise.all(keys.filter((k) => k.endsWith(`:${account}`)).map((k) => this.#storage.removeItem(k)));
      for (const [date, day] of await this.#openDays()) {
        if (!(account in day)) continue;
        delete day[account];
        await this.#storage.setItem(`${DAY_PREFIX}:${date}`, day as never);
      }
      // its last counter readings too (keyed "<name>:<mark>")
      const last = await this.#lastCounters();
      const stale = Object.keys(last).filter((key) => key.slice(0, key.lastIndexOf(":")) === account);
      if (stale.length > 0) {
        for (const key of stale) delete last[key];
        await this.#storage.setItem(LAST_KEY, last as never);
      }
    });
  }
}

/** Growth of a counter; a counter that went down was reset and counts from zero. */
function grow(previous: number | undefined, current: number): number {
  if (previous === undefined) return current;
  return current >= previous ? current - previous : current;
}

/** "YYYY-MM-DD" of an instant in a timezone. */
export function dayOf(at: Date, timeZone: string): string {
  const parts = new Intl.DateTimeFormat("en-CA", { timeZone, year: "numeric", month: "2-digit", day: "2-digit" }).formatToParts(at);
  const get = (type: string) => parts.find((p) => p.type === type)?.value ?? "";
  return `${get("year")}-${get("month")}-${get("day")}`;
}

function addMonths(month: string, count: number): string {
  const index = Number(month.slice(0, 4)) * 12 + Number(month.slice(5, 7)) - 1 + count;
  return `${String(Math.floor(index / 12)).padStart(4, "0")}-${String((index % 12) + 1).padStart(2, "0")}`;
}
