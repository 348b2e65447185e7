import { resolve } from "node:path";
import { type DomainEventHandler, type DomainEventType, EVENT_BUS, type Logger, type Vpncp } from "@vpncp/core";
import type { CommandDef } from "citty";
import type { H3 } from "h3";
import { ContainerModule } from "inversify";
import type { AccessCheck } from "../auth-failures.js";
import { ConfigError, describeIssue } from "../config/error.js";
import { errorResponse } from "../envelope.js";
import {
  isPluginDefinition,
  type PluginContext,
  type PluginDefinition,
  type PluginHostSettings,
  type PluginRouteHandler,
  type PluginRouteOptions,
  type PluginRouter,
} from "./define.js";

/** One plugin to set up, with its raw options and where it was named (for messages). */
export interface PluginUse {
  // biome-ignore lint/suspicious/noExplicitAny: any plugin's options schema
  readonly plugin: PluginDefinition<any>;
  readonly options?: unknown;
  /** The configuration file as shown in messages, when the plugin came from one. */
  readonly file?: string | null | undefined;
  /** Its key there: "plugins[1]" (or "drivers" for the drivers chosen by that setting). */
  readonly key?: string | undefined;
}

export interface PluginHostOptions {
  readonly mode: "serve" | "cli";
  readonly settings: PluginHostSettings;
  readonly logger: Logger;
  /** Base of relative paths in plugin options: the configuration file's directory. */
  readonly configDir: string;
  /** CLI command names plugins may not take. */
  readonly reservedCommands?: readonly string[];
}

/** The plugins, set up: what the server applies before vpncp starts, and the hooks it runs later. */
export interface PluginHost {
  readonly plugins: readonly { readonly name: string; readonly prefix: string }[];
  /** Container modules, in plugin order (load them after the drivers). */
  readonly modules: readonly ContainerModule[];
  // biome-ignore lint/suspicious/noExplicitAny: citty commands of any arguments
  readonly commands: Readonly<Record<string, CommandDef<any>>>;
  has(name: string): boolean;
  /** Mounts the plugins' routes on the HTTP app (HttpAppOptions.extend), guarded by the app's own check. */
  extend(app: H3, vpncp: Vpncp, access: AccessCheck): void;
  start(vpncp: Vpncp): Promise<void>;
  close(): Promise<void>;
}

const NAME_RE = /^[a-z0-9][a-z0-9-]{0,62}$/;
const RESERVED_PREFIXES = ["/api", "/otl"];

function where(use: PluginUse): string {
  const key = use.key ? `"${use.key}"` : `plugin "${use.plugin.name}"`;
  return use.file ? `${use.file}: ${key}` : key;
}

function childLogger(logger: Logger, plugin: string): Logger {
  return {
    info: (message, fields) => logger.info(message, { plugin, ...fields }),
    warn: (message, fields) => logger.warn(message, { plugin, ...fields }),
    error: (message, fields) => logger.error(message, { plugin, ...fields }),
  };
}

function normalizePrefix(prefix: string): string {
  const trimmed = `/${prefix.replace(/^\/+|\/+$/g, "")}`;
  return trimmed === "/" ? "" : trimmed;
}

/** Checks the plugins' options and runs their setups, in order; any failure is a ConfigError naming the entry. */
export async function setupPlugins(uses: readonly PluginUse[], host: PluginHostOptions): Promise<PluginHost> {
  const reserved = new Set(host.reservedCommands ?? []);
  const modules: ContainerModule[] = [];
  const routeSets: { prefix: string; auth: "access-hash" | "none"; register: (router: PluginRouter, vpncp: Vpncp) => void }[] = [];
  const subscriptions: { type: DomainEventType | "*"; handler: DomainEventHandler<never>; logger: Logger }[] = [];
  // biome-ignore lint/suspicious/noExplicitAny: citty commands of any arguments
  const commands: Record<string, CommandDef<any>> = {};
  const startHooks: ((vpncp: Vpncp) => void | Promise<void>)[] = [];
  const closeHooks: (() => void | Promise<void>)[] = [];
  const loaded: { name: string; prefix: string; key: string }[] = [];

  for (const use of uses) {
    const { plugin } = use;
    if (!isPluginDefinition(plugin))
      throw new ConfigError(`${where(use)} is not a plugin made with definePlugin()`, use.file ?? null, use.key);
    if (typeof plugin.name !== "string" || !NAME_RE.test(plugin.name))
      throw new ConfigError(
        `${where(use)}: a plugin name must be lowercase letters, digits and dashes, got ${JSON.stringify(plugin.name)}`,
      );
    const twin = loaded.find((p) => p.name === plugin.name);
    if (twin) throw new ConfigError(`${where(use)}: plugin "${plugin.name}" is already loaded (${twin.key})`, use.file ?? null, use.key);
    const prefix = normalizePrefix(plugin.prefix ?? `/plugins/${plugin.name}`);
    if (RESERVED_PREFIXES.some((p) => prefix === p || prefix.startsWith(`${p}/`)))
      throw new ConfigError(`${where(use)}: plugin "${plugin.name}" may not mount routes under ${prefix} (it belongs to the API)`);
    const clash = loaded.find((p) => p.prefix === prefix);
    if (clash) throw new ConfigError(`${where(use)}: plugin "${plugin.name}" mounts routes at ${prefix}, like plugin "${clash.name}"`);

    let options: unknown = use.options ?? {};
    if (plugin.options) {
      const result = plugin.options.safeParse(options);
      if (!result.success) {
        const issue = result.error.issues[0]!;
        const base = use.key ? `${use.key}.options` : "options";
        const { key, text } = describeIssue(issue, options, base);
        throw new ConfigError(`${use.file ? `${use.file}: ` : `plugin "${plugin.name}": `}${text}`, use.file ?? null, key);
      }
      options = result.data;
    }

    const logger = childLogger(host.logger, plugin.name);
    const context: PluginContext = {
      name: plugin.name,
      prefix: prefix === "" ? "/" : prefix,
      mode: host.mode,
      settings: host.settings,
      logger,
      resolvePath: (path) => resolve(host.configDir, path),
      container: (module) => {
        modules.push(module);
      },
      routes: (register, routeOptions: PluginRouteOptions = {}) => {
        routeSets.push({ prefix, auth: routeOptions.auth ?? "access-hash", register });
      },
      on: (type, handler) => {
        subscriptions.push({ type, handler: handler as DomainEventHandler<never>, logger });
      },
      command: (name, command) => {
        if (reserved.has(name) || name in commands)
          throw new Error(`the command name "${name}" is taken${reserved.has(name) ? " by vpncp itself" : ""}`);
        commands[name] = command;
      },
      onStart: (hook) => {
        startHooks.push(hook);
      },
      onClose: (hook) => {
        closeHooks.push(hook);
      },
    };
    try {
      await plugin.setup(context, options);
    } catch (error) {
      throw new ConfigError(
        `${where(use)}: plugin "${plugin.name}" failed to set up: ${error instanceof Error ? error.message : String(error)}`,
        use.file ?? null,
        use.key,
        { cause: error },
      );
    }
    loaded.push({ name: plugin.name, prefix, key: use.key ?? plugin.name });
  }

  if (subscriptions.length > 0) {
    // subscribed as the bus is made, so even the first reconcile at start reaches them
    modules.push(
      new ContainerModule(({ onActivation }) => {
        onActivation(EVENT_BUS, (_context, bus) => {
          for (const { type, handler } of subscriptions) bus.on(type as DomainEventType, handler as DomainEventHandler);
          return bus;
        });
      }),
    );
  }

  return {
    plugins: loaded.map(({ name, prefix }) => ({ name, prefix: prefix === "" ? "/" : prefix })),
    modules,
    commands,
    has: (name) => loaded.some((p) => p.name === name),
    extend(app, vpncp, access) {
      for (const set of routeSets) set.register(pluginRouter(app, set.prefix, set.auth === "none" ? null : access), vpncp);
    },
    async start(vpncp) {
      for (const hook of startHooks) await hook(vpncp);
    },
    async close() {
      for (const hook of closeHooks.reverse()) {
        await Promise.resolve()
          .then(hook)
          .catch((error: unknown) => host.logger.error("plugin close failed", { error: String(error) }));
      }
    },
  };
}

/** `access`: the app's check (rejected hashes slowed down and logged like the API's), null for auth "none". */
function pluginRouter(app: H3, prefix: string, access: AccessCheck | null): PluginRouter {
  const guard = (handler: PluginRouteHandler): PluginRouteHandler =>
    access === null
      ? handler
      : async (event) => {
          if (!(await access(event))) return errorResponse("NOT_AUTHORIZED");
          return handler(event);
        };
  const full = (route: string) => {
    const path = `${prefix}${route === "/" || route === "" ? "" : route.startsWith("/") ? route : `/${route}`}`;
    return path === "" ? "/" : path;
  };
  const on = (method: string) => (route: string, handler: PluginRouteHandler) => {
    app.on(method as never, full(route), guard(handler) as never);
  };
  return {
    prefix: prefix === "" ? "/" : prefix,
    get: on("GET"),
    post: on("POST"),
    put: on("PUT"),
    patch: on("PATCH"),
    delete: on("DELETE"),
    all: (route, handler) => {
      app.all(full(route), guard(handler) as never);
    },
  };
}

/** A module's plugin: its default export, else an export named `plugin`, else its only exported plugin. */
export function pluginOf(module: Record<string, unknown>): PluginDefinition | null {
  if (isPluginDefinition(module.default)) return module.default;
  if (isPluginDefinition(module.plugin)) return module.plugin;
  const found = Object.values(module).filter(isPluginDefinition);
  return found.length === 1 ? found[0]! : null;
}
