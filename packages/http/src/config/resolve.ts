/** The environment variable of a configuration key: `dataDir` → `VPNCP_DATA_DIR`. */
export function envNameOf(key: string): string {
  return `VPNCP_${key.replace(/([a-z0-9])([A-Z])/g, "$1_$2").toUpperCase()}`;
}

/**
 * One setting from its sources, in precedence order: the flag, then the environment variable,
 * then the configuration file, then the default. Empty strings count as unset. File values are
 * returned as strings so every source goes through the same parsing.
 */
export function resolveSetting(
  flag: unknown,
  envName: string,
  fileValue: string | number | boolean | undefined,
  fallback: string,
  env?: NodeJS.ProcessEnv,
): string;
export function resolveSetting(
  flag: unknown,
  envName: string,
  fileValue: string | number | boolean | undefined,
  fallback?: string | undefined,
  env?: NodeJS.ProcessEnv,
): string | undefined;
export function resolveSetting(
  flag: unknown,
  envName: string,
  fileValue: string | number | boolean | undefined,
  fallback?: string | undefined,
  env: NodeJS.ProcessEnv = process.env,
): string | undefined {
  if (typeof flag === "string" && flag !== "") return flag;
  if (typeof flag === "number" || typeof flag === "boolean") return String(flag);
  const fromEnv = env[envName];
  if (fromEnv !== undefined && fromEnv !== "") return fromEnv;
  if (fileValue !== undefined && fileValue !== "") return String(fileValue);
  return fallback;
}
