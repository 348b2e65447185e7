import { spawnSync } from "node:child_process";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, test } from "vitest";
import { claimDataDir, DataDirBusyError, dataDirHolder, lockDataDir, PID_FILE } from "../../src/data-dir-lock.js";

const dirs: string[] = [];
afterEach(async () => {
  for (const dir of dirs.splice(0)) await rm(dir, { recursive: true, force: true });
});

async function dataDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "vpncp-lock-"));
  dirs.push(dir);
  return dir;
}

/** A live process that is not this one: the test runner's parent. */
const otherLivePid = process.ppid;

describe("the data directory mark", () => {
  test("a directory a live vpncp serves is refused at once; released, it can be taken", async () => {
    const dir = await dataDir();
    await writeFile(join(dir, PID_FILE), `${otherLivePid} serve\n`);
    expect(dataDirHolder(dir)).toEqual({ pid: otherLivePid, role: "serve" });
    const error = await lockDataDir(dir, 5_000).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DataDirBusyError);
    expect((error as Error).message).toBe(
      `a running vpncp (pid ${otherLivePid}) holds ${dir}: change it through its API (--url and --hash), or stop it first`,
    );

    await rm(join(dir, PID_FILE));
    const unlock = await lockDataDir(dir);
    expect(await readFile(join(dir, PID_FILE), "utf8")).toBe(`${process.pid} operator\n`);
    await unlock();
    expect(dataDirHolder(dir)).toBeNull();
  });

  test("another operator command is waited for, up to the limit", async () => {
    const dir = await dataDir();
    await writeFile(join(dir, PID_FILE), `${otherLivePid} operator\n`);
    await expect(lockDataDir(dir, 150)).rejects.toThrow(`another vpncp command (pid ${otherLivePid}) is still changing ${dir}`);
    setTimeout(() => void rm(join(dir, PID_FILE)), 100);
    const unlock = await lockDataDir(dir, 5_000);
    await unlock();
  });

  test("a mark left by a process that is gone is taken over; serve's release leaves another holder's mark alone", async () => {
    const dir = await dataDir();
    const gone = spawnSync(process.execPath, ["-e", ""]).pid!;
    await writeFile(join(dir, PID_FILE), `${gone} serve\n`);
    expect(dataDirHolder(dir)).toBeNull();
    const unlock = await lockDataDir(dir, 0);
    await unlock();

    const release = await claimDataDir(dir);
    await writeFile(join(dir, PID_FILE), `${otherLivePid} serve\n`);
    await release();
    expect(dataDirHolder(dir)?.pid).toBe(otherLivePid);
  });
});
