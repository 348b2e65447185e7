import { randomBytes } from "node:crypto";
import { promises as fsp, readFileSync } from "node:fs";
import { dirname, join, relative, resolve, sep } from "node:path";
import { defineDriver } from "unstorage";

export const DRIVER_NAME = "fs-atomic";

export interface FsAtomicOptions {
  /** The data directory. */
  readonly base: string;
  /** File mode of records (they hold keys and passwords). */
  readonly mode?: number;
}

const TMP_DIR = ".tmp";
const SEGMENT_RE = /^[A-Za-z0-9_.@-]+$/;

function notFound(error: unknown): boolean {
  const code = (error as NodeJS.ErrnoException).code;
  return code === "ENOENT" || code === "ENOTDIR";
}

async function syncDirectory(path: string): Promise<void> {
  const handle = await fsp.open(path, "r");
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

export interface WriteFileAtomicallyOptions {
  /** Mode of the new file (default 0600: records and snapshots hold keys and passwords). */
  readonly mode?: number;
  /** Where the temporary file goes (default: beside `path`); it must be on the same file system. */
  readonly tmpDir?: string;
}

/**
 * Writes `data` to `path` whole or not at all: a temporary file, fsynced, renamed over `path`,
 * then the directory fsynced. A reader, or the next start after a kill -9 or a power loss, sees
 * the old or the new content, never a torn one. The temporary file is created exclusively, so
 * nothing already at its name (a symlink planted in a shared directory) is written through.
 */
export async function writeFileAtomically(
  path: string,
  data: string | Uint8Array,
  options: WriteFileAtomicallyOptions = {},
): Promise<void> {
  const tmp = join(options.tmpDir ?? dirname(path), `.${randomBytes(8).toString("hex")}.tmp`);
  const handle = await fsp.open(tmp, "wx", options.mode ?? 0o600);
  try {
    await handle.writeFile(data);
    await handle.sync();
  } finally {
    await handle.close();
  }
  try {
    await fsp.rename(tmp, path);
  } catch (error) {
    await fsp.rm(tmp, { force: true });
    throw error;
  }
  // the rename lives in the directory: without this a power loss (unlike a kill) may undo an acknowledged write
  await syncDirectory(dirname(path));
}

/**
 * unstorage's fs driver writes files in place, so a crash mid-write leaves a
 * torn record. This one writes a temporary file in the same directory tree,
 * fsyncs it and renames it over the old one: a reader (or the next start after
 * kill -9) sees the old or the new record, never a broken one. Temporary files
 * live under `.tmp/` so key listings never see them.
 */
export const fsAtomicDriver = defineDriver((options: FsAtomicOptions) => {
  if (!options?.base) throw new Error(`[unstorage] [${DRIVER_NAME}] missing required option \`base\``);
  const base = resolve(options.base);
  const mode = options.mode ?? 0o600;
  const tmpDir = join(base, TMP_DIR);

  const pathOf = (key: string): string => {
    const segments = key.split(":").filter(Boolean);
    if (segments.length === 0 || segments.some((s) => !SEGMENT_RE.test(s) || s === "." || s === ".." || s === TMP_DIR)) {
      throw new Error(`[unstorage] [${DRIVER_NAME}] invalid key: ${JSON.stringify(key)}`);
    }
    return join(base, ...segments);
  };

  const write = async (key: string, data: string | Uint8Array): Promise<void> => {
    const target = pathOf(key);
    await fsp.mkdir(dirname(target), { recursive: true, mode: 0o700 });
    await fsp.mkdir(tmpDir, { recursive: true, mode: 0o700 });
    await writeFileAtomically(target, data, { mode, tmpDir });
  };

  const read = async (key: string, encoding?: "utf8"): Promise<string | Buffer | null> => {
    try {
      return await fsp.readFile(pathOf(key), encoding ? { encoding } : undefined);
    } catch (error) {
      if (notFound(error) || (error as NodeJS.ErrnoException).code === "EISDIR") return null;
      throw error;
    }
  };

  const readNow = (key: string): string | null => {
    try {
      return readFileSync(pathOf(key), "utf8");
    } catch (error) {
      if (notFound(error) || (error as NodeJS.ErrnoException).code === "EISDIR") return null;
      throw error;
    }
  };

  const listFiles = async (dir: string): Promise<string[]> => {
    let entries: import("node:fs").Dirent[];
    try {
      entries = await fsp.readdir(dir, { withFileTypes: true });
    } catch (error) {
      if (notFound(error)) return [];
      throw error;
    }
    const out: string[] = [];
    await Promise.all(
      entries.map(async (entry) => {
        const full = join(dir, entry.name);
        if (entry.isDirectory()) {
          if (full !== tmpDir) out.push(...(await listFiles(full)));
        } else if (entry.isFile()) {
          out.push(relative(base, full).split(sep).join(":"));
        }
      }),
    );
    return out;
  };

  return {
    name: DRIVER_NAME,
    options,
    async hasItem(key) {
      try {
        return (await fsp.stat(pathOf(key))).isFile();
      } catch (error) {
        if (notFound(error)) return false;
        throw error;
      }
    },
    getItem: (key) => read(key, "utf8") as Promise<string | null>,
    getItemRaw: (key) => read(key),
    // A batch is the inventory at start (10,000 records and more): small files read one after the
    // other take ~50 ms for 10,000, one promise per file through the thread pool ~0.7 s.
    getItems: async (items) => items.map(({ key }) => ({ key, value: readNow(key) })),
    setItem: (key, value) => write(key, value),
    setItemRaw: (key, value) => write(key, value),
    async removeItem(key) {
      // one unlink: fs.rm adds an lstat and its rimraf path (3× the time of a removal, and one more
      // metadata call to wait behind the journal when other processes fsync)
      const path = pathOf(key);
      try {
        await fsp.unlink(path);
      } catch (error) {
        if (notFound(error)) return;
        throw error;
      }
      await syncDirectory(dirname(path));
    },
    async getKeys(prefix) {
      // list only below the prefix: the data directory also holds statistics and links
      const segments = (prefix ?? "").split(":").filter(Boolean);
      const dir = segments.length > 0 && segments.every((s) => SEGMENT_RE.test(s)) ? join(base, ...segments) : base;
      return listFiles(dir);
    },
    async clear() {
      for (const entry of await fsp.readdir(base).catch(() => [] as string[])) {
        await fsp.rm(join(base, entry), { recursive: true, force: true });
      }
    },
    async dispose() {
      await fsp.rm(tmpDir, { recursive: true, force: true });
    },
  };
});

export default fsAtomicDriver;
