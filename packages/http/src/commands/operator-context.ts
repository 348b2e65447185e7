import { existsSync } from "node:fs";
import { mkdir } from "node:fs/promises";
import { resolve } from "node:path";
import { type AccessHashService, createVpncp, fsAtomicDriver, isVpncpError, SnapshotError, type Vpncp } from "@vpncp/core";
import { fakeDriversModule } from "@vpncp/drivers";
import { createStorage, type Driver } from "unstorage";
import { createHttpApp } from "../app.js";
import { isVpncpApiError, VpncpClient } from "../client/index.js";
import { ConfigError, loadConfig, resolveSetting, type VpncpConfig } from "../config/index.js";
import { DataDirBusyError, lockDataDir } from "../data-dir-lock.js";

/** What the operator commands exit with; scripts can rely on these. */
export const EXIT = { ok: 0, refused: 1, usage: 2, unreachable: 3 } as const;

export const EXIT_CODES_HELP =
  "Exit codes: 0 done; 1 refused (the API's sentence, or an invalid snapshot, on stderr); 2 usage error; 3 vpncp cannot be reached.";

/** Wrong or missing arguments, settings or files: exit 2. */
export class UsageError extends Error {
  override readonly name = "UsageError";
}

/** No answer at the URL, or no data directory where one was named: exit 3. */
export class UnreachableError extends Error {
  override readonly name = "UnreachableError";
}

/** Flags every operator command takes: where vpncp is, and how to print. */
export const targetArgs = {
  url: { type: "string", description: "URL of a running vpncp (env VPNCP_URL; config file: url)" },
  hash: { type: "string", description: "Access hash for --url (env VPNCP_ACCESS_HASH; config file: accessHash)" },
  "data-dir": {
    type: "string",
    description:
      "Work on this data directory directly instead of a running vpncp, when no URL is set (env VPNCP_DATA_DIR; config file: dataDir; default .vpncp)",
  },
  config: { type: "string", description: "Configuration file (env VPNCP_CONFIG; default ./vpncp.config.{json,ts,js})" },
  json: { type: "boolean", description: "Print the API's own JSON objects (for scripts) instead of tables" },
} as const;

export interface TargetFlags {
  readonly url?: string | undefined;
  readonly hash?: string | undefined;
  readonly "data-dir"?: string | undefined;
  readonly config?: string | undefined;
}

/** A vpncp to operate: a running one over HTTP, or a data directory opened in this process. */
export interface Operator {
  readonly client: VpncpClient;
  /** "http://127.0.0.1:8098" or "data directory /srv/vpncp" — for messages. */
  readonly target: string;
  close(): Promise<void>;
}

export interface OpenOptions {
  /** The command changes records: a data directory is created if missing and refused if a vpncp serves it. */
  readonly write: boolean;
  /** Time limit of each API call (default 10 s; reload waits longer). */
  readonly timeoutMs?: number;
}

export async function loadOperatorConfig(flags: TargetFlags): Promise<VpncpConfig> {
  try {
    return (await loadConfig({ configPath: resolveSetting(flags.config, "VPNCP_CONFIG", undefined) })).config;
  } catch (error) {
    if (error instanceof ConfigError) throw new UsageError(error.message);
    throw error;
  }
}

/**
 * The data directory of the operator commands: --data-dir, VPNCP_DATA_DIR, the config file's
 * dataDir, else ./.vpncp (where `vpncp serve` keeps it by default).
 */
export function dataDirOf(flags: TargetFlags, config: VpncpConfig): string {
  return resolve(resolveSetting(flags["data-dir"], "VPNCP_DATA_DIR", config.dataDir, ".vpncp"));
}

// Records of the running system's bookkeeping: a data directory opened here runs fake drivers, whose
// counter readings and applied interfaces must not replace what the next `serve` compares against.
const HOST_RECORDS = new Set(["stats:last", "system:applied-interfaces"]);

function operatorDriver(inner: Driver): Driver {
  return {
    ...inner,
    setItem: (key, value, options) => (HOST_RECORDS.has(key) ? undefined : inner.setItem?.(key, value, options)),
    removeItem: (key, options) => (HOST_RECORDS.has(key) ? undefined : inner.removeItem?.(key, options)),
  };
}

/**
 * Opens the vpncp the flags, environment and config file name. An explicit --url or --data-dir
 * wins (both at once is a usage error); else a URL from VPNCP_URL or the config file; else the
 * data directory.
 */
export async function openOperator(flags: TargetFlags, options: OpenOptions): Promise<Operator> {
  const config = await loadOperatorConfig(flags);
  const explicitUrl = typeof flags.url === "string" && flags.url !== "";
  const explicitDir = typeof flags["data-dir"] === "string" && flags["data-dir"] !== "";
  if (explicitUrl && explicitDir) throw new UsageError("give --url (a running vpncp) or --data-dir (its data directory), not both");
  const url = explicitDir ? undefined : resolveSetting(flags.url, "VPNCP_URL", config.url);
  const timeoutMs = options.timeoutMs ?? 10_000;
  if (url !== undefined) {
    if (!/^https?:\/\/[^/]/.test(url)) throw new UsageError(`the URL must start with http:// or https://, got ${JSON.stringify(url)}`);
    const accessHash = resolveSetting(flags.hash, "VPNCP_ACCESS_HASH", config.accessHash);
    if (!accessHash) throw new UsageError(`no access hash for ${url}: give --hash, VPNCP_ACCESS_HASH or accessHash in the config file`);
    return { client: new VpncpClient({ baseUrl: url, accessHash, timeoutMs, retries: 1 }), target: url, close: async () => {} };
  }
  if (!explicitDir && resolveSetting(undefined, "VPNCP_STORAGE", config.storage)) {
    throw new UsageError(
      "vpncp keeps its data in the configured storage, not a data directory: give --url (and --hash) of the running vpncp",
    );
  }
  return openDataDir(dataDirOf(flags, config), config, options);
}

async function openDataDir(dataDir: string, config: VpncpConfig, options: OpenOptions): Promise<Operator> {
  if (!existsSync(dataDir)) {
    if (!options.write) throw new UnreachableError(`no vpncp data directory at ${dataDir} (and no URL given: --url, VPNCP_URL)`);
    await mkdir(dataDir, { recursive: true, mode: 0o700 });
  }
  // writers take the directory for themselves: two would hand out the same free name, address or mark
  const unlock = options.write ? await lockDataDirOrRefuse(dataDir) : async () => {};
  const publicUrl = resolveSetting(undefined, "VPNCP_PUBLIC_URL", config.publicUrl);
  const vpncp = await createVpncp({
    drivers: fakeDriversModule(),
    storage: createStorage({ driver: operatorDriver(fsAtomicDriver({ base: dataDir })) }),
    // applied to the in-memory fakes only, so a change finds the state it changes; the system itself
    // is untouched until the next `vpncp serve` start applies the stored state with the real drivers
    reload: true,
    publicUrl,
    timezone: resolveSetting(undefined, "VPNCP_TIMEZONE", config.timezone),
    accountLimit: config.accountLimit,
  }).catch(async (error: unknown) => {
    await unlock();
    throw error;
  });
  // whoever can open the data directory holds every key in it: no access hash is asked in-process
  const local: Vpncp = { ...vpncp, accessHashes: { verify: async () => true } as unknown as AccessHashService };
  const app = createHttpApp(local, { metrics: false });
  // one-time links name the address `vpncp serve` would listen on with the same settings
  const host = resolveSetting(undefined, "VPNCP_HOST", config.host, "127.0.0.1");
  const port = resolveSetting(undefined, "VPNCP_PORT", config.port, "8098");
  const client = new VpncpClient({
    baseUrl: `http://${host.includes(":") ? `[${host}]` : host}:${port}`,
    accessHash: "in-process",
    timeoutMs: options.timeoutMs ?? 600_000,
    retries: 0,
    fetch: async (input, init) => app.fetch(new Request(input, init)),
  });
  return {
    client,
    target: `data directory ${dataDir}`,
    async close() {
      await vpncp.close();
      await unlock();
    },
  };
}

/** Takes a data directory for an offline change; one a vpncp serves (or another command keeps too long) is a usage error. */
export async function lockDataDirOrRefuse(dataDir: string): Promise<() => Promise<void>> {
  try {
    return await lockDataDir(dataDir);
  } catch (error) {
    if (error instanceof DataDirBusyError) throw new UsageError(error.message);
    throw error;
  }
}

/** Prints the failure on stderr and sets the exit code it deserves. */
export function reportFailure(error: unknown): void {
  let code: number = EXIT.refused;
  let message = error instanceof Error ? error.message : String(error);
  if (error instanceof UsageError) code = EXIT.usage;
  else if (error instanceof UnreachableError) code = EXIT.unreachable;
  else if (isVpncpApiError(error)) code = error.kind === "api" ? EXIT.refused : EXIT.unreachable;
  else if (error instanceof SnapshotError || isVpncpError(error)) code = EXIT.refused;
  else if (!(error instanceof Error)) message = String(error);
  else message = error.stack ?? error.message;
  process.stderr.write(`vpncp: ${message}\n`);
  process.exitCode = code;
}

/**
 * Runs an operator command: opens the target, runs, closes, and turns any failure into its
 * message and exit code. Exit codes are set, not forced, so piped output is written whole.
 */
export async function withOperator(flags: TargetFlags, options: OpenOptions, body: (operator: Operator) => Promise<void>): Promise<void> {
  let operator: Operator | undefined;
  try {
    operator = await openOperator(flags, options);
    await body(operator);
  } catch (error) {
    reportFailure(error);
  } finally {
    await operator?.close().catch(() => {});
  }
}

/** The field flags given, under the API's names (`names` maps flag to field): what an add or an edit sends. */
export function apiFields<F extends string>(
  args: { readonly [K in F]?: string | undefined },
  names: Readonly<Record<F, string>>,
): Record<string, string> {
  const input: Record<string, string> = {};
  for (const [flag, field] of Object.entries(names) as [F, string][]) {
    const value = args[flag];
    if (typeof value === "string") input[field] = value;
  }
  return input;
}

/** A positional argument citty left empty, as a usage error (exit 2) rather than citty's exit 1. */
export function required(value: unknown, name: string): string {
  if (typeof value !== "string" || value === "") throw new UsageError(`missing ${name}`);
  return value;
}
