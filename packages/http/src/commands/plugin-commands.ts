import type { CommandDef } from "citty";
import { jsonLogger } from "../logger.js";
import { prepareServe, reportStartFailure, type ServeSettingKey } from "./serve.js";

/**
 * The CLI with the commands of the configured plugins (`ctx.command(…)`) next to the built-in
 * ones. The configuration is read only when the first argument is not a built-in command, so
 * `vpncp serve` or `vpncp hash …` never depend on a plugin loading.
 */
export function withPluginCommands(
  main: CommandDef,
  envNames: Readonly<Record<ServeSettingKey, string>>,
  argv: readonly string[] = process.argv.slice(2),
): CommandDef {
  // biome-ignore lint/suspicious/noExplicitAny: citty commands of any arguments
  let resolved: Promise<Record<string, any>> | null = null;
  const subCommands = async () => {
    const builtIn = (typeof main.subCommands === "function" ? await main.subCommands() : await main.subCommands) ?? {};
    const first = argv[0];
    if (first === undefined || first.startsWith("-") || first in builtIn) return builtIn;
    resolved ??= (async () => {
      try {
        const prepared = await prepareServe(
          {},
          {
            envNames,
            mode: "cli",
            reservedCommands: Object.keys(builtIn),
            // plugin logs go to stderr: the command's stdout is its output
            logger: jsonLogger((line) => process.stderr.write(`${line}\n`)),
          },
        );
        return { ...builtIn, ...prepared.plugins.commands };
      } catch (error) {
        reportStartFailure(error);
        process.exit(1);
      }
    })();
    return resolved;
  };
  return { ...main, subCommands };
}
