import { fakeDriversModule } from "@vpncp/drivers";
import { definePlugin } from "../define.js";

/** In-memory drivers (`drivers: "fake"`, the default): nothing touches the system. */
export const fakeDriversPlugin = definePlugin({
  name: "fake-drivers",
  description: "In-memory WireGuard, firewall, shaper and IKEv2 drivers",
  setup(context) {
    context.container(fakeDriversModule());
  },
});
