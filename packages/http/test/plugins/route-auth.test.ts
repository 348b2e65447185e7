/**
 * A plugin route behind an access hash is guarded by the API's own check: rejected hashes are
 * slowed down and logged there too, and count together with the API's for the same address.
 */
import { resolve } from "node:path";
import { createVpncp, type Vpncp } from "@vpncp/core";
import { createFakeDrivers } from "@vpncp/drivers";
import { afterAll, afterEach, beforeAll, describe, expect, test } from "vitest";
import { createHttpApp } from "../../src/app.js";
import { definePlugin } from "../../src/plugins/define.js";
import { setupPlugins } from "../../src/plugins/host.js";
import { captureLogger, configDir, HASH, serveConfig } from "./harness.js";

const AUDIT_PLUGIN = resolve(import.meta.dirname, "../../../../examples/plugins/audit-log/index.ts");
const WRONG = "f".repeat(80);
const REJECTED = "access rejected: wrong access hash or token";

let vpncp: Vpncp;
let hash: string;

beforeAll(async () => {
  vpncp = await createVpncp({ drivers: createFakeDrivers(), storage: { driver: "memory" }, defaultExternalIp: "203.0.113.10" });
  hash = (await vpncp.accessHashes.create()).hash;
});

afterAll(async () => {
  await vpncp?.close();
});

/** An app with one plugin route behind the access hash and one open route; waits recorded, not slept. */
async function appWithPlugin() {
  const handled: string[] = [];
  const plugin = definePlugin({
    name: "guarded",
    setup(context) {
      context.routes((router) => {
        router.get("/secret", () => {
          handled.push("secret");
          return { secret: true };
        });
      });
      context.routes(
        (router) => {
          router.get("/open", () => ({ open: true }));
        },
        { auth: "none" },
      );
    },
  });
  const { logger, lines } = captureLogger();
  const plugins = await setupPlugins([{ plugin }], {
    mode: "serve",
    settings: { port: 0, host: "127.0.0.1", dataDir: "data", drivers: "fake", firewall: "nftables", stateDir: "run", trustProxy: false },
    logger,
    configDir: process.cwd(),
  });
  const waits: { address: string; ms: number }[] = [];
  const clock = { now: 5_000_000 };
  let current = "";
  const app = createHttpApp(vpncp, {
    logger,
    authFailures: {
      now: () => clock.now,
      sleep: async (ms) => {
        waits.push({ address: current, ms });
        clock.now += ms;
      },
    },
    extend: (target, instance, access) => plugins.extend(target, instance, access),
  });
  const get = async (path: string, address: string, presented: string | null = WRONG) => {
    current = address;
    const headers: Record<string, string> = presented === null ? {} : { cookie: `access_hash=${presented}` };
    return (await app.request(path, { headers }, { clientAddress: address })).status;
  };
  const rejected = () => lines.filter((l) => l.message === REJECTED);
  return { get, waits, handled, rejected, lines };
}

describe("a plugin route behind the access hash", () => {
  test("rejected hashes wait longer and longer for their turn, are logged, and never reach the handler", async () => {
    const { get, waits, handled, rejected, lines } = await appWithPlugin();
    for (let i = 0; i < 7; i += 1) expect(await get("/plugins/guarded/secret", "198.51.100.70")).toBe(401);
    expect(waits.map((w) => w.ms)).toEqual([250, 500, 1000, 2000]);
    expect(handled).toEqual([]);
    expect(rejected().map((l) => [l.fields.address, l.fields.path, l.fields.failures])).toEqual([
      ["198.51.100.70", "/plugins/guarded/secret", 1],
    ]);
    expect(JSON.stringify(lines)).not.toContain(WRONG);
    // another address is not slowed
    expect(await get("/plugins/guarded/secret", "198.51.100.71")).toBe(401);
    expect(waits.filter((w) => w.address === "198.51.100.71")).toEqual([]);
  });

  test("counts together with the API's failures; the right hash waits its turn, is let in and clears them", async () => {
    const { get, waits, handled } = await appWithPlugin();
    for (let i = 0; i < 3; i += 1) expect(await get("/api/v1/account", "198.51.100.72")).toBe(401);
    expect(await get("/plugins/guarded/secret", "198.51.100.72")).toBe(401);
    expect(waits.map((w) => w.ms)).toEqual([250]);
    expect(await get("/plugins/guarded/secret", "198.51.100.72", hash)).toBe(200);
    expect(handled).toEqual(["secret"]);
    expect(waits.map((w) => w.ms)).toEqual([250, 500]);
    // cleared: the next wrong ones start from zero, on the API too
    for (let i = 0; i < 3; i += 1) expect(await get("/api/v1/account", "198.51.100.72")).toBe(401);
    expect(waits).toHaveLength(2);
  });

  test("no hash guesses nothing (refused, not slowed, not logged); a route with auth none is open", async () => {
    const { get, waits, rejected } = await appWithPlugin();
    for (let i = 0; i < 6; i += 1) expect(await get("/plugins/guarded/secret", "198.51.100.73", null)).toBe(401);
    expect(await get("/plugins/guarded/open", "198.51.100.73", null)).toBe(200);
    expect(waits).toEqual([]);
    expect(rejected()).toEqual([]);
  });
});

describe("vpncp serve with a plugin from the configuration file", () => {
  const cleanups: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  test("a wrong hash on the plugin's route is logged like one on the API", async () => {
    const dir = await configDir({ dataDir: "data", plugins: [{ module: AUDIT_PLUGIN, options: { file: "audit.jsonl" } }] });
    cleanups.push(dir.cleanup);
    const { logger, lines } = captureLogger();
    const server = await serveConfig(dir.path, logger);
    cleanups.push(() => server.close());
    const wrong = await fetch(`${server.url}/plugins/audit-log/entries`, { headers: { cookie: `access_hash=${WRONG}` } });
    expect(wrong.status).toBe(401);
    expect(lines.filter((l) => l.message === REJECTED).map((l) => l.fields.path)).toEqual(["/plugins/audit-log/entries"]);
    const right = await fetch(`${server.url}/plugins/audit-log/entries`, { headers: { cookie: `access_hash=${HASH}` } });
    expect(right.status).toBe(200);
  });
});
