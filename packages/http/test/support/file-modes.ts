import { readdirSync, statSync } from "node:fs";
import { join } from "node:path";

/** `dir` and every directory below it, and every regular file below it, each with its permission bits. */
export function modesUnder(dir: string): { dirs: [string, number][]; files: [string, number][] } {
  const dirs: [string, number][] = [[dir, statSync(dir).mode & 0o777]];
  const files: [string, number][] = [];
  const walk = (at: string) => {
    for (const entry of readdirSync(at, { withFileTypes: true })) {
      const full = join(at, entry.name);
      if (entry.isDirectory()) {
        dirs.push([full, statSync(full).mode & 0o777]);
        walk(full);
      } else if (entry.isFile()) files.push([full, statSync(full).mode & 0o777]);
    }
  };
  walk(dir);
  return { dirs, files };
}

/** Regular files under `dir` that group or others may read (none of them may hold a secret). */
export function filesReadableByOthers(dir: string): string[] {
  return modesUnder(dir)
    .files.filter(([, mode]) => (mode & 0o044) !== 0)
    .map(([file]) => file);
}
