import { z } from "zod";

/** What each key of the configuration file must hold, in the words of the refusal message. */
export const CONFIG_EXPECTATIONS = {
  $schema: "a string",
  port: "a whole number 0–65535",
  host: "an address or host name (a non-empty string)",
  dataDir: "a directory path (a non-empty string)",
  storage: 'an unstorage spec such as "redis:redis://127.0.0.1:6379" (a non-empty string)',
  drivers: '"fake" or "system"',
  publicUrl: "an http(s) URL",
  accessHash: "80 hexadecimal characters",
  accountLimit: "a whole number of at least 0",
  netns: "a network namespace name (a non-empty string)",
  wanInterface: "an interface name (a non-empty string)",
  firewall: '"nftables" or "iptables"',
  stateDir: "a directory path (a non-empty string)",
  timezone: 'an IANA timezone such as "Europe/Warsaw"',
  trustProxy: 'true, false or a list of proxy addresses such as "127.0.0.1,10.0.0.0/8"',
  metricsToken: "a non-empty string",
  url: "the http(s) URL of a running vpncp",
  plugins: 'a list of module names or { "module": "…", "options": { … } } objects',
} as const;

export type ConfigKey = keyof typeof CONFIG_EXPECTATIONS;

const text = z.string().min(1);
const httpUrl = z.url({ protocol: /^https?$/ });

function validTimezone(value: string): boolean {
  try {
    new Intl.DateTimeFormat("en", { timeZone: value });
    return true;
  } catch {
    return false;
  }
}

/** One entry of `plugins`: a module specifier, or a specifier with options for the plugin's own schema. */
export const pluginEntrySchema = z.union([text, z.strictObject({ module: text, options: z.record(z.string(), z.unknown()).optional() })]);

export type PluginEntry = z.infer<typeof pluginEntrySchema>;

/** The configuration file: the serve flags in camelCase, plus `url` and `plugins`. */
export const configSchema = z.strictObject({
  $schema: z.string().optional(),
  port: z.number().int().min(0).max(65_535).optional(),
  host: text.optional(),
  dataDir: text.optional(),
  storage: text.optional(),
  drivers: z.enum(["fake", "system"]).optional(),
  publicUrl: httpUrl.optional(),
  accessHash: z
    .string()
    .regex(/^[0-9a-f]{80}$/i)
    .optional(),
  accountLimit: z.number().int().min(0).optional(),
  netns: text.optional(),
  wanInterface: text.optional(),
  firewall: z.enum(["nftables", "iptables"]).optional(),
  stateDir: text.optional(),
  timezone: text.refine(validTimezone).optional(),
  trustProxy: z.union([z.boolean(), text]).optional(),
  metricsToken: text.optional(),
  url: httpUrl.optional(),
  plugins: z.array(pluginEntrySchema).optional(),
});

export type VpncpConfig = z.infer<typeof configSchema>;
