import { readFileSync } from "node:fs";
import { readFile, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";

/**
 * `vpncp serve` writes its process id here while it holds a file data directory, so the operator
 * CLI can refuse to change records under a running vpncp (which keeps them in memory and would
 * never see the change, or overwrite it). A file left by a killed vpncp names a dead process and
 * is ignored.
 */
export const PID_FILE = "vpncp.pid";

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it exists, under another user
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** The pid of a live vpncp serving this data directory (other than this process), or null. */
export function dataDirHolder(dataDir: string): number | null {
  let text: string;
  try {
    text = readFileSync(join(dataDir, PID_FILE), "utf8");
  } catch {
    return null;
  }
  const pid = Number(text.trim());
  return Number.isSafeInteger(pid) && pid > 0 && pid !== process.pid && alive(pid) ? pid : null;
}

/** Marks the data directory as served by this process; the returned function unmarks it (only if still ours). */
export async function claimDataDir(dataDir: string): Promise<() => Promise<void>> {
  const file = join(dataDir, PID_FILE);
  await writeFile(file, `${process.pid}\n`, { mode: 0o644 });
  return async () => {
    const text = await readFile(file, "utf8").catch(() => "");
    if (text.trim() === String(process.pid)) await rm(file, { force: true });
  };
}
