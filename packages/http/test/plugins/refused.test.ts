import { resolve } from "node:path";
import { afterEach, describe, expect, test } from "vitest";
import { prepareServe } from "../../src/commands/serve.js";
import { ConfigError } from "../../src/config/index.js";
import { captureLogger, configDir, ENV_NAMES } from "./harness.js";

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0)) await cleanup();
});

const fixture = (name: string) => resolve(import.meta.dirname, "fixtures", name);

/** What `vpncp serve` says when it refuses this configuration (and the files beside it). */
async function refusal(config: unknown, files: Record<string, string> = {}, args: Record<string, string> = {}): Promise<ConfigError> {
  const dir = await configDir(config, files);
  cleanups.push(dir.cleanup);
  const { logger } = captureLogger();
  const error = await prepareServe({ config: dir.path, ...args }, { envNames: ENV_NAMES, env: {}, logger, cwd: dir.dir }).then(
    () => null,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(ConfigError);
  return error as ConfigError;
}

describe("a broken plugin or setting is refused at start with the file, the key and what is expected", () => {
  test("a module that does not exist", async () => {
    const error = await refusal({ plugins: ["webhook-typo", "./nowhere/plugin.js"] });
    expect(error.message).toMatch(
      /^vpncp\.config\.json: "plugins\[0\]": module "webhook-typo" was not found \(package webhook-typo is not installed/,
    );
    const second = await refusal({ plugins: [{ module: "./nowhere/plugin.js" }] });
    expect(second.message).toMatch(
      /^vpncp\.config\.json: "plugins\[0\]": module "\.\/nowhere\/plugin\.js" was not found \(\/.+\/nowhere\/plugin\.js does not exist\)$/,
    );
  });

  test("options its schema refuses", async () => {
    expect(
      (await refusal({ plugins: [{ module: "webhook", options: { url: "not a url", secret: "a-webhook-secret-of-some-length" } }] }))
        .message,
    ).toBe('vpncp.config.json: "plugins[0].options.url" must be a URL, got "not a url"');
    expect((await refusal({ plugins: [{ module: "webhook", options: { url: "https://crm.example.com/hook" } }] })).message).toBe(
      'vpncp.config.json: "plugins[0].options.secret" must be a string, got nothing',
    );
    expect(
      (
        await refusal({
          plugins: [
            { module: "webhook", options: { url: "https://crm.example.com/hook", secret: "a-webhook-secret-of-some-length", retries: 3 } },
          ],
        })
      ).message,
    ).toBe('vpncp.config.json: "plugins[0].options.retries" is not a known option');
    const own = await refusal({ plugins: ["metrics", { module: fixture("limits.ts"), options: { max: -1 } }] });
    expect(own.message).toBe('vpncp.config.json: "plugins[1].options.max" must be at least 1, got -1');
    expect(own.key).toBe("plugins[1].options.max");
  });

  test("a setup that throws, a module without a plugin, a module that fails to load, and two plugins of one name", async () => {
    const throwing = await refusal({ plugins: [{ module: fixture("boom.ts") }] });
    expect(throwing.message).toBe('vpncp.config.json: "plugins[0]": plugin "boom" failed to set up: cannot reach the router at 192.0.2.1');
    const empty = await refusal({ plugins: [fixture("empty.ts")] });
    expect(empty.message).toBe(
      `vpncp.config.json: "plugins[0]": module "${fixture("empty.ts")}" exports no plugin (export default definePlugin({ name, options, setup }) from "@vpncp/http")`,
    );
    const broken = await refusal({ plugins: [fixture("throws-on-import.ts")] });
    expect(broken.message).toBe(
      `vpncp.config.json: "plugins[0]": module "${fixture("throws-on-import.ts")}" failed to load (top-level failure in a plugin module)`,
    );
    const twice = await refusal({
      plugins: [
        { module: "webhook", options: { url: "https://a.example.com/", secret: "a-webhook-secret-of-some-length" } },
        { module: "webhook", options: { url: "https://b.example.com/", secret: "a-webhook-secret-of-some-length" } },
      ],
    });
    expect(twice.message).toBe('vpncp.config.json: "plugins[1]": plugin "webhook" is already loaded (plugins[0])');
  });

  test("settings: the file's own keys, then flags and environment variables named as given", async () => {
    expect((await refusal({ port: "abc" })).message).toBe('vpncp.config.json: "port" must be a whole number 0–65535, got "abc"');
    expect((await refusal({ drivers: "kernel" })).message).toBe('vpncp.config.json: "drivers" must be "fake" or "system", got "kernel"');
    expect((await refusal({}, {}, { port: "http" })).message).toBe('--port must be a number from 0 to 65535, got "http"');
    expect((await refusal({}, {}, { drivers: "magic" })).message).toBe('--drivers must be fake or system, got "magic"');
  });
});
