import { definePlugin, z } from "@vpncp/http";
import type { H3 } from "h3";
import { createBridgeApp } from "./app.js";
import { createWhmcsBridge, type WhmcsBridge } from "./bridge.js";
import { loadBridgeConfig } from "./config.js";

/**
 * The WHMCS bridge as a plugin of a vpncp node: POST /bridge/<Function> on that node's own
 * listener, with the bridge's own bearer token (not an access hash). Its nodes, token and
 * storage come from the same file as `vpncp bridge serve` reads; `listen` and `tls` of that
 * file are not used (the node's listener serves it).
 *
 *   "plugins": [{ "module": "@vpncp/whmcs-bridge", "options": { "config": "vpncp-bridge.json" } }]
 */
export const whmcsBridgePlugin = definePlugin({
  name: "whmcs-bridge",
  description: "The WHMCS billing bridge at /bridge/<Function>",
  prefix: "/bridge",
  options: z.strictObject({
    /** The bridge's JSON file, relative to the vpncp configuration file. */
    config: z.string().min(1).default("vpncp-bridge.json"),
  }),
  async setup(context, options) {
    // read and checked at start: a bad bridge file stops vpncp with its message
    const config = await loadBridgeConfig(context.resolvePath(options.config));
    if (context.mode !== "serve") return;
    if (config.tls || config.listen.port !== undefined)
      context.logger.info("the bridge file's listen and tls settings are not used by the plugin (vpncp's listener serves it)");
    let bridge: WhmcsBridge | null = null;
    let app: H3 | null = null;
    context.onStart(async () => {
      bridge = await createWhmcsBridge({ ...config.bridge, logger: context.logger });
      app = createBridgeApp(bridge, { token: config.token });
    });
    context.routes(
      (router) => {
        // the bridge app answers the whole /bridge/… space itself (its token check, 404 and 405 included)
        router.all("/**", (event) => app!.fetch(event.req));
      },
      { auth: "none" },
    );
    context.onClose(async () => {
      await bridge?.close();
    });
  },
});
