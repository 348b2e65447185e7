import type { PluginDefinition } from "../define.js";
import { fakeDriversPlugin } from "./fake-drivers.js";
import { metricsPlugin } from "./metrics.js";
import { systemDriversPlugin } from "./system-drivers.js";
import { webhookPlugin } from "./webhook.js";

export { fakeDriversPlugin } from "./fake-drivers.js";
export { metricsPlugin } from "./metrics.js";
export { systemDriversPlugin } from "./system-drivers.js";
export { signWebhook, verifyWebhookSignature, type WebhookOptions, WebhookSender, webhookOptions, webhookPlugin } from "./webhook.js";

/** Plugins named by their short name in `plugins` (`"webhook"`, `{ "module": "webhook", … }`). */
export function builtinPlugins(): ReadonlyMap<string, PluginDefinition> {
  return new Map<string, PluginDefinition>([
    ["fake-drivers", fakeDriversPlugin as PluginDefinition],
    ["system-drivers", systemDriversPlugin as PluginDefinition],
    ["metrics", metricsPlugin as PluginDefinition],
    ["webhook", webhookPlugin as PluginDefinition],
  ]);
}
