import { systemDriversModule } from "@vpncp/drivers";
import { definePlugin } from "../define.js";

/** The real tools (`drivers: "system"`): wg, nftables or iptables, tc, strongSwan; configured by the serve settings. */
export const systemDriversPlugin = definePlugin({
  name: "system-drivers",
  description: "wg, nftables/iptables, tc and strongSwan on this host",
  setup(context) {
    // made only to serve: building the module for a CLI command would be wasted work
    if (context.mode !== "serve") return;
    const { netns, firewall, stateDir } = context.settings;
    context.container(systemDriversModule({ netns, firewall, stateDir, logger: context.logger }));
  },
});
