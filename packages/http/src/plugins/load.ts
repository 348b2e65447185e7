import { ConfigError } from "../config/error.js";
import { importConfiguredModule, ModuleImportError } from "../config/import-module.js";
import type { PluginEntry } from "../config/schema.js";
import { builtinPlugins } from "./builtin/index.js";
import { type PluginUse, pluginOf } from "./host.js";

/**
 * The plugins named in `plugins` of a configuration file: built-in short names ("webhook",
 * "metrics", …), local files (relative to the file) or packages. Refused with the entry's key
 * when a module is missing, does not load, or exports no plugin.
 */
export async function resolvePluginEntries(
  entries: readonly PluginEntry[],
  from: { readonly file: string | null; readonly dir: string },
): Promise<PluginUse[]> {
  const builtins = builtinPlugins();
  const uses: PluginUse[] = [];
  for (const [index, entry] of entries.entries()) {
    const key = `plugins[${index}]`;
    const specifier = typeof entry === "string" ? entry : entry.module;
    const options = typeof entry === "string" ? undefined : entry.options;
    const at = from.file ? `${from.file}: "${key}"` : `"${key}"`;
    const builtin = builtins.get(specifier);
    if (builtin) {
      uses.push({ plugin: builtin, options, file: from.file, key });
      continue;
    }
    let module: Record<string, unknown>;
    try {
      module = await importConfiguredModule(specifier, from.dir);
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      const text =
        error instanceof ModuleImportError && error.reason === "not-found"
          ? `${at}: module ${JSON.stringify(specifier)} was not found (${reason})`
          : `${at}: module ${JSON.stringify(specifier)} failed to load (${reason.split("\n")[0]})`;
      throw new ConfigError(text, from.file, key, { cause: error });
    }
    const plugin = pluginOf(module);
    if (!plugin)
      throw new ConfigError(
        `${at}: module ${JSON.stringify(specifier)} exports no plugin (export default definePlugin({ name, options, setup }) from "@vpncp/http")`,
        from.file,
        key,
      );
    uses.push({ plugin, options, file: from.file, key });
  }
  return uses;
}
