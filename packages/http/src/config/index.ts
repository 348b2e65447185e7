export { ConfigError } from "./error.js";
export { importConfiguredModule, ModuleImportError } from "./import-module.js";
export { displayPath, type LoadConfigOptions, type LoadedConfig, loadConfig, validateConfig } from "./load.js";
export { envNameOf, resolveSetting } from "./resolve.js";
export { CONFIG_EXPECTATIONS, type ConfigKey, configSchema, type PluginEntry, pluginEntrySchema, type VpncpConfig } from "./schema.js";
