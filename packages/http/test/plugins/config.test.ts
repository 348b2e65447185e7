import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { ConfigError, envNameOf, loadConfig, resolveSetting } from "../../src/config/index.js";

let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "vpncp-config-"));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function write(name: string, content: unknown): Promise<string> {
  const file = join(dir, name);
  await writeFile(file, typeof content === "string" ? content : JSON.stringify(content));
  return file;
}

async function refusal(configPath: string): Promise<string> {
  const error = await loadConfig({ configPath, cwd: dir }).then(
    () => null,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(ConfigError);
  return (error as ConfigError).message;
}

describe("loadConfig", () => {
  test("without --config and without a file in the directory there is no configuration", async () => {
    expect(await loadConfig({ cwd: dir })).toEqual({ path: null, config: {} });
  });

  test("reads vpncp.config.json of the working directory; paths in it are relative to the file", async () => {
    const sub = await mkdtemp(join(dir, "found-"));
    await writeFile(
      join(sub, "vpncp.config.json"),
      JSON.stringify({
        port: 9000,
        dataDir: "data",
        drivers: "fake",
        plugins: ["./p.js", "@acme/x", { module: "../q.js", options: { a: 1 } }],
      }),
    );
    const loaded = await loadConfig({ cwd: sub });
    expect(loaded.path).toBe(join(sub, "vpncp.config.json"));
    expect(loaded.config).toEqual({
      port: 9000,
      dataDir: join(sub, "data"),
      drivers: "fake",
      plugins: ["./p.js", "@acme/x", { module: "../q.js", options: { a: 1 } }],
    });
  });

  test("reads a .js file exporting the object as default", async () => {
    await write("conf.mjs", "export default { host: '0.0.0.0', timezone: 'Europe/Warsaw' };");
    expect((await loadConfig({ configPath: "conf.mjs", cwd: dir })).config).toEqual({ host: "0.0.0.0", timezone: "Europe/Warsaw" });
  });

  test("an invalid value is refused naming the file, the key and what is expected", async () => {
    await write("bad-port.json", { port: "abc" });
    expect(await refusal("bad-port.json")).toBe('bad-port.json: "port" must be a whole number 0–65535, got "abc"');
    await write("bad-drivers.json", { drivers: "kernel" });
    expect(await refusal("bad-drivers.json")).toBe('bad-drivers.json: "drivers" must be "fake" or "system", got "kernel"');
    await write("bad-tz.json", { timezone: "Mars/Olympus" });
    expect(await refusal("bad-tz.json")).toBe(
      'bad-tz.json: "timezone" must be an IANA timezone such as "Europe/Warsaw", got "Mars/Olympus"',
    );
    await write("bad-plugin.json", { plugins: ["./ok.js", { module: "" }] });
    expect(await refusal("bad-plugin.json")).toBe(
      'bad-plugin.json: "plugins[1].module" must be a module name or path (a non-empty string), got ""',
    );
  });

  test("an unknown key, broken JSON and a missing file are refused with the file's name", async () => {
    await write("typo.json", { prot: 1 });
    expect(await refusal("typo.json")).toMatch(/^typo\.json: "prot" is not a setting vpncp knows \(known: port, host, /);
    await write("broken.json", "{ port: 1");
    expect(await refusal("broken.json")).toMatch(/^broken\.json: is not valid JSON \(/);
    expect(await refusal("missing.json")).toBe("missing.json: no such configuration file");
  });
});

describe("resolveSetting", () => {
  test("flag over environment over file over default; empty strings are unset", () => {
    const env = { VPNCP_PORT: "2000" };
    expect(resolveSetting("1000", "VPNCP_PORT", 3000, "8098", env)).toBe("1000");
    expect(resolveSetting(undefined, "VPNCP_PORT", 3000, "8098", env)).toBe("2000");
    expect(resolveSetting("", "VPNCP_PORT", 3000, "8098", {})).toBe("3000");
    expect(resolveSetting(undefined, "VPNCP_PORT", undefined, "8098", { VPNCP_PORT: "" })).toBe("8098");
    expect(resolveSetting(undefined, "VPNCP_HOST", undefined, undefined, {})).toBeUndefined();
  });

  test("the environment name of a key is VPNCP_ and the key in upper snake case", () => {
    expect(envNameOf("dataDir")).toBe("VPNCP_DATA_DIR");
    expect(envNameOf("metricsToken")).toBe("VPNCP_METRICS_TOKEN");
    expect(envNameOf("port")).toBe("VPNCP_PORT");
  });
});
