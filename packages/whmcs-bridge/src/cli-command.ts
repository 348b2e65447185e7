import { resolve } from "node:path";
import { resolveSetting } from "@vpncp/http";
import { defineCommand } from "citty";
import { loadBridgeConfig } from "./config.js";
import { type RunningBridge, startBridgeServer } from "./serve.js";

export interface BridgeServeArgs {
  readonly config?: string | undefined;
  readonly port?: string | undefined;
  readonly host?: string | undefined;
}

/** What `vpncp bridge serve` does before it waits for signals: flags, else environment, else the file. */
export async function serveBridge(args: BridgeServeArgs): Promise<RunningBridge & { readonly configPath: string; readonly nodes: number }> {
  const configPath = resolve(resolveSetting(args.config, "VPNCP_BRIDGE_CONFIG", undefined, "vpncp-bridge.json"));
  const config = await loadBridgeConfig(configPath);
  const port = resolveSetting(args.port, "VPNCP_BRIDGE_PORT", undefined) ?? String(config.listen.port ?? 8099);
  if (!/^\d{1,5}$/.test(port)) throw new Error(`--port must be a number, got ${JSON.stringify(port)}`);
  const log = (message: string, fields?: Record<string, unknown>) =>
    process.stderr.write(`${JSON.stringify({ time: new Date().toISOString(), message, ...fields })}\n`);
  const server = await startBridgeServer({
    bridge: { ...config.bridge, logger: { info: log, warn: log, error: log } },
    token: config.token,
    host: resolveSetting(args.host, "VPNCP_BRIDGE_HOST", undefined) ?? config.listen.host ?? "127.0.0.1",
    port: Number(port),
    tls: config.tls,
  });
  return Object.assign(server, { configPath, nodes: config.bridge.nodes.length });
}

const serve = defineCommand({
  meta: { name: "serve", description: "Serve the WHMCS bridge to the vpncp WHMCS server module (POST /bridge/<Function>)" },
  args: {
    config: {
      type: "string",
      description: "Bridge config file: nodes, token, storage (env VPNCP_BRIDGE_CONFIG; default vpncp-bridge.json)",
    },
    port: { type: "string", description: "Port (env VPNCP_BRIDGE_PORT; default: the file's listen.port, else 8099)" },
    host: { type: "string", description: "Address (env VPNCP_BRIDGE_HOST; default: the file's listen.host, else 127.0.0.1)" },
  },
  async run({ args }) {
    const server = await serveBridge(args);
    process.stdout.write(`vpncp bridge: listening on ${server.url} (${server.nodes} nodes, config ${server.configPath})\n`);
    let stopping = false;
    const stop = async () => {
      if (stopping) return;
      stopping = true;
      await server.close();
      process.exit(0);
    };
    process.on("SIGTERM", () => void stop());
    process.on("SIGINT", () => void stop());
  },
});

/** `vpncp bridge …`: mount with `subCommands: { …, bridge: bridgeCommand }` in the vpncp CLI. */
export const bridgeCommand = defineCommand({
  meta: { name: "bridge", description: "The WHMCS billing bridge over many vpncp nodes" },
  subCommands: { serve },
});
