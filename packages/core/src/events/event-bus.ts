import { randomUUID } from "node:crypto";
import { inject, injectable, optional, type ServiceIdentifier } from "inversify";
import { type Clock, TYPES } from "../di/ids.js";
import { type Logger, silentLogger, type VpncpOptions } from "../model/options.js";
import type { DomainEvent, DomainEventPayloads, DomainEventType } from "./domain-events.js";

/** The event bus in the container; plugins and library users subscribe through it. */
export const EVENT_BUS = Symbol.for("@vpncp/core/EventBus") as ServiceIdentifier<EventBus>;

export type DomainEventHandler<K extends DomainEventType = DomainEventType> = (event: DomainEvent<K>) => void | Promise<void>;

/**
 * Typed domain events, published by the services once a change is stored (durable); a change kept after its apply failed is published too, after reconcile.failed.
 * Subscribers run on a later turn of the event loop, never inside the change: one that throws,
 * rejects or hangs is logged and neither fails nor delays the change or the other subscribers.
 */
@injectable()
export class EventBus {
  readonly #handlers = new Map<DomainEventType | "*", Set<DomainEventHandler<never>>>();
  readonly #inFlight = new Set<Promise<void>>();
  readonly #logger: Logger;
  readonly #clock: Clock;
  #closed = false;

  constructor(@inject(TYPES.Options) @optional() options?: VpncpOptions, @inject(TYPES.Clock) @optional() clock?: Clock) {
    this.#logger = options?.logger ?? silentLogger;
    this.#clock = clock ?? { now: () => new Date() };
  }

  /** Subscribes to one type, or to every event with "*"; returns the unsubscribe function. */
  on<K extends DomainEventType>(type: K | "*", handler: DomainEventHandler<K>): () => void {
    let set = this.#handlers.get(type);
    if (!set) {
      set = new Set();
      this.#handlers.set(type, set);
    }
    set.add(handler as DomainEventHandler<never>);
    return () => {
      set.delete(handler as DomainEventHandler<never>);
    };
  }

  /** Publishes an event (services call this after the change is durable); returns it. */
  publish<K extends DomainEventType>(type: K, payload: DomainEventPayloads[K]): DomainEvent<K> {
    const event = { type, id: randomUUID(), at: this.#clock.now().toISOString(), ...payload } as unknown as DomainEvent<K>;
    if (this.#closed) return event;
    const handlers = [...(this.#handlers.get(type) ?? []), ...(this.#handlers.get("*") ?? [])];
    for (const handler of handlers) this.#dispatch(handler as DomainEventHandler<K>, event);
    return event;
  }

  #dispatch<K extends DomainEventType>(handler: DomainEventHandler<K>, event: DomainEvent<K>): void {
    const run = new Promise<void>((resolve) => setImmediate(resolve))
      .then(() => handler(event))
      .catch((error: unknown) => {
        this.#logger.error("event subscriber failed", {
          event: event.type,
          id: event.id,
          error: error instanceof Error ? error.message : String(error),
        });
      })
      .finally(() => {
        this.#inFlight.delete(run);
      });
    this.#inFlight.add(run);
  }

  /** Resolves once every subscriber call started so far has settled, or after `timeoutMs`. */
  async idle(timeoutMs = 5_000): Promise<boolean> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<false>((resolve) => {
      timer = setTimeout(() => resolve(false), timeoutMs);
      timer.unref();
    });
    const drained = (async () => {
      while (this.#inFlight.size > 0) await Promise.allSettled([...this.#inFlight]);
      return true as const;
    })();
    try {
      return await Promise.race([drained, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Stops delivering new events and waits (bounded) for the subscribers under way. */
  async close(timeoutMs = 5_000): Promise<void> {
    this.#closed = true;
    await this.idle(timeoutMs);
  }
}
