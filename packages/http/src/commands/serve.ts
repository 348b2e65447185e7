import { dirname, resolve } from "node:path";
import type { Logger } from "@vpncp/core";
import { parseTrustedProxies } from "../client-address.js";
import { ConfigError } from "../config/error.js";
import { displayPath, type LoadedConfig, loadConfig } from "../config/load.js";
import type { VpncpConfig } from "../config/schema.js";
import { jsonLogger } from "../logger.js";
import { builtinPlugins } from "../plugins/builtin/index.js";
import type { PluginHostSettings } from "../plugins/define.js";
import { type PluginHost, type PluginUse, setupPlugins } from "../plugins/host.js";
import { resolvePluginEntries } from "../plugins/load.js";
import { type RunningServer, type ServeOptions, startServer } from "../serve.js";

/** The serve settings a flag, an environment variable or the file may give (keys of the file). */
export type ServeSettingKey =
  | "config"
  | "port"
  | "host"
  | "dataDir"
  | "storage"
  | "drivers"
  | "publicUrl"
  | "accessHash"
  | "accountLimit"
  | "netns"
  | "wanInterface"
  | "firewall"
  | "stateDir"
  | "timezone"
  | "trustProxy"
  | "metricsToken";

/** The flags of `vpncp serve` as citty parses them (kebab-case names). */
export type ServeArgs = Readonly<Record<string, unknown>>;

export interface PrepareServeOptions {
  /** The environment variable of each setting (cli.ts lists them). */
  readonly envNames: Readonly<Record<ServeSettingKey, string>>;
  readonly env?: NodeJS.ProcessEnv;
  readonly cwd?: string;
  readonly logger?: Logger;
  /** CLI command names plugins may not take. */
  readonly reservedCommands?: readonly string[];
  readonly mode?: "serve" | "cli";
}

export interface PreparedServe {
  readonly config: LoadedConfig;
  readonly settings: PluginHostSettings;
  readonly plugins: PluginHost;
  readonly options: ServeOptions;
}

const kebab = (key: string) => key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);

/** Where a value came from, for messages: `--port`, `VPNCP_PORT`, or `vpncp.config.json: "port"`. */
interface Sourced {
  readonly value: string | undefined;
  readonly source: string;
}

/** Flags, environment and configuration file merged (flag > environment > file > default), checked, and plugins set up. */
export async function prepareServe(args: ServeArgs, options: PrepareServeOptions): Promise<PreparedServe> {
  const env = options.env ?? process.env;
  const cwd = options.cwd ?? process.cwd();
  const logger = options.logger ?? jsonLogger();
  const names = options.envNames;

  const configFlag = typeof args.config === "string" && args.config !== "" ? args.config : undefined;
  const loaded = await loadConfig({ configPath: configFlag ?? (env[names.config] || undefined), cwd });
  const file: VpncpConfig = loaded.config;
  const shown = loaded.path ? displayPath(loaded.path, cwd) : null;

  const pick = (key: Exclude<ServeSettingKey, "config">, fallback?: string): Sourced => {
    const flag = args[kebab(key)];
    if (typeof flag === "string" && flag !== "") return { value: flag, source: `--${kebab(key)}` };
    const fromEnv = env[names[key]];
    if (fromEnv !== undefined && fromEnv !== "") return { value: fromEnv, source: names[key] };
    const fromFile = file[key];
    if (fromFile !== undefined) return { value: String(fromFile), source: `${shown}: "${key}"` };
    return { value: fallback, source: `the default of ${key}` };
  };
  const integer = (setting: Sourced, min: number, max: number, range: string): number | undefined => {
    if (setting.value === undefined) return undefined;
    const n = /^\d+$/.test(setting.value) ? Number(setting.value) : Number.NaN;
    if (!(n >= min && n <= max)) throw new ConfigError(`${setting.source} must be a number ${range}, got ${JSON.stringify(setting.value)}`);
    return n;
  };
  const oneOf = <T extends string>(setting: Sourced, values: readonly T[]): T => {
    if (!values.includes(setting.value as T))
      throw new ConfigError(`${setting.source} must be ${values.join(" or ")}, got ${JSON.stringify(setting.value)}`);
    return setting.value as T;
  };
  // paths from flags and the environment are relative to the working directory; the file's to the file
  const path = (setting: Sourced) => (setting.value === undefined ? undefined : resolve(cwd, setting.value));

  const dataDir = path(pick("dataDir", ".vpncp"))!;
  const drivers = oneOf(pick("drivers", "fake"), ["fake", "system"] as const);
  const firewall = oneOf(pick("firewall", "nftables"), ["nftables", "iptables"] as const);
  const trust =
    args["trust-proxy"] === true || args["trust-proxy"] === "" ? { value: "true", source: "--trust-proxy" } : pick("trustProxy");
  try {
    parseTrustedProxies(trust.value);
  } catch (error) {
    throw new ConfigError(
      `${trust.source} must be true, false or addresses and CIDRs such as "127.0.0.1,10.0.0.0/8": ${(error as Error).message}`,
    );
  }
  const settings: PluginHostSettings = {
    port: integer(pick("port", "8098"), 0, 65_535, "from 0 to 65535")!,
    host: pick("host", "127.0.0.1").value!,
    dataDir,
    storage: pick("storage").value,
    drivers,
    publicUrl: pick("publicUrl").value,
    accountLimit: integer(pick("accountLimit"), 0, Number.MAX_SAFE_INTEGER, "of at least 0"),
    netns: pick("netns").value,
    wanInterface: pick("wanInterface").value,
    firewall,
    stateDir: path(pick("stateDir", `${dataDir}/run`))!,
    timezone: pick("timezone").value,
    trustProxy: trust.value ?? false,
    url: file.url,
  };

  for (const key of ["accessHash", "metricsToken"] as const) {
    const given = pick(key);
    if (given.source.startsWith("--"))
      logger.warn(
        "a secret on the command line is readable by every local user (/proc/PID/cmdline): prefer its environment variable or the configuration file",
        {
          setting: given.source,
        },
      );
  }

  // the drivers chosen by `drivers`, then metrics, then the file's plugins in order (which may rebind ports)
  const builtins = builtinPlugins();
  const configured = await resolvePluginEntries(file.plugins ?? [], { file: shown, dir: loaded.path ? dirname(loaded.path) : cwd });
  const uses: PluginUse[] = [
    { plugin: builtins.get(drivers === "fake" ? "fake-drivers" : "system-drivers")!, key: "drivers" },
    ...(configured.some((use) => use.plugin.name === "metrics") ? [] : [{ plugin: builtins.get("metrics")!, key: "metrics" }]),
    ...configured,
  ];
  const plugins = await setupPlugins(uses, {
    mode: options.mode ?? "serve",
    settings,
    logger,
    configDir: loaded.path ? dirname(loaded.path) : cwd,
    reservedCommands: options.reservedCommands,
  });

  return {
    config: loaded,
    settings,
    plugins,
    options: {
      port: settings.port,
      host: settings.host,
      dataDir,
      storage: settings.storage,
      plugins,
      publicUrl: settings.publicUrl,
      accessHash: pick("accessHash").value,
      accountLimit: settings.accountLimit,
      wanInterface: settings.wanInterface,
      timezone: settings.timezone,
      trustProxy: trust.value,
      metricsToken: pick("metricsToken").value,
      logger,
    },
  };
}

/** Prints a refusal as one line and sets a failing exit code (no stack: the message says it all). */
export function reportStartFailure(error: unknown): void {
  const message = error instanceof Error ? error.message.split("\n")[0] : String(error);
  process.stderr.write(`vpncp: ${message}\n`);
  process.exitCode = 1;
}

/** `vpncp serve`: starts, then stops gracefully on SIGTERM/SIGINT. */
export async function runServe(args: ServeArgs, envNames: Readonly<Record<ServeSettingKey, string>>): Promise<void> {
  const logger = jsonLogger();
  let server: RunningServer;
  let prepared: PreparedServe;
  try {
    prepared = await prepareServe(args, { envNames, logger });
    server = await startServer(prepared.options);
  } catch (error) {
    reportStartFailure(error);
    return;
  }
  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info("shutting down", { signal });
    await server.close();
    process.exit(0);
  };
  process.on("SIGTERM", () => void stop("SIGTERM"));
  process.on("SIGINT", () => void stop("SIGINT"));
  const { settings, config, plugins } = prepared;
  const extras = [config.path ? `config: ${config.path}` : null, `plugins: ${plugins.plugins.map((p) => p.name).join(", ")}`].filter(
    Boolean,
  );
  // announced only once a stop signal is handled: a supervisor may stop it right after this line
  process.stdout.write(
    `vpncp: listening on ${server.url} (drivers: ${settings.drivers}, data: ${settings.dataDir}, ${extras.join(", ")})\n`,
  );
}
