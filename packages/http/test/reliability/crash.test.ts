/**
 * Issue 8 point 2 (crash safety), fake drivers: a vpncp process receives a stream of
 * creates, edits and deletes and is SIGKILLed at a random point (seeded); started again on
 * the same data directory, every acknowledged change is there, every record parses, and
 * after the start-up reconcile the drivers hold exactly what storage says. Several rounds
 * on one data directory, so each start also recovers from the previous kill.
 * The system drivers' version is test/e2e/crash.system.test.ts.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import type { AccountRecord, ServerRecord } from "@vpncp/core";
import { afterAll, afterEach, describe, expect, test } from "vitest";
import { stopChild } from "../support/child-process.js";
import { fetchApi } from "../support/form-api.js";
import { mulberry32 } from "../support/prng.js";
import { type DriverState, expectedDriverState, readDataDir } from "./state.js";

const ROOT = resolve(import.meta.dirname, "../../../..");
const CHILD = join(import.meta.dirname, "crash-child.ts");
const JITI = join(ROOT, "node_modules/jiti/lib/jiti-cli.mjs");
const HASH = "d1e5".repeat(20);
const SEED = 2_026_1123;
const ROUNDS = 4;

interface Child {
  readonly process: ChildProcess;
  readonly url: string;
  api<T = unknown>(
    method: string,
    path: string,
    fields?: Record<string, string | number>,
  ): Promise<{ status: number; msg: T; error: string }>;
  state(): Promise<{ drivers: DriverState; servers: ServerRecord[]; accounts: AccountRecord[]; status: { status: string } }>;
}

const children = new Set<ChildProcess>();

async function startChild(dataDir: string): Promise<Child> {
  const child = spawn(process.execPath, ["--conditions=@vpncp/source", JITI, CHILD, dataDir, HASH], {
    cwd: ROOT,
    stdio: ["ignore", "pipe", "pipe"],
  });
  children.add(child);
  let out = "";
  const port = await new Promise<number>((done, fail) => {
    const timer = setTimeout(() => fail(new Error(`the child did not start:\n${out}`)), 30_000);
    const onData = (chunk: Buffer) => {
      out += chunk.toString();
      const match = /^listening (\d+)$/m.exec(out);
      if (match) {
        clearTimeout(timer);
        done(Number(match[1]));
      }
    };
    child.stdout!.on("data", onData);
    child.stderr!.on("data", onData);
    child.once("exit", (code) => {
      clearTimeout(timer);
      fail(new Error(`the child exited (${code}) while starting:\n${out}`));
    });
  });
  const url = `http://127.0.0.1:${port}`;
  return {
    process: child,
    url,
    api: fetchApi(url, HASH),
    async state() {
      return (await (await fetch(`${url}/test/state`)).json()) as never;
    },
  };
}

/** What the test knows of an account: the last acknowledged fields, and changes sent but not answered. */
interface Known {
  acked: Partial<Record<"exists" | "bDownload" | "status" | "password", unknown>> & { exists: boolean };
  /** Outcomes the account may show because a request was in flight at the kill. */
  pending: Partial<Record<"exists" | "bDownload" | "status" | "password", unknown>>[];
}

describe("crash safety with the fake drivers: SIGKILL during a stream of changes, then a restart", () => {
  const dataDir = mkdtempSync(join(tmpdir(), "vpncp-crash-"));

  afterEach(async () => {
    for (const child of children) await stopChild(child, "SIGKILL");
    children.clear();
  });
  afterAll(() => {
    rmSync(dataDir, { recursive: true, force: true });
  });

  test(`${ROUNDS} kills at random points (seed ${SEED}): acknowledged changes survive, records parse, drivers equal storage`, async () => {
    const random = mulberry32(SEED);
    const known = new Map<string, Known>();
    let counter = 0;

    let child = await startChild(dataDir);
    const made = await child.api("POST", "/api/v1/wireguard", { name: "crashsrv", address: "10.70.0.1/22", ipv6: 1 });
    expect(made.error).toBe("");

    for (let round = 0; round < ROUNDS; round += 1) {
      const current = child;
      let killed = false;
      // 8 clients, each sending changes one after the other until the kill
      const client = async () => {
        while (!killed) {
          const pick = random();
          const names = [...known.keys()].filter((n) => known.get(n)!.acked.exists);
          let name: string;
          let change: Known["pending"][number];
          let request: Promise<{ status: number; error: string }>;
          if (pick < 0.45 || names.length < 5) {
            counter += 1;
            name = `crash_${counter}`;
            change = { exists: true, bDownload: counter % 50, status: "enable" };
            known.set(name, known.get(name) ?? { acked: { exists: false }, pending: [] });
            request = current.api("POST", "/api/v1/account", { wg_name: "crashsrv", name, b_download: counter % 50 });
          } else {
            name = names[Math.floor(random() * names.length)]!;
            const kind = random();
            if (kind < 0.1) {
              change = { exists: false };
              request = current.api("DELETE", `/api/v1/account/${name}`);
            } else if (kind < 0.4) {
              change = { status: random() < 0.5 ? "disable" : "enable" };
              request = current.api("PUT", `/api/v1/account/${name}`, { status: change.status as string });
            } else if (kind < 0.7) {
              change = { bDownload: Math.floor(random() * 10_000) };
              request = current.api("PUT", `/api/v1/account/${name}`, { b_download: change.bDownload as number });
            } else {
              change = { password: `pw-${Math.floor(random() * 1e9).toString(36)}` };
              request = current.api("PUT", `/api/v1/account/${name}`, { password: change.password as string });
            }
          }
          const entry = known.get(name)!;
          entry.pending.push(change);
          try {
            const answer = await request;
            entry.pending.splice(entry.pending.indexOf(change), 1);
            if (answer.status === 200) Object.assign(entry.acked, change);
            else if (answer.status >= 500) throw new Error(`${name}: ${answer.status} ${answer.error}`);
          } catch (error) {
            // the connection died with the process: the change stays pending (it may or may not have been stored)
            if (!killed) throw error;
            return;
          }
        }
      };
      const clients = Array.from({ length: 8 }, client);
      await new Promise((r) => setTimeout(r, 80 + Math.floor(random() * 500)));
      killed = true;
      await stopChild(current.process, "SIGKILL");
      await Promise.all(clients);
      const inFlight = [...known.values()].reduce((n, e) => n + e.pending.length, 0);

      // every record on disk parses (a torn write would not)
      const stored = readDataDir(dataDir);
      const corrupt = Object.entries(stored).filter(([, v]) => typeof v === "object" && v !== null && "corrupt" in v);
      expect(corrupt.map(([k]) => k)).toEqual([]);

      const started = performance.now();
      child = await startChild(dataDir);
      console.log(
        `[crash] round ${round}: ${known.size} accounts known, ${inFlight} changes in flight at the kill, restart ${Math.round(performance.now() - started)} ms`,
      );
      const after = await child.state();
      expect(after.status.status).toBe("OK");
      // the start-up reconcile made the drivers hold what storage holds
      expect(after.drivers).toEqual(expectedDriverState(after.servers, after.accounts));
      expect(after.accounts.map((a) => a.name).sort()).toEqual(
        Object.keys(stored)
          .filter((k) => k.startsWith("accounts:"))
          .map((k) => k.slice("accounts:".length))
          .sort(),
      );

      // every acknowledged change is there; an account with a change in flight shows it or not
      const byName = new Map(after.accounts.map((a) => [a.name, a]));
      const lost: string[] = [];
      for (const [name, entry] of known) {
        const account = byName.get(name);
        const seen = { exists: !!account, bDownload: account?.bDownload, status: account?.status, password: account?.password };
        const matches = (expected: Known["acked"]) =>
          Object.entries(expected).every(([k, v]) => (k !== "exists" && !seen.exists) || seen[k as keyof typeof seen] === v);
        const candidates = [entry.acked, ...entry.pending.map((p) => ({ ...entry.acked, ...p }))];
        if (!candidates.some((c) => matches(c as Known["acked"])))
          lost.push(`${name}: ${JSON.stringify(seen)} vs ${JSON.stringify(candidates)}`);
        // what it shows now is the new acknowledged state
        entry.acked = { ...seen, exists: seen.exists };
        entry.pending = [];
      }
      expect(lost).toEqual([]);
    }
    expect(known.size).toBeGreaterThan(ROUNDS * 5);
    await stopChild(child.process, "SIGKILL");
  });
});
