import type { ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, test } from "vitest";
import { configSchema, envNameOf } from "../src/config/index.js";
import { buildPackages, type CliResult, cleanEnv, freePort, killChildren, ROOT, runCli, type Serving, startServe } from "./support/cli.js";

const HASH_LINE = /^ {4}([0-9a-f]{80})$/m;
const AUDIT_PLUGIN = join(ROOT, "examples/plugins/audit-log/index.ts");
const ANSI = new RegExp(`${String.fromCharCode(27)}\\[[0-9;]*m`, "g");

/** The names under COMMANDS in citty's help, colours stripped. */
function helpCommands(help: string): string[] {
  const text = help.replace(ANSI, "");
  const section = text.slice(text.indexOf("COMMANDS"), text.lastIndexOf("Use "));
  return [...section.matchAll(/^ +([a-z][a-z0-9-]*) {2,}/gm)].map((m) => m[1]!);
}

async function portIsFree(port: number): Promise<boolean> {
  const server = createServer();
  return new Promise((resolveFree) => {
    server.once("error", () => resolveFree(false));
    server.listen(port, "127.0.0.1", () => server.close(() => resolveFree(true)));
  });
}

const children = new Set<ChildProcess>();

/** Starts `vpncp serve` and waits for its "listening on" line. */
function serve(args: string[], options: { env?: Record<string, string>; cwd?: string } = {}): Promise<Serving> {
  return startServe(args, { cwd: options.cwd ?? ROOT, env: cleanEnv(options.env), children });
}

function cli(args: string[], env: Record<string, string> = {}, cwd = ROOT): Promise<CliResult> {
  return runCli(args, { cwd, env });
}

async function status(url: string, hash: string | null, path = "/api/v1/system/status"): Promise<number> {
  const response = await fetch(`${url}${path}`, { headers: hash ? { cookie: `access_hash=${hash}` } : {} });
  await response.arrayBuffer();
  return response.status;
}

const dirs: string[] = [];
async function dataDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "vpncp-cli-"));
  dirs.push(dir);
  return dir;
}

beforeAll(async () => {
  await buildPackages();
  expect(existsSync(join(ROOT, "packages/http/dist/cli.js"))).toBe(true);
}, 300_000);

afterEach(() => {
  killChildren(children);
});

afterAll(async () => {
  for (const dir of dirs) await rm(dir, { recursive: true, force: true });
});

describe("vpncp serve", () => {
  test("a first start on an empty data dir prints an access hash once; it works against the printed URL; a restart keeps it and the data", async () => {
    const dir = await dataDir();
    const port = await freePort();
    const first = await serve(["--port", String(port), "--data-dir", dir]);
    expect(first.url).toBe(`http://127.0.0.1:${port}`);
    const hash = HASH_LINE.exec(first.stdout())?.[1];
    expect(hash).toMatch(/^[0-9a-f]{80}$/);
    expect(first.stdout().match(/[0-9a-f]{80}/g)).toHaveLength(1);
    expect(await status(first.url, hash!)).toBe(200);
    expect(await status(first.url, null)).toBe(401);
    const created = await fetch(`${first.url}/api/v1/wireguard`, { method: "POST", headers: { cookie: `access_hash=${hash}` } });
    expect(created.status).toBe(200);
    expect(await first.stop()).toBe(0);

    const second = await serve(["--port", String(port), "--data-dir", dir]);
    expect(second.stdout()).not.toMatch(/[0-9a-f]{80}/);
    expect(second.stdout()).not.toContain("created an access hash");
    expect(await status(second.url, hash!)).toBe(200);
    const servers = await (await fetch(`${second.url}/api/v1/wireguard`, { headers: { cookie: `access_hash=${hash}` } })).json();
    expect(Object.keys((servers as { msg: object }).msg)).toEqual(["wg0"]);
    expect(await second.stop()).toBe(0);
  });

  test("--access-hash makes that hash valid (and no other is printed)", async () => {
    const dir = await dataDir();
    const hash = randomBytes(40).toString("hex");
    const running = await serve(["--port", String(await freePort()), "--data-dir", dir, "--access-hash", hash]);
    expect(running.stdout()).not.toContain("created an access hash");
    expect(await status(running.url, hash)).toBe(200);
    expect(await status(running.url, randomBytes(40).toString("hex"))).toBe(401);
    expect(await running.stop()).toBe(0);
    // a flag is readable by every local user: the operator is told, without the hash itself
    const output = `${running.stdout()}${running.stderr()}`;
    expect(output).toContain("readable by every local user");
    expect(output).toContain('"setting":"--access-hash"');
    expect(output).not.toContain(hash);

    const fromEnv = await serve(["--port", String(await freePort()), "--data-dir", dir], { env: { VPNCP_ACCESS_HASH: hash } });
    expect(await status(fromEnv.url, hash)).toBe(200);
    expect(await fromEnv.stop()).toBe(0);
    expect(`${fromEnv.stdout()}${fromEnv.stderr()}`).not.toContain("readable by every local user");
  });

  test("--public-url, --account-limit and --host are used", async () => {
    const hash = randomBytes(40).toString("hex");
    const running = await serve([
      "--host",
      "127.0.0.1",
      "--port",
      String(await freePort()),
      "--data-dir",
      await dataDir(),
      "--access-hash",
      hash,
      "--public-url",
      "https://vpn.example.com",
      "--account-limit",
      "3",
    ]);
    await expectInstallation(running.url, hash, { publicUrl: "https://vpn.example.com", limit: 3 });
    expect(await running.stop()).toBe(0);
  });

  test("the environment variables work like the flags; a flag wins over its variable", async () => {
    const dir = await dataDir();
    const port = await freePort();
    const hash = randomBytes(40).toString("hex");
    const running = await serve([], {
      env: {
        VPNCP_PORT: String(port),
        VPNCP_HOST: "127.0.0.1",
        VPNCP_DATA_DIR: dir,
        VPNCP_ACCESS_HASH: hash,
        VPNCP_PUBLIC_URL: "https://env.example.com",
        VPNCP_ACCOUNT_LIMIT: "4",
        VPNCP_DRIVERS: "fake",
      },
    });
    expect(running.url).toBe(`http://127.0.0.1:${port}`);
    await expectInstallation(running.url, hash, { publicUrl: "https://env.example.com", limit: 4 });
    expect(readdirSync(dir).length).toBeGreaterThan(0);
    expect(await running.stop()).toBe(0);

    const port2 = await freePort();
    const flagged = await serve(["--port", String(port2), "--account-limit", "5"], {
      env: { VPNCP_PORT: "not-a-port", VPNCP_DATA_DIR: dir, VPNCP_ACCESS_HASH: hash, VPNCP_ACCOUNT_LIMIT: "4" },
    });
    expect(flagged.url).toBe(`http://127.0.0.1:${port2}`);
    await expectInstallation(flagged.url, hash, { limit: 5 });
    expect(await flagged.stop()).toBe(0);
  });

  test("--trust-proxy (or VPNCP_TRUST_PROXY=1) takes the client address from X-Forwarded-For; without it the header is ignored", async () => {
    const dir = await dataDir();
    const created = await cli(["hash", "create", "--ip", "192.0.2.44", "--data-dir", dir]);
    const bound = created.stdout.trim();
    const headers = { cookie: `access_hash=${bound}`, "x-forwarded-for": "192.0.2.44" };
    for (const [args, env, expected] of [
      [[], {}, 401],
      [["--trust-proxy"], {}, 200],
      [[], { VPNCP_TRUST_PROXY: "1" }, 200],
    ] as const) {
      const running = await serve(["--port", String(await freePort()), "--data-dir", dir, ...args], { env });
      const response = await fetch(`${running.url}/api/v1/system/status`, { headers });
      expect([args, env, response.status]).toEqual([args, env, expected]);
      expect(await running.stop()).toBe(0);
    }
  });

  test("a bad port, a taken port and unknown drivers stop with a message, not a stack trace", async () => {
    const dir = await dataDir();
    for (const [args, message] of [
      [["--port", "abc"], /--port must be a number/],
      [["--drivers", "magic"], /--drivers must be fake or system/],
    ] as const) {
      const result = await cli(["serve", "--data-dir", dir, ...args]);
      expect(result.code).not.toBe(0);
      expect(result.stdout + result.stderr).toMatch(message);
    }
    const blocker = createServer();
    await new Promise<void>((r) => blocker.listen(0, "127.0.0.1", r));
    try {
      const { port } = blocker.address() as { port: number };
      const result = await cli(["serve", "--data-dir", dir, "--port", String(port)]);
      expect(result.code).not.toBe(0);
      expect(result.stdout + result.stderr).toMatch(new RegExp(`${port}`));
    } finally {
      await new Promise<void>((r) => blocker.close(() => r()));
    }
  });

  test("request logs are JSON lines without the cookie, the passwords or stack traces; SIGTERM exits 0", async () => {
    const dir = await dataDir();
    const running = await serve(["--port", String(await freePort()), "--data-dir", dir]);
    const hash = HASH_LINE.exec(running.stdout())![1]!;
    const cookie = { cookie: `access_hash=${hash}` };
    const password = "Sup3r-Secret-Passw0rd";
    await fetch(`${running.url}/api/v1/wireguard`, { method: "POST", headers: cookie, body: "name=srv" });
    const add = await fetch(`${running.url}/api/v1/account`, {
      method: "POST",
      headers: { ...cookie, "content-type": "application/x-www-form-urlencoded" },
      body: `wg_name=srv&name=logged&password=${password}`,
    });
    expect(add.status).toBe(200);
    await fetch(`${running.url}/api/v1/account/logged?password=${password}`, { headers: cookie });
    await fetch(`${running.url}/api/v1/account/nobody`, { headers: cookie });
    await fetch(`${running.url}/api/v1/account`, {
      method: "POST",
      headers: { ...cookie, "content-type": "application/json" },
      body: "{bad",
    });
    await fetch(`${running.url}/api/v1/system/status`, { headers: { cookie: "access_hash=wrong" } });
    expect(await running.stop()).toBe(0);

    const announced = new Set(["", `    ${hash}`]);
    const lines = `${running.stdout()}${running.stderr()}`.split("\n");
    const logs: Record<string, unknown>[] = [];
    for (const line of lines) {
      if (announced.has(line) || line.startsWith("vpncp: ")) continue;
      let parsed: unknown;
      expect(() => {
        parsed = JSON.parse(line);
      }, line).not.toThrow();
      logs.push(parsed as Record<string, unknown>);
    }
    const requests = logs.filter((l) => l.msg === "request");
    expect(requests.map((r) => [r.method, r.path, r.status])).toEqual(
      expect.arrayContaining([
        ["POST", "/api/v1/account", 200],
        ["GET", "/api/v1/account/nobody", 404],
        ["POST", "/api/v1/account", 400],
        ["GET", "/api/v1/system/status", 401],
      ]),
    );
    expect(logs.some((l) => l.msg === "shutting down")).toBe(true);
    const all = lines.join("\n");
    // the hash is printed once, by the first start's announcement
    expect(all.split(hash).length - 1).toBe(1);
    expect(all).not.toContain(password);
    expect(all).not.toMatch(/\n\s+at /);
  });
});

describe("vpncp hash", () => {
  test("create (bound to an address) / list / delete work offline and decide who gets in at the next start", async () => {
    const dir = await dataDir();
    const port = await freePort();
    const first = await serve(["--port", String(port), "--data-dir", dir]);
    const initial = HASH_LINE.exec(first.stdout())![1]!;
    expect(await first.stop()).toBe(0);

    const bound = await cli(["hash", "create", "--ip", "127.0.0.2", "--data-dir", dir]);
    expect(bound.code).toBe(0);
    const boundHash = bound.stdout.trim();
    expect(boundHash).toMatch(/^[0-9a-f]{80}$/);
    const open = await cli(["hash", "create", "--data-dir", dir]);
    const openHash = open.stdout.trim();
    expect(openHash).toMatch(/^[0-9a-f]{80}$/);

    const list = await cli(["hash", "list", "--data-dir", dir]);
    const rows = list.stdout
      .trim()
      .split("\n")
      .map((line) => line.split("\t"));
    expect(rows).toHaveLength(3);
    expect(rows.map((r) => r[1]).sort()).toEqual(["127.0.0.2", "any", "any"]);
    // the hashes themselves are not stored or listed
    for (const hash of [initial, boundHash, openHash]) expect(list.stdout).not.toContain(hash);
    expect(bound.stderr).toMatch(/^id [0-9a-f]{12}, valid from 127\.0\.0\.2$/m);
    expect(open.stderr).toMatch(/^id [0-9a-f]{12}, valid from any address$/m);
    const newIds = [bound.stderr, open.stderr].map((text) => /^id ([0-9a-f]{12})/m.exec(text)![1]);
    const initialId = rows.map((r) => r[0]!).find((id) => !newIds.includes(id))!;

    const deleted = await cli(["hash", "delete", initialId, "--data-dir", dir]);
    expect([deleted.code, deleted.stdout.trim()]).toEqual([0, "deleted 1"]);
    const again = await cli(["hash", "delete", initialId, "--data-dir", dir]);
    expect(again.code).toBe(1);
    expect(again.stderr).toContain(`no access hash with id ${initialId}`);

    const second = await serve(["--port", String(port), "--data-dir", dir]);
    expect(await status(second.url, initial)).toBe(401);
    expect(await status(second.url, openHash)).toBe(200);
    // bound to 127.0.0.2, called from 127.0.0.1
    expect(await status(second.url, boundHash)).toBe(401);
    expect(await second.stop()).toBe(0);
  });

  // the running server re-reads the stored hashes every 2 seconds
  test("a hash deleted offline is Not authorized on the running server within seconds", async () => {
    const dir = await dataDir();
    const running = await serve(["--port", String(await freePort()), "--data-dir", dir]);
    const hash = HASH_LINE.exec(running.stdout())![1]!;
    try {
      expect(await status(running.url, hash)).toBe(200);
      const id = (await cli(["hash", "list", "--data-dir", dir])).stdout.split("\t")[0]!;
      expect((await cli(["hash", "delete", id, "--data-dir", dir])).code).toBe(0);
      await expect.poll(() => status(running.url, hash), { timeout: 5_000, interval: 250 }).toBe(401);
    } finally {
      await running.stop();
    }
  });

  test("hash commands read VPNCP_DATA_DIR", async () => {
    const dir = await dataDir();
    const created = await cli(["hash", "create"], { VPNCP_DATA_DIR: dir });
    expect(created.code).toBe(0);
    const list = await cli(["hash", "list"], { VPNCP_DATA_DIR: dir });
    expect(list.stdout.trim().split("\n")).toHaveLength(1);
  });
});

describe("help", () => {
  const source = readFileSync(join(ROOT, "packages/http/src/cli.ts"), "utf8");

  test("vpncp --help names the commands; hash --help names its subcommands", async () => {
    const main = await cli(["--help"]);
    expect(main.code).toBe(0);
    expect(main.stdout).toMatch(/\bserve\b/);
    expect(main.stdout).toMatch(/\bhash\b/);
    const hash = await cli(["hash", "--help"]);
    for (const sub of ["create", "list", "delete"]) expect(hash.stdout).toMatch(new RegExp(`\\b${sub}\\b`));
    const create = await cli(["hash", "create", "--help"]);
    expect(create.stdout).toContain("--ip");
  });

  test("vpncp --help lists the configured plugins' commands; a configuration that does not load leaves them out, said on stderr", async () => {
    const dir = await dataDir();
    await writeFile(
      join(dir, "vpncp.config.json"),
      JSON.stringify({ plugins: [{ module: AUDIT_PLUGIN, options: { file: "audit.jsonl" } }] }),
    );
    await writeFile(join(dir, "broken.json"), JSON.stringify({ plugins: ["./plugins/none.js"] }));
    const plain = await cli(["--help"]);
    expect([plain.code, plain.stderr]).toEqual([0, ""]);
    const builtIn = helpCommands(plain.stdout);
    expect(builtIn).toEqual(expect.arrayContaining(["serve", "hash", "account", "plan", "doctor", "export", "import"]));
    expect(builtIn).not.toContain("audit-log");

    // the configuration file of the working directory, or VPNCP_CONFIG, as `vpncp serve` finds it
    const inDir = await cli(["--help"], {}, dir);
    expect([inDir.code, inDir.stderr]).toEqual([0, ""]);
    expect(helpCommands(inDir.stdout)).toEqual([...builtIn, "audit-log"]);
    expect(inDir.stdout.replace(ANSI, "")).toMatch(/^ +audit-log +Print the last entries of the audit log/m);
    const named = await cli(["--help"], { VPNCP_CONFIG: join(dir, "vpncp.config.json") });
    expect(helpCommands(named.stdout)).toEqual([...builtIn, "audit-log"]);

    const broken = await cli(["--help"], { VPNCP_CONFIG: "broken.json" }, dir);
    expect(broken.code).toBe(0);
    expect(helpCommands(broken.stdout)).toEqual(builtIn);
    expect(broken.stderr).toBe(
      `vpncp: plugin commands left out: broken.json: "plugins[0]": module "./plugins/none.js" was not found (${join(dir, "plugins/none.js")} does not exist)\n`,
    );
    // a built-in command's help never reads the configuration
    const serveHelp = await cli(["serve", "--help"], { VPNCP_CONFIG: "broken.json" }, dir);
    expect([serveHelp.code, serveHelp.stderr]).toEqual([0, ""]);
  });

  test("vpncp serve --help mentions every option and every environment variable the CLI reads", async () => {
    const help = await cli(["serve", "--help"]);
    expect(help.code).toBe(0);
    const options = [
      "port",
      "host",
      "data-dir",
      "storage",
      "drivers",
      "public-url",
      "access-hash",
      "account-limit",
      "netns",
      "wan-interface",
      "firewall",
      "state-dir",
      "timezone",
      "trust-proxy",
    ];
    for (const option of options) expect(help.stdout, option).toContain(`--${option}`);
    // and whatever else cli.ts defines or reads
    const defined = [...source.matchAll(/^\s+"?([a-z][a-z-]*)"?: \{\s*type: "(?:string|boolean)"/gm)].map((m) => m[1]!);
    for (const option of defined.filter((o) => o !== "ip")) expect(help.stdout, option).toContain(`--${option}`);
    const variables = [...new Set([...source.matchAll(/"(VPNCP_[A-Z_]+)"/g)].map((m) => m[1]!))];
    expect(variables.length).toBeGreaterThan(10);
    for (const variable of variables) expect(help.stdout, variable).toContain(variable);
  });
});

describe("the README", () => {
  const readme = readFileSync(join(ROOT, "README.md"), "utf8");
  /** The text under a heading, up to the next heading of level 2 or 3. */
  const section = (heading: string): string => {
    const at = readme.indexOf(`\n${heading}\n`);
    expect(at, heading).toBeGreaterThan(-1);
    const rest = readme.slice(at + heading.length + 2);
    const next = rest.search(/^#{2,3} /m);
    return next === -1 ? rest : rest.slice(0, next);
  };
  /** The cells of a Markdown table's rows that start with code (`\|` inside a cell is not a separator). */
  const rows = (text: string): string[][] =>
    text
      .split("\n")
      .filter((line) => line.startsWith("| `"))
      .map((line) =>
        line
          .split(/(?<!\\)\|/)
          .slice(1, -1)
          .map((cell) => cell.trim()),
      );

  test("the options table lists every flag of `vpncp serve --help`, with its environment variable and its configuration-file key", async () => {
    const help = (await cli(["serve", "--help"])).stdout.replace(ANSI, "");
    const helpFlags = [...help.matchAll(/--([a-z][a-z-]*)=</g)].map((m) => m[1]!);
    expect(helpFlags.length).toBeGreaterThan(10);
    const table = rows(section("### Options of `vpncp serve`")).map(([flag = "", env = "", key = ""]) => ({
      flag: /^`--([a-z-]+)/.exec(flag)?.[1] ?? flag,
      env: /^`(VPNCP_[A-Z_]+)`$/.exec(env)?.[1] ?? env,
      key: key === "—" ? null : (/^`([A-Za-z]+)`$/.exec(key)?.[1] ?? key),
    }));
    expect(table.map((row) => row.flag)).toEqual(helpFlags);
    const schemaKeys = Object.keys(configSchema.shape);
    for (const { flag, env, key } of table) {
      const camel = flag.replace(/-([a-z])/g, (_, letter: string) => letter.toUpperCase());
      // the variable the help names for the flag is the one vpncp reads, and the README's
      expect(
        help.split("\n").find((line) => line.includes(`--${flag}=`)),
        flag,
      ).toContain(`(env ${env}`);
      expect(env, flag).toBe(envNameOf(camel));
      if (flag === "config") expect(key).toBeNull();
      else {
        expect(key, flag).toBe(camel);
        expect(schemaKeys, flag).toContain(camel);
      }
    }
    // the file's keys that are no serve flag are explained in the file's own section
    const others = schemaKeys.filter((name) => !table.some((row) => row.key === name));
    expect(others.sort()).toEqual(["$schema", "plugins", "url"]);
    const fileSection = section("### The configuration file");
    for (const name of others) expect(fileSection, name).toContain(`\`${name}\``);
  });

  test("every command of `vpncp --help` is in its command table, a configured plugin's too", async () => {
    const dir = await dataDir();
    await writeFile(
      join(dir, "vpncp.config.json"),
      JSON.stringify({ plugins: [{ module: AUDIT_PLUGIN, options: { file: "audit.jsonl" } }] }),
    );
    const commands = helpCommands((await cli(["--help"], {}, dir)).stdout);
    expect(commands).toContain("audit-log");
    const table = rows(section("### Every `vpncp` command"));
    const named = table.flatMap(([cell = ""]) => [...cell.matchAll(/`vpncp ([a-z][a-z-]*)`/g)].map((m) => m[1]!));
    expect(named.sort()).toEqual(commands.filter((name) => name !== "audit-log").sort());
    expect(table.some((row) => row.join(" ").includes("`vpncp audit-log`"))).toBe(true);
  });

  test("its two setup lines run what it says: npm install builds the CLI, npm start serves, npm test lints, typechecks and runs vitest", () => {
    const setup = section("## Setup: two commands");
    expect(setup).toContain("npm install && npm start");
    expect(setup).toContain("npm install && npm test");
    const { scripts } = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as { scripts: Record<string, string> };
    expect(scripts.prepare).toBe("npm run build");
    expect(scripts.build).toMatch(/^tsc -b /);
    expect(scripts.start).toBe("node packages/http/bin/vpncp.js serve");
    expect(scripts.test).toBe("npm run lint && npm run typecheck && vitest run");
  });
});

describe("npm start", () => {
  test("the root start script runs `vpncp serve`", () => {
    const pkg = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as { scripts: Record<string, string> };
    expect(pkg.scripts.start).toBe("node packages/http/bin/vpncp.js serve");
  });

  test("serve without flags listens on 127.0.0.1:8098 and keeps its data in ./.vpncp", async () => {
    if (!(await portIsFree(8098))) {
      console.log("skipped: port 8098 is in use on this machine");
      return;
    }
    const cwd = await dataDir();
    const running = await serve([], { cwd });
    expect(running.url).toBe("http://127.0.0.1:8098");
    const hash = HASH_LINE.exec(running.stdout())![1]!;
    expect(await status(running.url, hash)).toBe(200);
    expect(existsSync(join(cwd, ".vpncp"))).toBe(true);
    expect(running.stdout()).toContain(`data: ${join(cwd, ".vpncp")}`);
    expect(await running.stop()).toBe(0);
  });
});

async function expectInstallation(url: string, hash: string, expected: { publicUrl?: string; limit: number }): Promise<void> {
  const headers = { cookie: `access_hash=${hash}` };
  const statusBody = (await (await fetch(`${url}/api/v1/system/status`, { headers })).json()) as {
    msg: { count_accounts_available: number };
  };
  expect(statusBody.msg.count_accounts_available).toBe(expected.limit);
  if (expected.publicUrl) {
    await fetch(`${url}/api/v1/wireguard`, { method: "POST", headers, body: "name=s" });
    await fetch(`${url}/api/v1/account`, {
      method: "POST",
      headers: { ...headers, "content-type": "application/x-www-form-urlencoded" },
      body: "wg_name=s&name=a",
    });
    const link = (await (await fetch(`${url}/api/v1/account/a/otl`, { headers })).json()) as { msg: string };
    expect(link.msg).toMatch(new RegExp(`^${expected.publicUrl.replace(/[.:/]/g, "\\$&")}/otl/[0-9a-f]{80}$`));
  }
}
