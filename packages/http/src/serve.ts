import { mkdir } from "node:fs/promises";
import { resolve } from "node:path";
import { createVpncp, type Logger, parseStorageSpec, type Vpncp } from "@vpncp/core";
import { toNodeHandler } from "h3/node";
import { ContainerModule } from "inversify";
import { type Listener, listen } from "listhen";
import { createHttpApp } from "./app.js";
import type { TrustProxySetting } from "./client-address.js";
import { claimDataDir } from "./data-dir-lock.js";
import type { PluginHost } from "./plugins/host.js";

export interface ServeOptions {
  readonly port: number;
  readonly host: string;
  readonly dataDir: string;
  /** Unstorage driver spec ("redis:redis://host:6379"); default: files in dataDir. */
  readonly storage?: string | undefined;
  /** The drivers module; may be left out when a plugin binds the ports (the CLI's drivers plugins do). */
  readonly drivers?: ContainerModule | undefined;
  /** Plugins, set up (setupPlugins): their modules load after the drivers, their routes join the app. */
  readonly plugins?: PluginHost | undefined;
  readonly publicUrl?: string | undefined;
  readonly accessHash?: string | undefined;
  readonly accountLimit?: number | undefined;
  readonly wanInterface?: string | undefined;
  readonly timezone?: string | undefined;
  /** Proxies whose X-Forwarded-For is believed: true (loopback), or addresses/CIDRs "127.0.0.1,10.0.0.0/8". */
  readonly trustProxy?: TrustProxySetting;
  /** Bearer token that may read /metrics besides access hashes. */
  readonly metricsToken?: string | undefined;
  readonly logger: Logger;
  /** Where the first-start hash is announced (stdout by default). */
  readonly announce?: ((line: string) => void) | undefined;
}

export interface RunningServer {
  readonly url: string;
  readonly port: number;
  readonly vpncp: Vpncp;
  close(): Promise<void>;
}

/** Starts vpncp and its HTTP API; creates and prints an access hash on a first start. */
export async function startServer(options: ServeOptions): Promise<RunningServer> {
  const dataDir = resolve(options.dataDir);
  await mkdir(dataDir, { recursive: true, mode: 0o700 });
  const storage = options.storage ? parseStorageSpec(options.storage) : { driver: "fs", options: { base: dataDir } };
  const plugins = options.plugins;
  const vpncp = await createVpncp({
    drivers: composeModules(options.drivers, plugins?.modules ?? []),
    storage,
    publicUrl: options.publicUrl,
    accountLimit: options.accountLimit,
    wanInterface: options.wanInterface,
    timezone: options.timezone,
    logger: options.logger,
    collectStatistics: true,
  });
  const announce = options.announce ?? ((line: string) => process.stdout.write(`${line}\n`));
  if (options.accessHash) {
    await vpncp.accessHashes.ensure(options.accessHash);
  } else if ((await vpncp.accessHashes.list()).length === 0) {
    const { hash } = await vpncp.accessHashes.create();
    announce(`vpncp: created an access hash valid from any address (shown once, keep it):\n\n    ${hash}\n`);
  }

  try {
    await plugins?.start(vpncp);
  } catch (error) {
    await plugins?.close();
    await vpncp.close();
    throw error;
  }
  const app = createHttpApp(vpncp, {
    logger: options.logger,
    trustProxy: options.trustProxy,
    metricsToken: options.metricsToken,
    // with plugins, /metrics is the metrics plugin's (when loaded)
    metrics: plugins ? false : undefined,
    extend: plugins ? (target, instance, access) => plugins.extend(target, instance, access) : undefined,
  });
  let listener: Listener;
  try {
    listener = await listen(toNodeHandler(app), {
      port: { port: options.port, portRange: [options.port, options.port], alternativePortRange: [options.port, options.port] } as never,
      hostname: options.host,
      showURL: false,
      open: false,
      clipboard: false,
      qr: false,
      public: options.host !== "127.0.0.1" && options.host !== "localhost",
      isProd: true,
      // listhen would process.exit(0) on SIGTERM before the CLI closes vpncp (drivers, storage) gracefully
      autoClose: false,
    } as never);
  } catch (error) {
    await plugins?.close();
    await vpncp.close();
    throw error;
  }
  const port = listener.address.port;
  if (options.port !== 0 && port !== options.port) {
    await listener.close();
    await plugins?.close();
    await vpncp.close();
    throw new Error(`port ${options.port} is in use`);
  }
  const url = `http://${options.host.includes(":") ? `[${options.host}]` : options.host}:${port}`;
  options.logger.info("listening", { url, dataDir, plugins: plugins?.plugins.map((p) => p.name) ?? [] });
  // the operator CLI refuses to write a data directory a running vpncp holds
  const releaseDataDir = options.storage ? async () => {} : await claimDataDir(dataDir);
  return {
    url,
    port,
    vpncp,
    async close() {
      await listener.close();
      await plugins?.close();
      await vpncp.close();
      await releaseDataDir();
    },
  };
}

/** The drivers, then each plugin's bindings (which may rebind a port), as the one module createVpncp loads. */
function composeModules(drivers: ContainerModule | undefined, modules: readonly ContainerModule[]): ContainerModule {
  if (drivers && modules.length === 0) return drivers;
  // synchronous: createVpncp loads modules with container.load, which refuses asynchronous ones
  return new ContainerModule((bindings) => {
    for (const module of drivers ? [drivers, ...modules] : modules) void module.load(bindings);
  });
}
