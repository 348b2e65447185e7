import { toNodeHandler } from "h3/node";
import { type Listener, listen } from "listhen";
import { createBridgeApp } from "./app.js";
import { createWhmcsBridge, type WhmcsBridge, type WhmcsBridgeOptions } from "./bridge.js";

export interface BridgeServerOptions {
  readonly bridge: WhmcsBridgeOptions;
  readonly token: string;
  readonly host: string;
  /** 0 picks a free port. */
  readonly port: number;
  /** PEM files; without them the bridge speaks plain http (put it behind a TLS proxy then). */
  readonly tls?: { readonly cert: string; readonly key: string } | undefined;
}

export interface RunningBridge {
  readonly url: string;
  readonly port: number;
  readonly bridge: WhmcsBridge;
  close(): Promise<void>;
}

/** Opens the bridge and serves it (`vpncp bridge serve`). */
export async function startBridgeServer(options: BridgeServerOptions): Promise<RunningBridge> {
  const bridge = await createWhmcsBridge(options.bridge);
  const app = createBridgeApp(bridge, { token: options.token });
  let listener: Listener;
  try {
    listener = await listen(toNodeHandler(app), {
      port: { port: options.port, portRange: [options.port, options.port], alternativePortRange: [options.port, options.port] } as never,
      hostname: options.host,
      https: options.tls ? { cert: options.tls.cert, key: options.tls.key } : false,
      showURL: false,
      open: false,
      clipboard: false,
      qr: false,
      public: options.host !== "127.0.0.1" && options.host !== "localhost",
      isProd: true,
    } as never);
  } catch (error) {
    await bridge.close();
    throw error;
  }
  const port = listener.address.port;
  if (options.port !== 0 && port !== options.port) {
    await listener.close();
    await bridge.close();
    throw new Error(`port ${options.port} is in use`);
  }
  const host = options.host.includes(":") ? `[${options.host}]` : options.host;
  return {
    url: `${options.tls ? "https" : "http"}://${host}:${port}`,
    port,
    bridge,
    async close() {
      await listener.close();
      await bridge.close();
    },
  };
}
