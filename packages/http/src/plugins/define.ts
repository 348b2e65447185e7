import type { DomainEventHandler, DomainEventType, Logger, Vpncp } from "@vpncp/core";
import type { CommandDef } from "citty";
import type { H3Event } from "h3";
import type { ContainerModule } from "inversify";
import type { z } from "zod";

/** The serve settings after flags, environment and file were merged (secrets left out). */
export interface PluginHostSettings {
  readonly port: number;
  readonly host: string;
  readonly dataDir: string;
  readonly storage?: string | undefined;
  readonly drivers: "fake" | "system";
  readonly publicUrl?: string | undefined;
  readonly accountLimit?: number | undefined;
  readonly netns?: string | undefined;
  readonly wanInterface?: string | undefined;
  readonly firewall: "nftables" | "iptables";
  readonly stateDir: string;
  readonly timezone?: string | undefined;
  /** true (loopback), false, or proxies "127.0.0.1,10.0.0.0/8" whose X-Forwarded-For is believed. */
  readonly trustProxy: boolean | string;
  readonly url?: string | undefined;
}

/** An h3 handler of a plugin route: return a value (JSON), a Response, or throw an HTTPError. */
export type PluginRouteHandler = (event: H3Event) => unknown;

/** Routes under the plugin's prefix: `get("/events", …)` of plugin "audit" answers `GET /plugins/audit/events`. */
export interface PluginRouter {
  readonly prefix: string;
  get(route: string, handler: PluginRouteHandler): void;
  post(route: string, handler: PluginRouteHandler): void;
  put(route: string, handler: PluginRouteHandler): void;
  patch(route: string, handler: PluginRouteHandler): void;
  delete(route: string, handler: PluginRouteHandler): void;
  all(route: string, handler: PluginRouteHandler): void;
}

export interface PluginRouteOptions {
  /**
   * "access-hash" (default): requests need the same `access_hash` cookie as /api/v1 (a refusal is
   * the API's `Not authorized` envelope); "none": the plugin checks requests itself.
   */
  readonly auth?: "access-hash" | "none";
}

/** What a plugin's setup may do. Everything is recorded and applied by the host before vpncp starts. */
export interface PluginContext {
  readonly name: string;
  /** Where its routes are mounted: `/plugins/<name>` unless the definition declares a prefix. */
  readonly prefix: string;
  /** "serve" in `vpncp serve`; "cli" when only its commands are wanted (routes, bindings and subscriptions are then unused). */
  readonly mode: "serve" | "cli";
  readonly settings: PluginHostSettings;
  /** Log lines carry `plugin: <name>`. */
  readonly logger: Logger;
  /** A path from the plugin's options, relative to the configuration file's directory. */
  resolvePath(path: string): string;
  /** Binds or replaces port implementations (TYPES.*) with an inversify module, loaded after the drivers. */
  container(module: ContainerModule): void;
  /** Adds h3 routes under the plugin's prefix. */
  routes(register: (router: PluginRouter, vpncp: Vpncp) => void, options?: PluginRouteOptions): void;
  /** Subscribes to domain events (from the start, including the first reconcile). */
  on<K extends DomainEventType>(type: K | "*", handler: DomainEventHandler<K>): void;
  /** Adds `vpncp <name> …` to the CLI (citty); built-in command names are refused. */
  // biome-ignore lint/suspicious/noExplicitAny: citty commands of any arguments
  command(name: string, command: CommandDef<any>): void;
  /** Runs once vpncp is up, before the server listens. */
  onStart(hook: (vpncp: Vpncp) => void | Promise<void>): void;
  /** Runs when vpncp stops (after the listener closed, before the drivers and storage), in reverse order. */
  onClose(hook: () => void | Promise<void>): void;
}

export const PLUGIN_BRAND = Symbol.for("@vpncp/http/PluginDefinition");

export interface PluginDefinition<S extends z.ZodType = z.ZodType> {
  /** Lowercase letters, digits and dashes; unique among the loaded plugins. */
  readonly name: string;
  readonly description?: string | undefined;
  /** A zod schema for the `options` of its entry in `plugins`; invalid options are refused at start. */
  readonly options?: S | undefined;
  /** Routes prefix instead of `/plugins/<name>` (not under /api or /otl). */
  readonly prefix?: string | undefined;
  setup(context: PluginContext, options: z.output<S>): void | Promise<void>;
  readonly [PLUGIN_BRAND]: true;
}

/**
 * Defines a vpncp plugin: export the result from a module (default export, or a named one) and
 * list the module in `plugins` of vpncp.config.json.
 */
export function definePlugin<S extends z.ZodType = z.ZodType<Record<string, never>>>(
  definition: Omit<PluginDefinition<S>, typeof PLUGIN_BRAND>,
): PluginDefinition<S> {
  return Object.freeze({ ...definition, [PLUGIN_BRAND]: true as const });
}

export function isPluginDefinition(value: unknown): value is PluginDefinition {
  return typeof value === "object" && value !== null && (value as Record<PropertyKey, unknown>)[PLUGIN_BRAND] === true;
}
