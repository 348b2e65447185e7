import { createHmac, timingSafeEqual } from "node:crypto";
import { DOMAIN_EVENT_TYPES, type DomainEvent, type DomainEventType, type Logger } from "@vpncp/core";
import { z } from "zod";
import { definePlugin } from "../define.js";

/**
 * The webhook plugin: every chosen domain event is POSTed as JSON to a URL, signed, retried with
 * exponential backoff, through a bounded queue. Written to be copied: it uses only the plugin API.
 *
 * Headers of each request:
 *   x-vpncp-event: account.created          x-vpncp-delivery: <event id, the same on every attempt>
 *   x-vpncp-timestamp: <unix seconds>       x-vpncp-attempt: 1, 2, …
 *   x-vpncp-signature: sha256=<hex HMAC-SHA256 of "<timestamp>.<body>" with the secret>
 * Receivers check the signature and that the timestamp is recent (verifyWebhookSignature), and
 * answer 2xx; 408, 429 and 5xx (or no answer) are retried, other statuses are not.
 */

const DEFAULT_EVENTS: readonly DomainEventType[] = DOMAIN_EVENT_TYPES.filter(
  (t) => t !== "statistics.sampled" && t !== "reconcile.finished",
);

export const webhookOptions = z.strictObject({
  url: z.url({ protocol: /^https?$/ }),
  /** The HMAC key; share it with the receiver only. */
  secret: z.string().min(16),
  /** Which events to send (default: account.*, server.* and reconcile.failed). */
  events: z
    .array(z.enum(DOMAIN_EVENT_TYPES as [DomainEventType, ...DomainEventType[]]))
    .min(1)
    .optional(),
  /** Extra request headers (an API key of the receiver, say). */
  headers: z.record(z.string(), z.string()).optional(),
  timeoutMs: z.number().int().min(1).default(10_000),
  /** Attempts per event, the first included. */
  maxAttempts: z.number().int().min(1).max(50).default(8),
  /** Delay before the second attempt; doubled each time up to maxBackoffMs. */
  backoffMs: z.number().int().min(0).default(1_000),
  maxBackoffMs: z.number().int().min(0).default(300_000),
  /** Events waiting beyond this many are dropped oldest first (and logged). */
  queueSize: z.number().int().min(1).default(1_000),
  /** How long a stopping vpncp waits for the queue to empty. */
  drainTimeoutMs: z.number().int().min(0).default(5_000),
});

export type WebhookOptions = z.output<typeof webhookOptions>;

/** The signature header value of a body sent at `timestamp` (unix seconds). */
export function signWebhook(secret: string, timestamp: number, body: string): string {
  return `sha256=${createHmac("sha256", secret).update(`${timestamp}.${body}`).digest("hex")}`;
}

/** For receivers: true when the signature matches and the timestamp is within `toleranceSeconds` of now. */
export function verifyWebhookSignature(input: {
  readonly secret: string;
  readonly body: string;
  readonly timestamp: string | null;
  readonly signature: string | null;
  readonly toleranceSeconds?: number;
  readonly now?: Date;
}): boolean {
  const timestamp = Number(input.timestamp);
  if (!Number.isInteger(timestamp) || input.signature === null) return false;
  const now = Math.floor((input.now ?? new Date()).getTime() / 1000);
  if (Math.abs(now - timestamp) > (input.toleranceSeconds ?? 300)) return false;
  const expected = Buffer.from(signWebhook(input.secret, timestamp, input.body));
  const given = Buffer.from(input.signature);
  return expected.length === given.length && timingSafeEqual(expected, given);
}

const RETRYABLE = (status: number) => status === 408 || status === 429 || status >= 500;

/** Sends events one at a time, in order, each retried until it is delivered or given up. */
export class WebhookSender {
  readonly #options: WebhookOptions;
  readonly #logger: Logger;
  readonly #queue: DomainEvent[] = [];
  readonly #stop = new AbortController();
  #running: Promise<void> | null = null;
  #closed = false;
  /** Events dropped since the queue was last empty: one line per overflow, not one per event. */
  #dropped = 0;

  constructor(options: WebhookOptions, logger: Logger) {
    this.#options = options;
    this.#logger = logger;
  }

  get pending(): number {
    return this.#queue.length + (this.#running ? 1 : 0);
  }

  enqueue(event: DomainEvent): void {
    if (this.#closed) return;
    if (this.#queue.length >= this.#options.queueSize) {
      const dropped = this.#queue.shift()!;
      if (this.#dropped++ === 0)
        this.#logger.warn("webhook queue full: dropping the oldest events", { event: dropped.type, id: dropped.id });
    }
    this.#queue.push(event);
    this.#running ??= this.#work();
  }

  async #work(): Promise<void> {
    try {
      for (let event = this.#queue.shift(); event; event = this.#queue.shift()) await this.#deliver(event);
    } finally {
      this.#running = null;
      if (this.#dropped > 0) this.#logger.warn("webhook queue overflowed", { dropped: this.#dropped });
      this.#dropped = 0;
    }
  }

  async #deliver(event: DomainEvent): Promise<void> {
    const body = JSON.stringify(event);
    const { maxAttempts, backoffMs, maxBackoffMs } = this.#options;
    for (let attempt = 1; attempt <= maxAttempts && !this.#stop.signal.aborted; attempt += 1) {
      const outcome = await this.#post(event, body, attempt);
      if (outcome.ok) return;
      if (!outcome.retry) {
        this.#logger.error("webhook refused the event; not retried", { event: event.type, id: event.id, status: outcome.status });
        return;
      }
      if (attempt === maxAttempts) break;
      const delay = Math.min(Math.max(backoffMs * 2 ** (attempt - 1), outcome.retryAfterMs ?? 0), maxBackoffMs);
      this.#logger.warn("webhook delivery failed; retrying", {
        event: event.type,
        id: event.id,
        attempt,
        retryInMs: delay,
        reason: outcome.reason,
      });
      await this.#sleep(delay);
    }
    this.#logger.error("webhook delivery gave up", { event: event.type, id: event.id, attempts: maxAttempts });
  }

  async #post(
    event: DomainEvent,
    body: string,
    attempt: number,
  ): Promise<{ ok: true } | { ok: false; retry: boolean; status?: number; reason: string; retryAfterMs?: number }> {
    const timestamp = Math.floor(Date.now() / 1000);
    try {
      const response = await fetch(this.#options.url, {
        method: "POST",
        headers: {
          ...this.#options.headers,
          "content-type": "application/json",
          "user-agent": "vpncp-webhook",
          "x-vpncp-event": event.type,
          "x-vpncp-delivery": event.id,
          "x-vpncp-timestamp": String(timestamp),
          "x-vpncp-attempt": String(attempt),
          "x-vpncp-signature": signWebhook(this.#options.secret, timestamp, body),
        },
        body,
        redirect: "error",
        signal: AbortSignal.any([AbortSignal.timeout(this.#options.timeoutMs), this.#stop.signal]),
      });
      await response.body?.cancel().catch(() => {});
      if (response.ok) return { ok: true };
      const retryAfter = Number(response.headers.get("retry-after"));
      return {
        ok: false,
        retry: RETRYABLE(response.status),
        status: response.status,
        reason: `HTTP ${response.status}`,
        ...(Number.isFinite(retryAfter) && retryAfter > 0 && { retryAfterMs: retryAfter * 1000 }),
      };
    } catch (error) {
      const reason = error instanceof Error ? ((error.cause as Error | undefined)?.message ?? error.message) : String(error);
      return { ok: false, retry: true, reason };
    }
  }

  #sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      const signal = this.#stop.signal;
      function done() {
        clearTimeout(timer);
        signal.removeEventListener("abort", done);
        resolve();
      }
      signal.addEventListener("abort", done, { once: true });
    });
  }

  /** Refuses new events, waits up to drainTimeoutMs for the queue, then abandons what is left (logged). */
  async close(): Promise<void> {
    this.#closed = true;
    const running = this.#running;
    if (running) {
      let timer: NodeJS.Timeout | undefined;
      const late = await Promise.race([
        running.then(() => false),
        new Promise<boolean>((resolve) => {
          timer = setTimeout(() => resolve(true), this.#options.drainTimeoutMs);
        }),
      ]);
      clearTimeout(timer);
      if (late) {
        this.#logger.warn("webhook stopped with events undelivered", { events: this.pending });
        this.#queue.length = 0;
        this.#stop.abort();
        await running.catch(() => {});
      }
    }
  }
}

export const webhookPlugin = definePlugin({
  name: "webhook",
  description: "POSTs signed domain events to a URL, with retries",
  options: webhookOptions,
  setup(context, options) {
    const sender = new WebhookSender(options, context.logger);
    const wanted = new Set(options.events ?? DEFAULT_EVENTS);
    context.on("*", (event) => {
      if (wanted.has(event.type)) sender.enqueue(event);
    });
    context.onClose(() => sender.close());
  },
});
