import type { ArgsDef, CommandDef } from "citty";
import { jsonLogger } from "../logger.js";
import { prepareServe, reportStartFailure, type ServeSettingKey } from "./serve.js";

/**
 * The CLI with the commands of the configured plugins (`ctx.command(…)`) next to the built-in
 * ones, from the configuration file `vpncp serve` reads when it has no --config flag (VPNCP_CONFIG,
 * else ./vpncp.config.{json,ts,js}). It is read only when the first argument is not a built-in
 * command, so `vpncp serve` or `vpncp hash …` never depend on a plugin loading. With no command
 * (`vpncp --help`) the plugin commands are listed too; a configuration that does not load then
 * leaves them out, said on stderr, and the built-in commands' help still shows.
 */
export function withPluginCommands<A extends ArgsDef>(
  main: CommandDef<A>,
  envNames: Readonly<Record<ServeSettingKey, string>>,
  argv: readonly string[] = process.argv.slice(2),
): CommandDef<A> {
  const first = argv.find((arg) => !arg.startsWith("-"));
  // biome-ignore lint/suspicious/noExplicitAny: citty commands of any arguments
  let resolved: Promise<Record<string, any>> | null = null;
  const subCommands = async () => {
    const builtIn = (typeof main.subCommands === "function" ? await main.subCommands() : await main.subCommands) ?? {};
    if (first !== undefined && first in builtIn) return builtIn;
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
        if (first === undefined) {
          const message = error instanceof Error ? error.message.split("\n")[0] : String(error);
          process.stderr.write(`vpncp: plugin commands left out: ${message}\n`);
          return builtIn;
        }
        reportStartFailure(error);
        process.exit(1);
      }
    })();
    return resolved;
  };
  return { ...main, subCommands };
}
