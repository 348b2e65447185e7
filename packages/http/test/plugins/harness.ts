import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { createServer, type IncomingHttpHeaders, type Server } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Logger } from "@vpncp/core";
import { prepareServe, type ServeSettingKey } from "../../src/commands/serve.js";
import { envNameOf } from "../../src/config/index.js";
import { type RunningServer, startServer } from "../../src/serve.js";

export const ENV_NAMES = Object.fromEntries(
  [
    "config",
    "port",
    "host",
    "dataDir",
    "storage",
    "drivers",
    "publicUrl",
    "accessHash",
    "accountLimit",
    "netns",
    "wanInterface",
    "firewall",
    "stateDir",
    "timezone",
    "trustProxy",
    "metricsToken",
  ].map((key) => [key, envNameOf(key)]),
) as Record<ServeSettingKey, string>;

export const HASH = "ab".repeat(40);

export interface LogLine {
  readonly level: string;
  readonly message: string;
  readonly fields: Record<string, unknown>;
}

export function captureLogger(): { logger: Logger; lines: LogLine[] } {
  const lines: LogLine[] = [];
  const at =
    (level: string) =>
    (message: string, fields: Record<string, unknown> = {}) =>
      lines.push({ level, message, fields });
  return { lines, logger: { info: at("info"), warn: at("warn"), error: at("error") } };
}

/** A temp directory holding vpncp.config.json (and any other files), removed by cleanup(). */
export async function configDir(
  config: unknown,
  files: Record<string, string> = {},
): Promise<{ dir: string; path: string; cleanup(): Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), "vpncp-plugins-"));
  const path = join(dir, "vpncp.config.json");
  await writeFile(path, typeof config === "string" ? config : JSON.stringify(config, null, 2));
  for (const [name, content] of Object.entries(files)) await writeFile(join(dir, name), content);
  return { dir, path, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

/** `vpncp serve --config <path> --port 0` in this process, as the CLI assembles it. */
export async function serveConfig(path: string, logger: Logger, args: Record<string, string> = {}): Promise<RunningServer> {
  const prepared = await prepareServe({ config: path, port: "0", "access-hash": HASH, ...args }, { envNames: ENV_NAMES, env: {}, logger });
  return startServer({ ...prepared.options, announce: () => {} });
}

export interface Received {
  readonly headers: IncomingHttpHeaders;
  readonly body: string;
}

/** An HTTP receiver on loopback that answers with `status(request, n)` for the n-th request (from 1). */
export async function receiver(status: (received: Received, n: number) => number = () => 200): Promise<{
  url: string;
  received: Received[];
  close(): Promise<void>;
}> {
  const received: Received[] = [];
  const server: Server = createServer((req, res) => {
    let body = "";
    req.setEncoding("utf8");
    req.on("data", (chunk) => {
      body += chunk;
    });
    req.on("end", () => {
      const entry = { headers: req.headers, body };
      received.push(entry);
      res.statusCode = status(entry, received.length);
      res.end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${port}/hook`,
    received,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** Polls `check` until it returns true (at most `ms`). */
export async function until(check: () => boolean, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error("condition not met in time");
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
