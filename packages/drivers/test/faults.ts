/**
 * A fault-injecting decorator for any port (the fakes, or your own driver): a tool that
 * exits non-zero or a daemon that is gone, on the operations and calls you choose, so a
 * test can prove what vpncp answers, what /system/status shows and that a reload repairs it.
 *
 * ```ts
 * const fakes = createFakeDrivers();
 * const faulty = injectFaults(fakes);
 * const vpncp = await createVpncp({ drivers: faulty.drivers, storage: { driver: "memory" } });
 * faulty.faults.firewall.fail("updateAccounts");           // every call fails until cleared
 * faulty.faults.wireguard.fail("updatePeers", { times: 1, mode: "after" }); // applied, then reported failed
 * faulty.clear();
 * ```
 */
import type { FirewallPort, Ikev2Port, ShaperPort, WireGuardPort } from "@vpncp/core";

/** The asynchronous operations of a port: what a tool or daemon does. */
export type PortOperation<P> = {
  [K in keyof P]: P[K] extends (...args: never[]) => Promise<unknown> ? K : never;
}[keyof P] &
  string;

export interface FaultOptions {
  /** How many calls fail; default: every call until `clear()`. */
  readonly times?: number;
  /** "before": the call does nothing and rejects (default); "after": it runs, then rejects (a tool that changed something and exited non-zero). */
  readonly mode?: "before" | "after";
  /** Only calls whose arguments match fail (e.g. one interface). */
  readonly when?: (...args: unknown[]) => boolean;
  /** What the call rejects with (default an InjectedFault naming the port and operation). */
  readonly error?: () => Error;
}

/** Thrown by an injected fault unless the fault gives its own error. */
export class InjectedFault extends Error {
  readonly port: string;
  readonly operation: string;
  constructor(port: string, operation: string) {
    super(`[vpncp] [faults] injected failure of ${port}.${operation}`);
    this.name = "InjectedFault";
    this.port = port;
    this.operation = operation;
  }
}

export interface FaultRecord {
  readonly operation: string;
  readonly args: readonly unknown[];
}

/** The faults of one decorated port. */
export interface PortFaults<P> {
  /** Makes calls of `operation` fail; returns a function that removes this fault. */
  fail(operation: PortOperation<P>, options?: FaultOptions): () => void;
  /** Removes every fault of this port. */
  clear(): void;
  /** Calls that failed because of a fault, oldest first. */
  readonly injected: readonly FaultRecord[];
  /** Every call of an asynchronous operation, failed or not, oldest first. */
  readonly calls: readonly FaultRecord[];
}

interface ActiveFault {
  readonly operation: string;
  remaining: number;
  readonly mode: "before" | "after";
  readonly when: ((...args: unknown[]) => boolean) | undefined;
  readonly error: (() => Error) | undefined;
}

/**
 * Wraps `port`: a proxy that behaves exactly like it (same methods, getters and state) except
 * that calls of operations with an active fault reject. Methods run with the port itself as
 * `this`, so drivers with #private state work unchanged.
 */
export function withFaults<P extends object>(port: P, name: string): { port: P; faults: PortFaults<P> } {
  const active: ActiveFault[] = [];
  const injected: FaultRecord[] = [];
  const calls: FaultRecord[] = [];

  const take = (operation: string, args: unknown[]): ActiveFault | null => {
    const index = active.findIndex((f) => f.operation === operation && (!f.when || f.when(...args)));
    const fault = index === -1 ? undefined : active[index];
    if (!fault) return null;
    fault.remaining -= 1;
    if (fault.remaining <= 0) active.splice(index, 1);
    return fault;
  };

  const proxy = new Proxy(port, {
    get(target, property) {
      const value = Reflect.get(target, property, target);
      if (typeof value !== "function" || typeof property !== "string") return value;
      return (...args: unknown[]) => {
        const fault = take(property, args);
        const result: unknown = fault?.mode === "before" ? undefined : value.apply(target, args);
        if (!(result instanceof Promise) && !fault) return result;
        calls.push({ operation: property, args });
        if (!fault) return result;
        injected.push({ operation: property, args });
        const error = fault.error?.() ?? new InjectedFault(name, property);
        // "after": what the call did stays done, as when a tool fails half-way
        return Promise.resolve(result).then(
          () => Promise.reject(error),
          () => Promise.reject(error),
        );
      };
    },
  });

  const faults: PortFaults<P> = {
    fail(operation, options = {}) {
      const fault: ActiveFault = {
        operation,
        remaining: options.times ?? Number.POSITIVE_INFINITY,
        mode: options.mode ?? "before",
        when: options.when,
        error: options.error,
      };
      active.push(fault);
      return () => {
        const index = active.indexOf(fault);
        if (index !== -1) active.splice(index, 1);
      };
    },
    clear() {
      active.length = 0;
    },
    get injected() {
      return injected;
    },
    get calls() {
      return calls;
    },
  };
  return { port: proxy, faults };
}

/** The four ports of a driver set. */
export interface FaultablePorts {
  readonly wireguard: WireGuardPort;
  readonly firewall: FirewallPort;
  readonly shaper: ShaperPort;
  readonly ikev2: Ikev2Port;
}

export interface FaultyDrivers<D extends FaultablePorts> {
  /** The decorated ports: pass them as `createVpncp({ drivers })`. */
  readonly drivers: D;
  readonly faults: {
    readonly wireguard: PortFaults<WireGuardPort>;
    readonly firewall: PortFaults<FirewallPort>;
    readonly shaper: PortFaults<ShaperPort>;
    readonly ikev2: PortFaults<Ikev2Port>;
  };
  /** Removes every fault of every port. */
  clear(): void;
}

/** Decorates each port of a driver set (e.g. `createFakeDrivers()`); the originals keep their state. */
export function injectFaults<D extends FaultablePorts>(drivers: D): FaultyDrivers<D> {
  const wireguard = withFaults(drivers.wireguard, "wireguard");
  const firewall = withFaults(drivers.firewall, "firewall");
  const shaper = withFaults(drivers.shaper, "shaper");
  const ikev2 = withFaults(drivers.ikev2, "ikev2");
  const faults = { wireguard: wireguard.faults, firewall: firewall.faults, shaper: shaper.faults, ikev2: ikev2.faults };
  return {
    drivers: { ...drivers, wireguard: wireguard.port, firewall: firewall.port, shaper: shaper.port, ikev2: ikev2.port },
    faults,
    clear() {
      for (const port of Object.values(faults)) port.clear();
    },
  };
}
