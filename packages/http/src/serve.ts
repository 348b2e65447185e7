import { mkdir } from "node:fs/promises";
import { resolve } from "node:path";
import { createVpncp, type Logger, parseStorageSpec, type Vpncp } from "@vpncp/core";
import { toNodeHandler } from "h3/node";
import type { ContainerModule } from "inversify";
import { type Listener, listen } from "listhen";
import { createHttpApp } from "./app.js";
import { claimDataDir } from "./data-dir-lock.js";

export interface ServeOptions {
  readonly port: number;
  readonly host: string;
  readonly dataDir: string;
  /** Unstorage driver spec ("redis:redis://host:6379"); default: files in dataDir. */
  readonly storage?: string | undefined;
  readonly drivers: ContainerModule;
  readonly publicUrl?: string | undefined;
  readonly accessHash?: string | undefined;
  readonly accountLimit?: number | undefined;
  readonly wanInterface?: string | undefined;
  readonly timezone?: string | undefined;
  readonly trustProxy?: boolean | undefined;
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
  const vpncp = await createVpncp({
    drivers: options.drivers,
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

  const app = createHttpApp(vpncp, { logger: options.logger, trustProxy: options.trustProxy, metricsToken: options.metricsToken });
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
    await vpncp.close();
    throw error;
  }
  const port = listener.address.port;
  if (options.port !== 0 && port !== options.port) {
    await listener.close();
    await vpncp.close();
    throw new Error(`port ${options.port} is in use`);
  }
  const url = `http://${options.host.includes(":") ? `[${options.host}]` : options.host}:${port}`;
  options.logger.info("listening", { url, drivers: "see config", dataDir });
  // the operator CLI refuses to write a data directory a running vpncp holds
  const releaseDataDir = options.storage ? async () => {} : await claimDataDir(dataDir);
  return {
    url,
    port,
    vpncp,
    async close() {
      await listener.close();
      await vpncp.close();
      await releaseDataDir();
    },
  };
}
