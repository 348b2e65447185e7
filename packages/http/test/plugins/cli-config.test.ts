import type { ChildProcess } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { buildPackages, cleanEnv, freePort, killChildren, ROOT, runCli, startServe } from "../support/cli.js";

const AUDIT_PLUGIN = join(ROOT, "examples/plugins/audit-log/index.ts");

const children = new Set<ChildProcess>();
let dir: string;

/** `vpncp serve` until its "listening on" line; returns the port it listens on, then stops it. */
async function servedPort(args: string[], env: Record<string, string>): Promise<number> {
  const running = await startServe(args, { cwd: dir, env: cleanEnv(env), children });
  try {
    const { hostname, port } = new URL(running.url);
    expect(hostname).toBe("127.0.0.1");
    return Number(port);
  } finally {
    await running.stop();
  }
}

function cli(args: string[], env: Record<string, string> = {}): Promise<{ stdout: string; stderr: string; code: number }> {
  return runCli(args, { cwd: dir, env });
}

beforeAll(async () => {
  await buildPackages();
  dir = await mkdtemp(join(tmpdir(), "vpncp-cli-config-"));
}, 240_000);

afterAll(async () => {
  killChildren(children);
  await rm(dir, { recursive: true, force: true });
});

describe("vpncp serve with a configuration file (spawned)", () => {
  test("a setting comes from the flag, else the environment, else the file", async () => {
    const [fromFile, fromEnv, fromFlag] = [await freePort(), await freePort(), await freePort()];
    await writeFile(join(dir, "vpncp.config.json"), JSON.stringify({ port: fromFile, dataDir: "data" }));
    // found in the working directory without --config
    expect(await servedPort([], {})).toBe(fromFile);
    expect(await servedPort([], { VPNCP_PORT: String(fromEnv) })).toBe(fromEnv);
    expect(await servedPort(["--port", String(fromFlag)], { VPNCP_PORT: String(fromEnv) })).toBe(fromFlag);
  });

  test("an invalid file or plugin option stops the start: exit 1, one line naming the file and the key, no stack", async () => {
    await writeFile(join(dir, "bad-port.json"), JSON.stringify({ port: "abc" }));
    await writeFile(
      join(dir, "bad-plugin.json"),
      JSON.stringify({ plugins: [{ module: "webhook", options: { url: "https://crm.example.com/" } }] }),
    );
    await writeFile(join(dir, "missing-plugin.json"), JSON.stringify({ plugins: ["./plugins/none.js"] }));
    for (const [args, env, line] of [
      [["--config", "bad-port.json"], {}, 'vpncp: bad-port.json: "port" must be a whole number 0–65535, got "abc"'],
      [[], { VPNCP_CONFIG: "bad-plugin.json" }, 'vpncp: bad-plugin.json: "plugins[0].options.secret" must be a string, got nothing'],
      [
        ["--config", "missing-plugin.json"],
        {},
        `vpncp: missing-plugin.json: "plugins[0]": module "./plugins/none.js" was not found (${join(dir, "plugins/none.js")} does not exist)`,
      ],
      [["--config", "nowhere.json"], {}, "vpncp: nowhere.json: no such configuration file"],
    ] as const) {
      const result = await cli(["serve", ...args], env);
      expect([result.code, result.stderr, result.stdout]).toEqual([1, `${line}\n`, ""]);
    }
  });

  test("a plugin's CLI command runs with the configured plugin (the example audit log, a TypeScript file)", async () => {
    const log = join(dir, "audit.jsonl");
    await writeFile(
      log,
      `${JSON.stringify({ type: "account.created", id: "1" })}\n${JSON.stringify({ type: "account.deleted", id: "2" })}\n`,
    );
    await writeFile(join(dir, "audit.json"), JSON.stringify({ plugins: [{ module: AUDIT_PLUGIN, options: { file: "audit.jsonl" } }] }));
    const result = await cli(["audit-log", "--limit", "1"], { VPNCP_CONFIG: "audit.json" });
    expect([result.code, result.stdout]).toEqual([0, `${JSON.stringify({ type: "account.deleted", id: "2" })}\n`]);
    // without a configuration naming the plugin, the command does not exist
    await writeFile(join(dir, "plain.json"), JSON.stringify({ dataDir: "data" }));
    const unknown = await cli(["audit-log"], { VPNCP_CONFIG: "plain.json" });
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain("Unknown command audit-log");
  });
});
