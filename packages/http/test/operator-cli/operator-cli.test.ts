import type { ChildProcess } from "node:child_process";
import { existsSync, statSync } from "node:fs";
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { qrErrorCorrectionLevelFor } from "@vpncp/core";
import QRCode from "qrcode";
import { afterAll, afterEach, beforeAll, describe, expect, test } from "vitest";
import { VpncpClient } from "../../src/client/index.js";
import { buildPackages, type CliResult, cleanEnv, freePort, killChildren, runCli, type Serving, startServe } from "../support/cli.js";

const HASH = "0123456789abcdef".repeat(5);

const dirs: string[] = [];
async function tempDir(prefix = "vpncp-op-"): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  dirs.push(dir);
  return dir;
}

/** Runs `vpncp …` as a user would, in `cwd` (a directory without a config file unless the test writes one). */
function cli(args: string[], options: { env?: Record<string, string>; cwd?: string } = {}): Promise<CliResult> {
  return runCli(args, { cwd: options.cwd ?? cwdWithoutConfig, env: options.env });
}

/** The command succeeded; its stdout parsed as JSON. */
async function json<T = unknown>(args: string[], env?: Record<string, string>): Promise<T> {
  const result = await cli([...args, "--json"], { env });
  expect(result, result.stderr).toMatchObject({ code: 0 });
  return JSON.parse(result.stdout) as T;
}

const children = new Set<ChildProcess>();

/** `vpncp serve` on fake drivers with the test's access hash; resolves once it listens. */
async function serve(dataDir: string): Promise<Serving> {
  const port = await freePort();
  return startServe(["--port", String(port), "--data-dir", dataDir, "--access-hash", HASH], {
    cwd: cwdWithoutConfig,
    env: cleanEnv({ VPNCP_TIMEZONE: "UTC" }),
    children,
  });
}

let cwdWithoutConfig = "";

beforeAll(async () => {
  cwdWithoutConfig = await tempDir("vpncp-op-cwd-");
  await buildPackages();
}, 300_000);

afterEach(() => {
  killChildren(children);
});

afterAll(async () => {
  for (const dir of dirs) await rm(dir, { recursive: true, force: true });
});

describe("operator commands against a running vpncp", () => {
  test("each command through the API: --json gives the API's objects, tables for people, refusals exit 1 with the sentence, usage errors 2", async () => {
    const dataDir = await tempDir();
    const server = await serve(dataDir);
    const env = { VPNCP_URL: server.url, VPNCP_ACCESS_HASH: HASH };
    const api = new VpncpClient({ baseUrl: server.url, accessHash: HASH });

    // servers
    const s1 = await json<{ name: string }>(
      ["server", "add", "--name", "s1", "--address", "10.0.110.1/24", "--external-ip", "203.0.113.5"],
      env,
    );
    expect(s1).toEqual(await api.getWireguardServer("s1"));
    const [servers, edited] = await Promise.all([
      json(["server", "list"], env),
      json<{ b_download: string }>(["server", "edit", "s1", "--download", "30"], env),
    ]);
    expect(Object.keys(servers as object)).toEqual(["s1"]);
    expect(edited.b_download).toBe("30");

    // accounts: add, refused add, usage error
    const alice = await json<{ name: string; allowed_IPs: string }>(
      ["account", "add", "--server", "s1", "--name", "alice", "--download", "20"],
      env,
    );
    expect(alice).toEqual(await api.getAccount("alice"));
    const [taken, noServer, noName] = await Promise.all([
      cli(["account", "add", "--server", "s1", "--name", "alice"], { env }),
      cli(["account", "add", "--name", "bob"], { env }),
      cli(["account", "show"], { env }),
    ]);
    expect(taken).toEqual({ code: 1, stdout: "", stderr: "vpncp: The name is already in use\n" });
    expect(noServer.code).toBe(2);
    expect(noServer.stderr).toContain("--server");
    expect(noName.code).toBe(2);

    // reads: list (JSON and table), show, config, qr, stats
    const [list, table, show, config, qr, stats] = await Promise.all([
      json(["account", "list"], env),
      cli(["account", "list"], { env }),
      json(["account", "show", "alice"], env),
      cli(["account", "config", "alice"], { env }),
      cli(["account", "qr", "alice"], { env }),
      json(["stats", "alice", "2026", "11"], env),
    ]);
    expect(list).toEqual(await api.listAccounts());
    expect(table.stdout).toMatch(/│ alice +│ s1 +│ 10\.0\.110\.2 /);
    expect(show).toEqual(await api.getAccount("alice"));
    const configText = await api.accountConfigText("alice");
    expect(config.stdout).toBe(configText.endsWith("\n") ? configText : `${configText}\n`);
    const drawn = await QRCode.toString(configText, {
      type: "terminal",
      small: true,
      errorCorrectionLevel: qrErrorCorrectionLevelFor(configText) ?? "L",
    });
    expect(qr.stdout.trimEnd()).toBe(drawn.trimEnd());
    expect(stats).toEqual(await api.accountTrafficStatistics("alice", 2026, 11));
    expect(stats).toHaveLength(30);

    // the flags work like the environment, and a one-time link opens once
    const link = await cli(["account", "otl", "alice", "--url", server.url, "--hash", HASH]);
    expect(link.code).toBe(0);
    expect(link.stdout).toMatch(new RegExp(`^${server.url}/otl/[0-9a-f]{80}\\n$`));
    expect((await fetch(link.stdout.trim())).status).toBe(200);

    // edits and deletes, and what the API then refuses
    const disabled = await json<{ status: string }>(["account", "edit", "alice", "--status", "disable"], env);
    expect(disabled.status).toBe("disable");
    const busy = await cli(["server", "delete", "s1"], { env });
    expect(busy).toMatchObject({ code: 1, stderr: "vpncp: Cannot be deleted. There are active peers.\n" });
    expect(await cli(["account", "delete", "alice"], { env })).toMatchObject({ code: 0, stdout: "deleted account alice\n" });
    const [gone, reload, deletedServer] = await Promise.all([
      cli(["account", "show", "alice"], { env }),
      json(["reload"], env),
      cli(["server", "delete", "s1", "--json"], { env }),
    ]);
    expect(gone).toMatchObject({ code: 1, stderr: "vpncp: Account not found\n" });
    expect(reload).toBe("success");
    expect(deletedServer).toMatchObject({ code: 0, stdout: '"success"\n' });

    // wrong hash: the API refuses (1); nothing listening: unreachable (3); a running vpncp's data dir is not written behind its back (2)
    const deadUrl = `http://127.0.0.1:${await freePort()}`;
    const [unauthorized, unreachable, held, bothTargets] = await Promise.all([
      cli(["server", "list"], { env: { ...env, VPNCP_ACCESS_HASH: "f".repeat(80) } }),
      cli(["server", "list", "--url", deadUrl, "--hash", HASH]),
      cli(["server", "add", "--data-dir", dataDir]),
      cli(["server", "list", "--url", server.url, "--data-dir", dataDir]),
    ]);
    expect(unauthorized).toMatchObject({ code: 1, stderr: "vpncp: Not authorized\n" });
    expect(unreachable.code).toBe(3);
    expect(unreachable.stderr).toContain(`Cannot reach vpncp at ${deadUrl}`);
    expect(held.code).toBe(2);
    expect(held.stderr).toContain(`a running vpncp (pid ${server.child.pid}) holds ${dataDir}`);
    expect(bothTargets.code).toBe(2);
    expect(await api.listWireguardServers()).toEqual({});
    await server.stop();
  }, 90_000);

  test("URL and hash come from the config file; an unknown command is a usage error; --help documents the exit codes", async () => {
    const server = await serve(await tempDir());
    const cwd = await tempDir("vpncp-op-config-");
    await writeFile(join(cwd, "vpncp.config.json"), JSON.stringify({ url: server.url, accessHash: HASH }));
    const [fromFile, unknown, help] = await Promise.all([
      cli(["server", "add", "--name", "from_file", "--json"], { cwd }),
      cli(["account", "frobnicate"]),
      cli(["account", "--help"]),
    ]);
    expect(fromFile.code).toBe(0);
    expect(JSON.parse(fromFile.stdout).name).toBe("from_file");
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain("unknown command frobnicate");
    expect(help.code).toBe(0);
    expect(help.stdout).toContain("Exit codes: 0 done; 1 refused");
    await server.stop();
  }, 60_000);
});

describe("operator commands on a data directory, export and import", () => {
  test("changes made offline are served at the next start; export → import into a fresh directory answers identically", async () => {
    const source = await tempDir();
    const dir = ["--data-dir", source];
    expect((await cli(["server", "list", "--data-dir", join(source, "missing")])).code).toBe(3);
    await json(["server", "add", ...dir, "--name", "s1", "--address", "10.0.120.1/24", "--external-ip", "198.51.100.4", "--ipv6", "1"]);
    await json(["server", "add", ...dir, "--name", "s2", "--address", "10.0.121.1/24", "--external-ip", "198.51.100.4"]);
    await Promise.all([
      json(["account", "add", ...dir, "--server", "s1", "--name", "alice", "--password", "secret-1"]),
      json(["account", "add", ...dir, "--server", "s2", "--name", "bob", "--status", "disable"]),
    ]);
    const refused = await cli(["account", "add", ...dir, "--server", "s1", "--ip", "10.0.120.2"]);
    expect(refused).toMatchObject({ code: 1, stderr: "vpncp: IP address already in use\n" });
    // traffic the source installation has booked (as its statistics service keeps a past month)
    await mkdir(join(source, "stats/months/2026-10"), { recursive: true });
    await writeFile(join(source, "stats/months/2026-10/alice"), JSON.stringify({ "05": [123456, 7890], "31": [1, 2] }));

    const snapshotFile = join(await tempDir(), "snapshot.json");
    const exported = await cli(["export", ...dir, "--out", snapshotFile]);
    expect(exported.code).toBe(0);
    expect(exported.stderr).toContain("mode 0600");
    expect(statSync(snapshotFile).mode & 0o777).toBe(0o600);
    const snapshot = JSON.parse(await readFile(snapshotFile, "utf8"));
    expect(snapshot).toMatchObject({ format: "vpncp-snapshot", version: 1 });

    // a tampered snapshot is refused whole, naming the problem, and writes nothing
    const tampered = structuredClone(snapshot);
    const bob = tampered.accounts.find((a: { name: string }) => a.name === "bob");
    bob.wgName = "s1";
    bob.allowedIp = "10.0.120.2";
    const tamperedFile = join(await tempDir(), "tampered.json");
    await writeFile(tamperedFile, JSON.stringify(tampered));
    const rejectedDir = join(await tempDir(), "rejected");
    const rejected = await cli(["import", tamperedFile, "--data-dir", rejectedDir]);
    expect(rejected.code).toBe(1);
    // (the two accounts were added at once: either may be the later one)
    expect(rejected.stderr).toMatch(/accounts\[1\] \((alice|bob)\)\.allowedIp: IP address already in use/);
    expect(existsSync(rejectedDir)).toBe(false);

    const target = join(await tempDir(), "moved");
    const imported = await cli(["import", snapshotFile, "--data-dir", target, "--json"]);
    expect(imported.code, imported.stderr).toBe(0);
    expect(JSON.parse(imported.stdout)).toMatchObject({ servers: 2, accounts: 2, statisticsDays: 2 });
    const again = await cli(["import", snapshotFile, "--data-dir", target]);
    expect(again.code).toBe(1);
    expect(again.stderr).toContain("already holds an installation");
    expect((await cli(["import", join(target, "nothing.json"), "--data-dir", await tempDir()])).code).toBe(2);

    const [original, moved] = await Promise.all([serve(source), serve(target)]);
    const answers = async (url: string) => {
      const client = new VpncpClient({ baseUrl: url, accessHash: HASH });
      const accounts = await client.listAccounts();
      return {
        accounts,
        servers: await client.listWireguardServers(),
        configs: await Promise.all(accounts.map((a) => client.accountConfigText(a.name))),
        statistics: await Promise.all(accounts.map((a) => client.accountTrafficStatistics(a.name, 2026, 10))),
      };
    };
    const fromOriginal = await answers(original.url);
    expect(fromOriginal.accounts.map((a) => a.name).sort()).toEqual(["alice", "bob"]);
    const alice = fromOriginal.accounts.findIndex((a) => a.name === "alice");
    expect(fromOriginal.statistics[alice]!.find((d) => d.date === "2026-10-05")).toMatchObject({ traffic_download: 123456 });
    expect(await answers(moved.url)).toEqual(fromOriginal);
    await Promise.all([original.stop(), moved.stop()]);
    // a stopped vpncp leaves no mark behind: the directory can be changed offline again
    expect(await readdir(target)).not.toContain("vpncp.pid");
  }, 120_000);
});
