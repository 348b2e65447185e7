/**
 * Issue 8 point 6 (secrets), fake drivers: private keys, passwords, access hashes and
 * one-time link keys never appear in the JSON logs of a whole create/edit/config/OTL/
 * delete run (with refused requests and a failing driver among them), nor in any error
 * envelope; and the data directory — created by `vpncp serve` itself under umask 022 — is
 * 0700, and no file in it that group or others could read holds a secret (records are 0600;
 * the pid file may be 0644). Process arguments with the system drivers: secrets.system.test.ts
 * (every command recorded) and test/e2e/crash.system.test.ts (/proc sampled).
 */
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { createVpncp, type DriverSet, generateKeyPair, type Vpncp } from "@vpncp/core";
import { createFakeDrivers } from "@vpncp/drivers";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { createHttpApp } from "../../src/app.js";
import { jsonLogger } from "../../src/logger.js";
import { cleanEnv } from "../support/cli.js";
import { modesUnder } from "../support/file-modes.js";

const ROOT = resolve(import.meta.dirname, "../../../..");

/** Every occurrence of any secret in `text`, as "<secret prefix>… in <where>". */
function leaks(secrets: Iterable<string>, text: string, where: string): string[] {
  const out: string[] = [];
  for (const secret of secrets) if (secret.length >= 8 && text.includes(secret)) out.push(`${secret.slice(0, 6)}… in ${where}`);
  return out;
}

describe("secrets never reach the logs or an error", () => {
  const lines: string[] = [];
  const secrets = new Set<string>();
  const errorBodies: string[] = [];
  let vpncp: Vpncp;
  let app: ReturnType<typeof createHttpApp>;
  let hash: string;
  let failNext = false;

  async function call(
    method: string,
    path: string,
    fields?: Record<string, string>,
    cookie?: string,
  ): Promise<{ status: number; body: { error?: string; msg?: unknown } | string; msg: Record<string, string> }> {
    const headers: Record<string, string> = { cookie: cookie ?? `access_hash=${hash}` };
    let body: string | undefined;
    if (fields) {
      body = new URLSearchParams(fields).toString();
      headers["content-type"] = "application/x-www-form-urlencoded";
    }
    const response = await app.request(path, { method, headers, body });
    const text = await response.text();
    if (response.status >= 400) errorBodies.push(text);
    let parsed: { error?: string; msg?: unknown } | string = text;
    try {
      parsed = JSON.parse(text);
    } catch {
      // the one-time page is HTML
    }
    const msg =
      typeof parsed === "object" && typeof parsed.msg === "object" && parsed.msg !== null ? (parsed.msg as Record<string, string>) : {};
    return { status: response.status, body: parsed, msg };
  }

  beforeAll(async () => {
    const fakes = createFakeDrivers();
    // a WireGuard driver that fails on demand, the way a tool exiting non-zero would
    const wireguard = new Proxy(fakes.wireguard, {
      get(target, key, receiver) {
        const value = Reflect.get(target, key, receiver);
        if (key !== "updatePeers" || typeof value !== "function") return typeof value === "function" ? value.bind(target) : value;
        return async (...args: unknown[]) => {
          if (failNext) {
            failNext = false;
            throw new Error("wg: Unable to modify interface: Protocol not supported");
          }
          return (value as (...a: unknown[]) => Promise<void>).apply(target, args);
        };
      },
    });
    const drivers: DriverSet = { wireguard, firewall: fakes.firewall, shaper: fakes.shaper, ikev2: fakes.ikev2 };
    const logger = jsonLogger((line) => lines.push(line));
    vpncp = await createVpncp({ drivers, storage: { driver: "memory" }, logger, timezone: "UTC", publicUrl: "https://vpn.example.com" });
    hash = (await vpncp.accessHashes.create()).hash;
    secrets.add(hash);
    app = createHttpApp(vpncp, { logger, authFailures: { sleep: async () => {} } });
  });
  afterAll(async () => {
    await vpncp?.close();
  });

  test("a whole run: servers, accounts, edits, configs, IKEv2, one-time links, refusals, a driver failure, deletes", async () => {
    const server = await call("POST", "/api/v1/wireguard", { name: "sec", address: "10.95.0.1/24", ikev2: "1" });
    expect(server.status).toBe(200);
    secrets.add(server.msg.private_key!);
    await call("PUT", "/api/v1/ikev2/generate_ca_rsa", { ca_common_name: "Secret CA", ca_organization: "vpncp" });
    await call("PUT", "/api/v1/ikev2/generate_server_rsa", { server_ip: "192.0.2.1" });
    // the CA's and the server's RSA keys (stored, never shown by the API): each PEM body line is a secret
    const stored = JSON.stringify(await vpncp.storage.getItems(await vpncp.storage.getKeys()));
    const pems = [...stored.matchAll(/-----BEGIN (?:RSA )?PRIVATE KEY-----((?:\\n|[A-Za-z0-9+/=])+)-----END/g)];
    expect(pems.length).toBeGreaterThanOrEqual(2);
    for (const [, body] of pems) for (const line of body!.split("\\n")) if (line.length >= 40) secrets.add(line);
    const given = generateKeyPair();
    secrets.add(given.privateKey);
    for (const [name, extra] of [
      ["alice", { password: "Alice-secret-1", private_key: given.privateKey }],
      ["bob", {}],
      ["carol", { password: "Carol{#}$pw<&>" }],
    ] as const) {
      const made = await call("POST", "/api/v1/account", { wg_name: "sec", name, ...extra });
      expect([name, made.status]).toEqual([name, 200]);
      secrets.add(made.msg.private_key!);
      secrets.add(made.msg.password!);
    }
    // edits that change secrets
    const rekey = generateKeyPair();
    secrets.add(rekey.privateKey);
    await call("PUT", "/api/v1/account/bob", { private_key: rekey.privateKey, password: "Bob-new-secret-2" });
    secrets.add("Bob-new-secret-2");
    await call("PUT", "/api/v1/account/alice", { status: "disable", b_download: "10" });
    // every view of an account
    for (const view of ["", "/config_text", "/config_qr", "/ikev2_profile", "/ikev2_mobileconfig", "/dump", "/traffic_control"]) {
      expect((await call("GET", `/api/v1/account/carol${view}`)).status).toBe(200);
    }
    // a one-time link: made, looked at, used, used again
    const otl = await call("GET", "/api/v1/account/carol/otl");
    const url = typeof otl.body === "object" ? String(otl.body.msg) : "";
    const key = url.split("/otl/")[1]!;
    secrets.add(key);
    await call("GET", "/api/v1/otl/list");
    expect((await call("GET", `/otl/${key}`)).status).toBe(200);
    await call("GET", `/otl/${key}`);
    // refusals carrying secrets: a wrong hash, a hash from elsewhere, bad values next to good secrets
    const wrongHash = "f".repeat(80);
    secrets.add(wrongHash);
    await call("GET", "/api/v1/account", undefined, `access_hash=${wrongHash}`);
    await call("POST", "/api/v1/account", {
      wg_name: "sec",
      name: "dave",
      password: "Dave-secret-3",
      private_key: generateKeyPair().privateKey,
      status: "bogus",
    });
    secrets.add("Dave-secret-3");
    await call("PUT", "/api/v1/account/carol", { password: "Carol has spaces" });
    // the driver fails in the middle of a change that carries a new key and password
    const failing = generateKeyPair();
    secrets.add(failing.privateKey);
    secrets.add("Erin-secret-4");
    failNext = true;
    const failed = await call("POST", "/api/v1/account", {
      wg_name: "sec",
      name: "erin",
      password: "Erin-secret-4",
      private_key: failing.privateKey,
    });
    expect(failed.status).toBeGreaterThanOrEqual(500);
    await call("PUT", "/api/v1/system/reload");
    for (const name of ["alice", "bob", "carol", "erin"]) await call("DELETE", `/api/v1/account/${name}`);
    await call("DELETE", "/api/v1/wireguard/sec");
    // logs are written once per turn of the event loop
    await new Promise((r) => setImmediate(r));

    expect(lines.length).toBeGreaterThan(20);
    expect(lines.some((line) => line.includes('"level":"error"'))).toBe(true);
    const logText = lines.join("\n");
    const logLeaks = leaks(secrets, logText, "the log");
    if (logLeaks.length > 0) console.log(lines.filter((line) => [...secrets].some((s) => line.includes(s))).join("\n"));
    expect(leaks(secrets, logText, "the log")).toEqual([]);
    expect(errorBodies.length).toBeGreaterThan(3);
    expect(leaks(secrets, errorBodies.join("\n"), "an error envelope")).toEqual([]);
  });
});

describe("the data directory `vpncp serve` makes under umask 022 is private", () => {
  const parent = mkdtempSync(join(tmpdir(), "vpncp-perm-"));
  const dataDir = join(parent, "not", "yet", "there");
  const hash = "5ec7".repeat(20);
  let child: ReturnType<typeof spawn> | null = null;

  afterAll(() => {
    if (child && child.exitCode === null) child.kill("SIGKILL");
    rmSync(parent, { recursive: true, force: true });
  });

  test("0700 directories, and no secret in any file group or others could read", async () => {
    const env = cleanEnv({ VPNCP_ACCESS_HASH: hash, VPNCP_DATA_DIR: dataDir, VPNCP_PORT: "0" });
    child = spawn(
      process.execPath,
      [
        "--conditions=@vpncp/source",
        join(import.meta.dirname, "umask-022.mjs"),
        join(ROOT, "node_modules/jiti/lib/jiti-cli.mjs"),
        join(ROOT, "packages/http/src/cli.ts"),
        "serve",
        "--timezone",
        "UTC",
      ],
      { cwd: parent, env, stdio: ["ignore", "pipe", "pipe"] },
    );
    let out = "";
    const url = await new Promise<string>((done, fail) => {
      const timer = setTimeout(() => fail(new Error(`vpncp serve did not start:\n${out}`)), 30_000);
      const onData = (c: Buffer) => {
        out += c.toString();
        const match = /listening on (http:\/\/\S+)/.exec(out);
        if (match) {
          clearTimeout(timer);
          done(match[1]!);
        }
      };
      child!.stdout!.on("data", onData);
      child!.stderr!.on("data", onData);
      child!.once("exit", (code) => fail(new Error(`vpncp serve exited (${code}):\n${out}`)));
    });
    const api = async (method: string, path: string, fields?: Record<string, string>) => {
      const response = await fetch(`${url}${path}`, {
        method,
        headers: { cookie: `access_hash=${hash}`, "content-type": "application/x-www-form-urlencoded" },
        body: fields ? new URLSearchParams(fields).toString() : undefined,
      });
      return (await response.json()) as { error: string; msg: Record<string, string> };
    };
    const secrets = new Set<string>([hash]);
    const server = await api("POST", "/api/v1/wireguard", { name: "perm", address: "10.96.0.1/24" });
    expect(server.error).toBe("");
    secrets.add(server.msg.private_key!);
    for (const name of ["p1", "p2"]) {
      const made = await api("POST", "/api/v1/account", { wg_name: "perm", name, password: `Perm-${name}-secret` });
      secrets.add(made.msg.private_key!);
      secrets.add(made.msg.password!);
    }
    await api("GET", "/api/v1/account/p1/otl");

    const { dirs, files } = modesUnder(dataDir);
    expect(files.length).toBeGreaterThan(3);
    expect(dirs.filter(([, mode]) => mode !== 0o700).map(([d, m]) => `${d} ${m.toString(8)}`)).toEqual([]);
    // a file group or others may read (behind the 0700 directory anyway) holds no secret: the pid file may be 0644
    const readable = files.filter(([, mode]) => (mode & 0o044) !== 0).map(([f]) => f);
    expect(readable.flatMap((f) => leaks(secrets, readFileSync(f, "utf8"), f))).toEqual([]);
    // and the secrets are in there (so the check above is about them), only in private files
    const holders = files.filter(([f]) => [...secrets].some((s) => readFileSync(f, "utf8").includes(s)));
    expect(holders.length).toBeGreaterThan(0);
    // the hash itself is stored as a digest only
    expect(files.some(([f]) => readFileSync(f, "utf8").includes(hash))).toBe(false);
  });
});
