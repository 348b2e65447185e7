/**
 * Issue 8, point 5 in core: access hashes are stored only as digests (in storage and on disk),
 * and a presented hash is compared with every stored digest through the constant-time
 * comparison, whole and whatever byte differs — no answer comes from a shortcut.
 */
import * as crypto from "node:crypto";
import { mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeEach, describe, expect, test, vi } from "vitest";
import { AccessHashService } from "../../src/domain/access-hash-service.js";
import { createVpncpStorage } from "../../src/storage/create-storage.js";

// the service's one comparison primitive, counted (what it is given, not how long it takes)
vi.mock("node:crypto", async (importOriginal) => {
  const original = await importOriginal<typeof import("node:crypto")>();
  return { ...original, timingSafeEqual: vi.fn(original.timingSafeEqual) };
});
const compare = vi.mocked(crypto.timingSafeEqual);

const clock = { now: () => new Date("2026-01-01T00:00:00Z") };
const dirs: string[] = [];

afterAll(async () => {
  for (const dir of dirs) await rm(dir, { recursive: true, force: true });
});

async function filesUnder(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true, recursive: true })) {
    if (entry.isFile()) out.push(join(entry.parentPath, entry.name));
  }
  return out;
}

describe("access hashes at rest", () => {
  test("storage and the data directory hold digests only, never a hash", async () => {
    const dir = await mkdtemp(join(tmpdir(), "vpncp-hashes-"));
    dirs.push(dir);
    const storage = await createVpncpStorage({ driver: "fs", options: { base: dir } });
    const service = new AccessHashService(storage, clock);
    const made = [await service.create(), await service.create({ ip: "203.0.113.7" })];
    const ensured = "c0ffee".repeat(14).slice(0, 80);
    await service.ensure(ensured);
    const hashes = [...made.map((m) => m.hash), ensured];

    const stored = JSON.stringify(await Promise.all((await storage.getKeys()).map(async (key) => [key, await storage.getItem(key)])));
    const files = await filesUnder(dir);
    expect(files.length).toBeGreaterThan(0);
    const onDisk = (await Promise.all(files.map((file) => readFile(file, "latin1")))).join("\n");
    for (const hash of hashes) {
      const digest = crypto.createHash("sha256").update(hash).digest("hex");
      expect(stored).toContain(digest);
      expect(stored).not.toContain(hash);
      expect(onDisk).not.toContain(hash);
      // nor a recognisable half of it
      expect(onDisk).not.toContain(hash.slice(0, 40));
      expect(onDisk).not.toContain(hash.slice(40));
    }
    expect((await service.list()).map((e) => Object.keys(e).sort())).toEqual(hashes.map(() => ["createdAt", "digest", "id", "ip"]));
    await storage.dispose();
  });
});

describe("verifying a presented hash", () => {
  let service: AccessHashService;
  let hashes: string[];

  beforeEach(async () => {
    const storage = await createVpncpStorage({ driver: "memory" });
    service = new AccessHashService(storage, clock);
    hashes = [];
    for (let i = 0; i < 5; i += 1) hashes.push((await service.create({ ip: i === 4 ? "198.51.100.4" : null })).hash);
    compare.mockClear();
  });

  /** The hash with one hex digit changed at `index`. */
  const flip = (hash: string, index: number) => hash.slice(0, index) + (hash[index] === "0" ? "1" : "0") + hash.slice(index + 1);

  /** What the comparison was given while verifying: how often, and the lengths of both sides. */
  async function comparisons(hash: string, ip = "192.0.2.1"): Promise<{ ok: boolean; calls: number[][] }> {
    compare.mockClear();
    const ok = await service.verify(hash, ip);
    return { ok, calls: compare.mock.calls.map(([a, b]) => [a.byteLength, b.byteLength]) };
  }

  test("compares whole 32-byte digests with every stored one, whether the first byte differs, the last, or none", async () => {
    const everyEntry = Array.from({ length: 5 }, () => [32, 32]);
    const target = hashes[2] ?? "";
    const firstByte = await comparisons(flip(target, 0));
    const lastByte = await comparisons(flip(target, 79));
    const match = await comparisons(target);
    const unknown = await comparisons("9".repeat(80));
    expect(firstByte).toEqual({ ok: false, calls: everyEntry });
    expect(lastByte).toEqual({ ok: false, calls: everyEntry });
    expect(unknown).toEqual({ ok: false, calls: everyEntry });
    // a match does not stop the loop early either
    expect(match).toEqual({ ok: true, calls: everyEntry });
  });

  test("the first stored entry matching changes nothing in how many comparisons are made", async () => {
    const first = await comparisons(hashes[0] ?? "");
    const last = await comparisons(hashes[3] ?? "");
    expect(first.calls).toEqual(last.calls);
    expect(first.ok && last.ok).toBe(true);
  });

  test("a hash bound to an address is compared the same way and refused from elsewhere", async () => {
    const bound = hashes[4] ?? "";
    expect(await comparisons(bound, "198.51.100.4")).toEqual({ ok: true, calls: Array.from({ length: 5 }, () => [32, 32]) });
    expect(await comparisons(bound, "198.51.100.5")).toEqual({ ok: false, calls: Array.from({ length: 5 }, () => [32, 32]) });
    expect(await service.verify(bound, "::ffff:198.51.100.4")).toBe(true);
  });

  test("what is not an 80-hex hash is refused before any comparison (its shape is no secret)", async () => {
    for (const bad of [undefined, "", "abc", `${hashes[0]}0`, (hashes[0] ?? "").toUpperCase()]) {
      compare.mockClear();
      expect(await service.verify(bad, "192.0.2.1")).toBe(false);
      expect(compare).not.toHaveBeenCalled();
    }
  });
});
