import { createMetrics } from "../../metrics.js";
import { definePlugin } from "../define.js";

/**
 * GET /metrics in the Prometheus text format. The app's own check guards the path (an access
 * hash, or the metrics token), so the plugin's routes ask for no other.
 */
export const metricsPlugin = definePlugin({
  name: "metrics",
  description: "Prometheus metrics at /metrics",
  prefix: "/metrics",
  setup(context) {
    let metrics: ReturnType<typeof createMetrics> | null = null;
    context.onStart((vpncp) => {
      metrics = createMetrics(vpncp);
    });
    context.routes(
      (router) => {
        router.get("/", async () => {
          const registry = metrics!.registry;
          return new Response(await registry.metrics(), { headers: { "content-type": registry.contentType } });
        });
      },
      { auth: "none" },
    );
    context.onClose(() => metrics?.dispose());
  },
});
