import { readFileSync } from "node:fs";
import { open, readFile, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";

/**
 * Who holds a file data directory: `vpncp serve` while it runs, or an operator command while it
 * changes records offline. A running vpncp keeps the records in memory and would never see a
 * change made behind its back (or would overwrite it), and two offline writers would both hand
 * out the same free name, address or mark. A file left by a killed process names a dead pid and
 * is ignored.
 */
export const PID_FILE = "vpncp.pid";

export type DataDirRole = "serve" | "operator";

export interface DataDirHolder {
  readonly pid: number;
  readonly role: DataDirRole;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it exists, under another user
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

function parse(text: string): DataDirHolder | null {
  const [pidText = "", role = "serve"] = text.trim().split(/\s+/);
  const pid = Number(pidText);
  if (!Number.isSafeInteger(pid) || pid <= 0) return null;
  return { pid, role: role === "operator" ? "operator" : "serve" };
}

/** The live process (other than this one) holding this data directory, or null. */
export function dataDirHolder(dataDir: string): DataDirHolder | null {
  let text: string;
  try {
    text = readFileSync(join(dataDir, PID_FILE), "utf8");
  } catch {
    return null;
  }
  const holder = parse(text);
  return holder && holder.pid !== process.pid && alive(holder.pid) ? holder : null;
}

/** What the returned function of a claim does: removes the mark if it is still this process's. */
function releaser(file: string): () => Promise<void> {
  return async () => {
    const holder = parse(await readFile(file, "utf8").catch(() => ""));
    if (holder?.pid === process.pid) await rm(file, { force: true });
  };
}

/** `vpncp serve`: marks the data directory as served by this process (whoever held it before). */
export async function claimDataDir(dataDir: string): Promise<() => Promise<void>> {
  const file = join(dataDir, PID_FILE);
  await writeFile(file, `${process.pid} serve\n`, { mode: 0o644 });
  return releaser(file);
}

export class DataDirBusyError extends Error {
  readonly holder: DataDirHolder;
  constructor(dataDir: string, holder: DataDirHolder) {
    super(
      holder.role === "serve"
        ? `a running vpncp (pid ${holder.pid}) holds ${dataDir}: change it through its API (--url and --hash), or stop it first`
        : `another vpncp command (pid ${holder.pid}) is still changing ${dataDir}`,
    );
    this.name = "DataDirBusyError";
    this.holder = holder;
  }
}

/**
 * An operator command that changes records: takes the data directory for itself, waiting up to
 * `waitMs` for another operator command to finish; refuses at once when a vpncp serves it.
 */
export async function lockDataDir(dataDir: string, waitMs = 30_000): Promise<() => Promise<void>> {
  const file = join(dataDir, PID_FILE);
  const deadline = Date.now() + waitMs;
  for (;;) {
    try {
      const handle = await open(file, "wx", 0o644);
      try {
        await handle.writeFile(`${process.pid} operator\n`);
      } finally {
        await handle.close();
      }
      return releaser(file);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
    }
    const holder = dataDirHolder(dataDir);
    if (holder === null) {
      // left by a process that is gone: take it over (a racing taker fails on "wx" and looks again)
      await rm(file, { force: true });
      continue;
    }
    if (holder.role === "serve" || Date.now() >= deadline) throw new DataDirBusyError(dataDir, holder);
    await new Promise((r) => setTimeout(r, 50));
  }
}
