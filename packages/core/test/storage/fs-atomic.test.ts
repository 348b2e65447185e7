import { spawn } from "node:child_process";
import { mkdtemp, readdir, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import ts from "typescript";
import { createStorage } from "unstorage";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { fsAtomicDriver, writeFileAtomically } from "../../src/storage/fs-atomic.js";

const here = dirname(fileURLToPath(import.meta.url));
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "vpncp-fs-"));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("fs-atomic storage driver", () => {
  test("stores records as files named by key, mode 0600, and lists keys below a prefix only", async () => {
    const storage = createStorage({ driver: fsAtomicDriver({ base: join(dir, "basic") }) });
    await storage.setItem("accounts:peer_10", { name: "peer_10" });
    await storage.setItem("accounts:peer_11", { name: "peer_11" });
    await storage.setItem("servers:wg0", { name: "wg0" });
    expect(await storage.getItem("accounts:peer_10")).toEqual({ name: "peer_10" });
    expect((await storage.getKeys("accounts")).sort()).toEqual(["accounts:peer_10", "accounts:peer_11"]);
    expect(((await stat(join(dir, "basic", "accounts", "peer_10"))).mode & 0o777).toString(8)).toBe("600");
    await storage.removeItem("accounts:peer_10");
    expect(await storage.getItem("accounts:peer_10")).toBeNull();
    expect(await storage.hasItem("accounts:peer_11")).toBe(true);
    await expect(storage.setItem("accounts:../../etc", "x")).rejects.toThrow(/invalid key/i);
  });

  test("getItems reads many records in one call, null for one that is missing", async () => {
    const storage = createStorage({ driver: fsAtomicDriver({ base: join(dir, "batch") }) });
    await storage.setItem("accounts:a", { name: "a" });
    await storage.setItem("accounts:b", { name: "b" });
    expect(await storage.getItems(["accounts:a", "accounts:missing", "accounts:b"])).toEqual([
      { key: "accounts:a", value: { name: "a" } },
      { key: "accounts:missing", value: null },
      { key: "accounts:b", value: { name: "b" } },
    ]);
  });

  test("a writer killed with SIGKILL mid-write leaves the old or the new record, never a torn one", async () => {
    // run the driver in a child process (transpiled from its source) that rewrites one large record in a loop
    const source = await readFile(join(here, "../../src/storage/fs-atomic.ts"), "utf8");
    const js = ts.transpileModule(source, { compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 } }).outputText;
    const driverFile = join(here, `.fs-atomic-${process.pid}.mjs`);
    const childFile = join(here, `.fs-atomic-writer-${process.pid}.mjs`);
    await writeFile(driverFile, js);
    await writeFile(
      childFile,
      `import { createStorage } from "unstorage";
import { fsAtomicDriver } from ${JSON.stringify(driverFile)};
const storage = createStorage({ driver: fsAtomicDriver({ base: process.argv[2] }) });
const filler = "x".repeat(2_000_000);
for (let n = 0; ; n++) {
  await storage.setItem("accounts:big", { n, filler, end: "complete" });
  if (n === 0) process.stdout.write("ready\\n");
}`,
    );
    const base = join(dir, "crash");
    try {
      for (let round = 0; round < 8; round += 1) {
        const child = spawn(process.execPath, [childFile, base], { stdio: ["ignore", "pipe", "inherit"] });
        await new Promise<void>((resolve) => child.stdout.once("data", () => resolve()));
        await new Promise((resolve) => setTimeout(resolve, 20 + Math.random() * 80));
        child.kill("SIGKILL");
        await new Promise((resolve) => child.once("exit", resolve));
        const text = await readFile(join(base, "accounts", "big"), "utf8");
        const record = JSON.parse(text) as { n: number; end: string };
        expect(record.end).toBe("complete");
      }
      // temporary files never show up as keys
      const storage = createStorage({ driver: fsAtomicDriver({ base }) });
      expect(await storage.getKeys("")).toEqual(["accounts:big"]);
      expect((await readdir(join(base, "accounts"))).sort()).toEqual(["big"]);
    } finally {
      await rm(driverFile, { force: true });
      await rm(childFile, { force: true });
    }
  });
});

describe("writeFileAtomically (records, and `vpncp export --out`)", () => {
  test("replaces a file whole with a private one and leaves no temporary file; a failed write leaves the old file", async () => {
    const base = await mkdtemp(join(dir, "write-"));
    const target = join(base, "snapshot.json");
    await writeFile(target, "old", { mode: 0o644 });
    await writeFileAtomically(target, "new");
    expect(await readFile(target, "utf8")).toBe("new");
    expect(((await stat(target)).mode & 0o777).toString(8)).toBe("600");
    expect(await readdir(base)).toEqual(["snapshot.json"]);
    // a directory in the way: the rename fails, the temporary file goes
    await expect(writeFileAtomically(base, "x", { tmpDir: base })).rejects.toThrow();
    expect(await readdir(base)).toEqual(["snapshot.json"]);
    expect(await readFile(target, "utf8")).toBe("new");
  });
});
