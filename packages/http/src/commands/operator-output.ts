import { type ArgsDef, type CommandDef, defineCommand, type SubCommandsDef, showUsage } from "citty";
import Table from "cli-table3";
import { EXIT } from "./operator-context.js";

/** Plain tables: no colours, so what a person sees can also be pasted or grepped. */
export function table(head: readonly string[], rows: readonly (readonly (string | number | boolean)[])[]): string {
  const t = new Table({ head: [...head], style: { head: [], border: [] } });
  for (const row of rows) t.push(row.map(String));
  return `${t.toString()}\n`;
}

/** One object as a two-column table of its fields. */
export function fields(object: Readonly<Record<string, unknown>>): string {
  const t = new Table({ style: { head: [], border: [] } });
  for (const [key, value] of Object.entries(object)) {
    t.push([key, typeof value === "object" && value !== null ? JSON.stringify(value) : String(value)]);
  }
  return `${t.toString()}\n`;
}

export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}

export function print(text: string): void {
  process.stdout.write(text.endsWith("\n") ? text : `${text}\n`);
}

/** One API object (an account, a server): as the API gave it with --json, else as a table of its fields. */
export function printRecord(record: object, json: boolean | undefined): void {
  if (json) printJson(record);
  else print(fields(record as Record<string, unknown>));
}

/** "1.5 GiB" for people; --json keeps the exact bytes. */
export function humanBytes(bytes: number): string {
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return unit === 0 ? `${value} B` : `${value.toFixed(1)} ${units[unit]}`;
}

/**
 * A command group (`vpncp account …`) whose missing or unknown subcommand is a usage error with
 * exit code 2, as the operator commands promise (citty itself would exit with 1).
 */
export function commandGroup(meta: { name: string; description: string }, subCommands: SubCommandsDef): CommandDef<ArgsDef> {
  const group: CommandDef<ArgsDef> = defineCommand({
    meta,
    subCommands,
    async setup({ rawArgs }) {
      const first = rawArgs[0];
      if (rawArgs.includes("--help") || rawArgs.includes("-h")) return;
      if (first !== undefined && Object.hasOwn(subCommands, first)) return;
      await showUsage(group);
      process.stderr.write(first === undefined ? "vpncp: missing command\n" : `vpncp: unknown command ${first}\n`);
      process.exit(EXIT.usage);
    },
  });
  return group;
}
