import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fakeDriversPlugin, type PluginHostSettings, type RunningServer, setupPlugins, startServer } from "@vpncp/http";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import auditLog from "./index.js";

const HASH = "cd".repeat(40);
let dir: string;
let server: RunningServer;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "vpncp-audit-log-"));
  const settings: PluginHostSettings = {
    port: 0,
    host: "127.0.0.1",
    dataDir: join(dir, "data"),
    drivers: "fake",
    firewall: "nftables",
    stateDir: join(dir, "run"),
    trustProxy: false,
  };
  const logger = { info() {}, warn() {}, error() {} };
  // the way `vpncp serve` loads it from { "module": "./index.ts", "options": { … } }
  const plugins = await setupPlugins(
    [
      { plugin: fakeDriversPlugin },
      { plugin: auditLog, options: { file: "logs/audit.jsonl", events: ["account.created", "account.deleted"] } },
    ],
    { mode: "serve", settings, logger, configDir: dir },
  );
  server = await startServer({
    port: 0,
    host: "127.0.0.1",
    dataDir: settings.dataDir,
    plugins,
    accessHash: HASH,
    logger,
    announce: () => {},
  });
});

afterAll(async () => {
  await server?.close();
  await rm(dir, { recursive: true, force: true });
});

describe("the audit-log example plugin", () => {
  test("writes the chosen events as JSON lines and serves them at /plugins/audit-log/entries", async () => {
    await server.vpncp.servers.create({ name: "srv" });
    await server.vpncp.accounts.create({ wgName: "srv", name: "alice" });
    await server.vpncp.accounts.update("alice", { status: "disable" });
    await server.vpncp.accounts.remove("alice");
    await server.vpncp.events.idle();

    const lines = (await readFile(join(dir, "logs/audit.jsonl"), "utf8")).trimEnd().split("\n");
    expect(lines.map((line) => (JSON.parse(line) as { type: string }).type)).toEqual(["account.created", "account.deleted"]);

    const response = await fetch(`${server.url}/plugins/audit-log/entries?limit=1`, { headers: { cookie: `access_hash=${HASH}` } });
    expect(response.status).toBe(200);
    const { entries } = (await response.json()) as { entries: { type: string; account: { name: string } }[] };
    expect(entries.map((e) => [e.type, e.account.name])).toEqual([["account.deleted", "alice"]]);
    expect((await fetch(`${server.url}/plugins/audit-log/entries`)).status).toBe(401);
  });
});
