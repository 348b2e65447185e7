/**
 * An example third-party vpncp plugin: an audit log of domain events, one JSON line per event,
 * with a route to read it back and a CLI command to print its tail. Copy this folder to start
 * your own plugin; list it in vpncp.config.json:
 *
 *   { "plugins": [{ "module": "./plugins/audit-log/index.ts", "options": { "file": "audit.jsonl" } }] }
 */
import { appendFile, mkdir, readFile } from "node:fs/promises";
import { dirname } from "node:path";
import { DOMAIN_EVENT_TYPES, type DomainEventType } from "@vpncp/core";
import { definePlugin, z } from "@vpncp/http";
import { defineCommand } from "citty";
import { getQuery } from "h3";

const options = z.strictObject({
  /** The JSON-lines file, relative to the configuration file. */
  file: z.string().min(1).default("audit.jsonl"),
  /** Which events to record (default: all). */
  events: z.array(z.enum(DOMAIN_EVENT_TYPES as [DomainEventType, ...DomainEventType[]])).optional(),
});

/** The last `limit` entries of the log (an absent file is an empty log). */
async function readTail(file: string, limit: number): Promise<unknown[]> {
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return [];
    throw error;
  }
  const lines = text.split("\n").filter((line) => line !== "");
  return lines.slice(Math.max(0, lines.length - limit)).map((line) => JSON.parse(line) as unknown);
}

export default definePlugin({
  name: "audit-log",
  description: "Writes every domain event to a JSON-lines file; GET /plugins/audit-log/entries reads it",
  options,
  setup(context, { file, events }) {
    const path = context.resolvePath(file);
    const wanted = events ? new Set<string>(events) : null;

    // appends one at a time, so lines keep the order of the events
    let writing: Promise<void> = mkdir(dirname(path), { recursive: true }).then(() => {});
    context.on("*", (event) => {
      if (wanted && !wanted.has(event.type)) return;
      const line = `${JSON.stringify(event)}\n`;
      writing = writing.then(() => appendFile(path, line, { mode: 0o600 }));
      return writing;
    });
    context.onClose(() => writing);

    // GET /plugins/audit-log/entries?limit=50, behind the same access hash as the API
    context.routes((router) => {
      router.get("/entries", async (event) => {
        const requested = Number(getQuery(event).limit ?? 100);
        const limit = Number.isInteger(requested) && requested > 0 ? Math.min(requested, 10_000) : 100;
        await writing;
        return { entries: await readTail(path, limit) };
      });
    });

    // vpncp audit-log --limit 20
    context.command(
      "audit-log",
      defineCommand({
        meta: { name: "audit-log", description: "Print the last entries of the audit log" },
        args: { limit: { type: "string", description: "How many entries (default 20)" } },
        async run({ args }) {
          for (const entry of await readTail(path, Number(args.limit ?? 20))) process.stdout.write(`${JSON.stringify(entry)}\n`);
        },
      }),
    );
  },
});
