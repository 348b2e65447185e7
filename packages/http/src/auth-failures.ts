import { formatAddress, type Logger, normalizeClientIp, parseAddress } from "@vpncp/core";
import type { H3Event } from "h3";

/**
 * Whether a request may in, its access hash checked through the app's AuthFailureLimiter: the one
 * check every guarded route goes through (the API, /metrics, plugins' routes).
 */
export type AccessCheck = (event: H3Event) => Promise<boolean>;

export interface AuthFailureOptions {
  /** Failures answered at once before the delay starts growing (default 3). */
  readonly freeFailures?: number;
  /** The first delay; it doubles with every further failure (default 250 ms). */
  readonly baseDelayMs?: number;
  /** The longest delay (default 10 s). */
  readonly maxDelayMs?: number;
  /** An address with no failure for this long starts from zero again (default 15 min). */
  readonly forgetAfterMs?: number;
  /** One log line per address per window (default 1 min). */
  readonly logWindowMs?: number;
  /** Addresses tracked at most; the least recently failing are forgotten first (default 10,000). */
  readonly maxAddresses?: number;
  /** A request that would wait longer than this for its turn is refused unchecked (default 60 s). */
  readonly maxQueueMs?: number;
  /** How the delay is waited for (tests record it instead). */
  readonly sleep?: (ms: number) => Promise<void>;
  readonly now?: () => number;
}

interface Entry {
  failures: number;
  lastFailureAt: number;
  /** Requests of this source waiting for their turn now: each waits one delay more than the one before. */
  waiting: number;
  /** Start of the current log window, and failures in it since its line was written. */
  windowStart: number;
  unlogged: number;
}

/**
 * Slows down guessing of access hashes. Once a source (an address, an IPv6 /64) has failed more
 * than `freeFailures` times, its requests wait for their turn before the hash is even checked:
 * the delay doubles with each failure, and requests waiting at once queue one delay apart — so
 * parallel requests guess no faster than sequential ones, and one whose turn is too far off is
 * refused unchecked. Failures are
 * logged once per source per window (the source and the count; never what was presented).
 * Memory is bounded: at most `maxAddresses` entries, each forgotten after `forgetAfterMs` without
 * failures.
 */
export class AuthFailureLimiter {
  readonly #entries = new Map<string, Entry>();
  readonly #logger: Logger;
  readonly #freeFailures: number;
  readonly #baseDelayMs: number;
  readonly #maxDelayMs: number;
  readonly #forgetAfterMs: number;
  readonly #logWindowMs: number;
  readonly #maxAddresses: number;
  readonly #maxQueueMs: number;
  readonly #sleep: (ms: number) => Promise<void>;
  readonly #now: () => number;

  constructor(logger: Logger, options: AuthFailureOptions = {}) {
    this.#logger = logger;
    this.#freeFailures = options.freeFailures ?? 3;
    this.#baseDelayMs = options.baseDelayMs ?? 250;
    this.#maxDelayMs = options.maxDelayMs ?? 10_000;
    this.#forgetAfterMs = options.forgetAfterMs ?? 15 * 60_000;
    this.#logWindowMs = options.logWindowMs ?? 60_000;
    this.#maxAddresses = options.maxAddresses ?? 10_000;
    this.#maxQueueMs = options.maxQueueMs ?? 60_000;
    this.#sleep = options.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms)));
    this.#now = options.now ?? Date.now;
  }

  /** Addresses currently tracked. */
  get size(): number {
    return this.#entries.size;
  }

  /**
   * Waits for this source's turn to have a hash checked; false when that turn is more than
   * `maxQueueMs` away (answer at once, without checking: the guess costs the guesser nothing
   * and tells nothing).
   */
  async admit(client: string): Promise<boolean> {
    const now = this.#now();
    const entry = this.#live(sourceOf(client), now);
    if (!entry) return true;
    const wait = this.delayFor(entry.failures + 1) * (entry.waiting + 1);
    if (wait === 0) return true;
    if (wait > this.#maxQueueMs) return false;
    entry.waiting += 1;
    try {
      await this.#sleep(wait);
    } finally {
      entry.waiting -= 1;
    }
    return true;
  }

  /**
   * Checks a secret `client` presented, in its turn: a hash or token is a guess until checked, so
   * a source that guessed wrong waits first; a wrong one counts and is logged, a right one clears
   * the source. Nothing presented guesses nothing: refused if `verify` says so, never counted.
   */
  async check(client: string, path: string, presented: boolean, verify: () => boolean | Promise<boolean>): Promise<boolean> {
    if (presented && !(await this.admit(client))) return false;
    if (await verify()) {
      this.succeeded(client);
      return true;
    }
    if (presented) this.failed(client, path);
    return false;
  }

  /** Records a rejected hash from `client` (logged once per source per window). */
  failed(client: string, path: string): void {
    const address = sourceOf(client);
    const now = this.#now();
    const entry = this.#live(address, now) ?? { failures: 0, lastFailureAt: now, waiting: 0, windowStart: now, unlogged: 0 };
    // re-inserted: the map's order is then least recently failing first, which is what goes when full
    this.#entries.delete(address);
    this.#entries.set(address, entry);
    entry.failures += 1;
    entry.lastFailureAt = now;
    entry.unlogged += 1;
    if (entry.failures === 1 || now - entry.windowStart >= this.#logWindowMs) {
      this.#logger.warn("access rejected: wrong access hash or token", {
        address,
        path,
        failures: entry.failures,
        sinceLastLine: entry.unlogged,
      });
      entry.windowStart = now;
      entry.unlogged = 0;
    }
    this.#prune(now);
  }

  /** A request from `client` was let in: its earlier failures no longer count. */
  succeeded(client: string): void {
    if (this.#entries.size > 0) this.#entries.delete(sourceOf(client));
  }

  /** How long the n-th attempt after n-1 failures waits for its turn. */
  delayFor(failures: number): number {
    const over = failures - this.#freeFailures;
    if (over <= 0) return 0;
    return Math.min(this.#maxDelayMs, this.#baseDelayMs * 2 ** Math.min(over - 1, 30));
  }

  #live(address: string, now: number): Entry | undefined {
    const entry = this.#entries.get(address);
    return entry && now - entry.lastFailureAt <= this.#forgetAfterMs ? entry : undefined;
  }

  #prune(now: number): void {
    for (const [address, entry] of this.#entries) {
      if (this.#entries.size <= this.#maxAddresses && now - entry.lastFailureAt <= this.#forgetAfterMs) break;
      this.#entries.delete(address);
    }
  }
}

const IPV6_HOST_BITS = 64n;

/**
 * Whose failures count together: an IPv4 address, or an IPv6 /64 — one subscriber usually has a
 * whole /64, and would otherwise start from zero with every address of it.
 */
function sourceOf(client: string): string {
  const parsed = parseAddress(normalizeClientIp(client));
  if (!parsed) return client;
  if (parsed.family === 4) return formatAddress(4, parsed.value);
  return `${formatAddress(6, (parsed.value >> IPV6_HOST_BITS) << IPV6_HOST_BITS)}/64`;
}
