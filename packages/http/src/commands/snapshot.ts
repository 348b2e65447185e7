import { existsSync } from "node:fs";
import { mkdir, readFile } from "node:fs/promises";
import { dirname, resolve } from "node:path";
import {
  createVpncpStorage,
  exportSnapshot,
  importSnapshot,
  parseSnapshot,
  parseStorageSpec,
  serializeSnapshot,
  writeFileAtomically,
} from "@vpncp/core";
import { defineCommand } from "citty";
import cliProgress from "cli-progress";
import type { Storage } from "unstorage";
import { resolveSetting } from "../config/index.js";
import {
  dataDirOf,
  EXIT_CODES_HELP,
  loadOperatorConfig,
  lockDataDirOrRefuse,
  reportFailure,
  UnreachableError,
  UsageError,
} from "./operator-context.js";
import { printJson } from "./operator-output.js";

const storageArgs = {
  "data-dir": { type: "string", description: "Data directory (env VPNCP_DATA_DIR; config file: dataDir; default .vpncp)" },
  storage: { type: "string", description: 'An unstorage spec instead of files, e.g. "redis:redis://127.0.0.1:6379" (env VPNCP_STORAGE)' },
  config: { type: "string", description: "Configuration file (env VPNCP_CONFIG; default ./vpncp.config.{json,ts,js})" },
} as const;

interface StorageFlags {
  readonly "data-dir"?: string | undefined;
  readonly storage?: string | undefined;
  readonly config?: string | undefined;
}

/** The installation's storage: a storage spec when one is set, else the files of the data directory. */
async function openStorage(
  flags: StorageFlags,
  mode: "read" | "write",
): Promise<{ storage: Storage; where: string; unlock: () => Promise<void> }> {
  const config = await loadOperatorConfig(flags);
  const explicitDir = typeof flags["data-dir"] === "string" && flags["data-dir"] !== "";
  const spec = explicitDir ? undefined : resolveSetting(flags.storage, "VPNCP_STORAGE", config.storage);
  if (spec !== undefined) {
    let parsed: ReturnType<typeof parseStorageSpec>;
    try {
      parsed = parseStorageSpec(spec);
    } catch (error) {
      throw new UsageError(`--storage: ${(error as Error).message}`);
    }
    return { storage: await createVpncpStorage(parsed), where: `storage ${parsed.driver}`, unlock: async () => {} };
  }
  const dataDir = dataDirOf(flags, config);
  if (mode === "read" && !existsSync(dataDir)) throw new UnreachableError(`no vpncp data directory at ${dataDir}`);
  let unlock = async () => {};
  if (mode === "write") {
    await mkdir(dataDir, { recursive: true, mode: 0o700 });
    unlock = await lockDataDirOrRefuse(dataDir);
  }
  return { storage: await createVpncpStorage({ driver: "fs", options: { base: dataDir } }), where: dataDir, unlock };
}

export const exportCommand = defineCommand({
  meta: {
    name: "export",
    description:
      "Write a portable snapshot (versioned JSON) of the installation: servers, accounts with their keys, IKEv2 certificates with their private keys, access hash digests, live one-time links, settings and statistics. " +
      `It holds private keys: --out writes it with mode 0600. ${EXIT_CODES_HELP}`,
  },
  args: { ...storageArgs, out: { type: "string", description: "Write to this file (mode 0600) instead of stdout" } },
  async run({ args }) {
    let storage: Storage | undefined;
    try {
      const opened = await openStorage(args, "read");
      storage = opened.storage;
      const snapshot = await exportSnapshot(storage);
      const text = serializeSnapshot(snapshot);
      const summary = `${snapshot.servers.length} servers, ${snapshot.accounts.length} accounts, ${Object.keys(snapshot.statistics).length} accounts with statistics`;
      if (typeof args.out === "string" && args.out !== "") {
        const out = resolve(args.out);
        if (!existsSync(dirname(out))) throw new UsageError(`--out: no directory ${dirname(out)}`);
        // whole or not at all, readable by its owner only: it holds private keys
        await writeFileAtomically(out, text, { mode: 0o600 });
        process.stderr.write(`vpncp: exported ${summary} from ${opened.where} to ${out} (mode 0600: it holds private keys)\n`);
      } else {
        process.stdout.write(text);
        process.stderr.write(`vpncp: exported ${summary} from ${opened.where} (it holds private keys: keep it private)\n`);
      }
    } catch (error) {
      reportFailure(error);
    } finally {
      await storage?.dispose();
    }
  },
});

export const importCommand = defineCommand({
  meta: {
    name: "import",
    description:
      "Import a snapshot made by `vpncp export` into an empty data directory (or storage), to move an installation to this host. " +
      "Everything is validated before anything is written; a directory that already holds servers, accounts, certificates, links or statistics is refused (its access hashes are kept, the snapshot's added). " +
      `The next \`vpncp serve\` applies it. ${EXIT_CODES_HELP}`,
  },
  args: {
    ...storageArgs,
    file: { type: "positional", description: "The snapshot file (- for stdin)", required: false },
    json: { type: "boolean", description: "Print what was imported as JSON" },
  },
  async run({ args }) {
    let storage: Storage | undefined;
    let unlock = async () => {};
    try {
      const file = args.file;
      if (typeof file !== "string" || file === "") throw new UsageError("missing FILE (the snapshot to import)");
      let text: string;
      try {
        text = file === "-" ? await readStdin() : await readFile(file, "utf8");
      } catch (error) {
        throw new UsageError(`cannot read ${file}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`);
      }
      // validated before the target is even opened: a bad file leaves no empty directory behind
      const snapshot = parseSnapshot(text);
      const opened = await openStorage(args, "write");
      storage = opened.storage;
      unlock = opened.unlock;
      const bar = new cliProgress.SingleBar(
        { format: "import |{bar}| {value}/{total} records", stream: process.stderr, hideCursor: true },
        cliProgress.Presets.shades_classic,
      );
      let started = false;
      const summary = await importSnapshot(storage, snapshot, {
        onProgress: (written, total) => {
          if (!started) bar.start(total, 0);
          started = true;
          bar.update(written);
        },
      }).finally(() => bar.stop());
      if (args.json) printJson(summary);
      else
        process.stdout.write(
          `imported ${summary.servers} servers, ${summary.accounts} accounts, ${summary.accessHashes} access hashes, ` +
            `${summary.links} one-time links (${summary.expiredLinks} expired, left out) and ${summary.statisticsDays} days of statistics into ${opened.where}\n`,
        );
    } catch (error) {
      reportFailure(error);
    } finally {
      await storage?.dispose();
      await unlock();
    }
  },
});

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString("utf8");
}
