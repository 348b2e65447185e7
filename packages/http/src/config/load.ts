import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { dirname, isAbsolute, relative, resolve } from "node:path";
import { ConfigError, expectationOf, keyPath, quote, valueAt } from "./error.js";
import { importConfiguredModule } from "./import-module.js";
import { CONFIG_EXPECTATIONS, type ConfigKey, configSchema, type VpncpConfig } from "./schema.js";

export interface LoadedConfig {
  /** The file read (absolute), or null when there is none. */
  readonly path: string | null;
  readonly config: VpncpConfig;
}

export interface LoadConfigOptions {
  /** From --config or VPNCP_CONFIG; else ./vpncp.config.{json,ts,js} when present. */
  readonly configPath?: string | undefined;
  readonly cwd?: string;
}

const DEFAULT_NAMES = ["vpncp.config.json", "vpncp.config.ts", "vpncp.config.js"] as const;

/** How a file is named in messages: relative to the working directory when below it. */
export function displayPath(file: string, cwd: string = process.cwd()): string {
  const rel = relative(cwd, file);
  return rel !== "" && !rel.startsWith("..") && !isAbsolute(rel) ? rel : file;
}

async function readRaw(file: string, shown: string): Promise<unknown> {
  if (file.endsWith(".json")) {
    let text: string;
    try {
      text = await readFile(file, "utf8");
    } catch (error) {
      throw new ConfigError(`${shown}: cannot be read (${(error as NodeJS.ErrnoException).code ?? String(error)})`, file);
    }
    try {
      return JSON.parse(text);
    } catch (error) {
      throw new ConfigError(`${shown}: is not valid JSON (${(error as Error).message})`, file);
    }
  }
  let module: Record<string, unknown>;
  try {
    module = await importConfiguredModule(file, dirname(file));
  } catch (error) {
    throw new ConfigError(`${shown}: ${(error as Error).message}`, file, null, { cause: error });
  }
  if (!("default" in module)) throw new ConfigError(`${shown}: must export the configuration object as default`, file);
  return module.default;
}

/** Paths in the file are relative to the file, not to wherever vpncp was started (plugin modules too: the plugin loader resolves them from the file's directory). */
function anchorPaths(config: VpncpConfig, dir: string): VpncpConfig {
  return {
    ...config,
    ...(config.dataDir !== undefined && { dataDir: resolve(dir, config.dataDir) }),
    ...(config.stateDir !== undefined && { stateDir: resolve(dir, config.stateDir) }),
  };
}

/** Checks a parsed configuration object; `shown` names its file in messages. */
export function validateConfig(raw: unknown, shown: string, file: string | null = null): VpncpConfig {
  if (raw === null || typeof raw !== "object" || Array.isArray(raw))
    throw new ConfigError(`${shown}: must hold an object of settings, got ${quote(raw)}`, file);
  const result = configSchema.safeParse(raw);
  if (result.success) return result.data;
  const issue = result.error.issues[0]!;
  if (issue.code === "unrecognized_keys") {
    const key = keyPath([...issue.path, issue.keys[0]!]);
    const known = Object.keys(CONFIG_EXPECTATIONS).filter((k) => k !== "$schema");
    throw new ConfigError(
      issue.path.length === 0
        ? `${shown}: "${key}" is not a setting vpncp knows (known: ${known.join(", ")})`
        : `${shown}: "${key}" is not expected there`,
      file,
      key,
    );
  }
  const top = issue.path[0] as ConfigKey;
  const key = keyPath(issue.path);
  const value = valueAt(raw, issue.path);
  const expected =
    issue.path.length === 1 ? CONFIG_EXPECTATIONS[top] : top === "plugins" ? pluginEntryExpectation(issue) : expectationOf(issue);
  throw new ConfigError(`${shown}: "${key}" must be ${expected}, got ${quote(value)}`, file, key);
}

function pluginEntryExpectation(issue: { path: PropertyKey[] }): string {
  const last = issue.path[issue.path.length - 1];
  if (last === "module") return "a module name or path (a non-empty string)";
  if (last === "options") return "an object of the plugin's options";
  return 'a module name or path, or { "module": "…", "options": { … } }';
}

/** Finds, reads and validates the configuration file (see the configuration contract in the README). */
export async function loadConfig(options: LoadConfigOptions = {}): Promise<LoadedConfig> {
  const cwd = options.cwd ?? process.cwd();
  let file: string | null = null;
  if (options.configPath !== undefined && options.configPath !== "") {
    file = resolve(cwd, options.configPath);
    if (!existsSync(file)) throw new ConfigError(`${options.configPath}: no such configuration file`, file);
    if (!/\.(json|[mc]?js|[mc]?ts)$/.test(file))
      throw new ConfigError(`${options.configPath}: a configuration file must end in .json, .js or .ts`, file);
  } else {
    file = DEFAULT_NAMES.map((name) => resolve(cwd, name)).find((candidate) => existsSync(candidate)) ?? null;
  }
  if (file === null) return { path: null, config: {} };
  const shown = displayPath(file, cwd);
  const config = validateConfig(await readRaw(file, shown), shown, file);
  return { path: file, config: anchorPaths(config, dirname(file)) };
}
