/**
 * Issue 8 point 6 with the real tools: every command the system drivers run (wg,
 * wireguard-go, nft, tc, ip, swanctl, charon) is recorded through a wrapped command runner
 * in a network namespace while servers and accounts with IKEv2 are created, edited and
 * deleted over the API. No private key, password or access hash is ever an argument or an
 * environment variable of a command (they travel on stdin, over vici, or in 0600 files),
 * and no file the drivers leave that group or others may read holds one.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  type CommandResult,
  type CommandRunner,
  createVpncp,
  type DaemonHandle,
  generateKeyPair,
  type RunOptions,
  type SpawnOptions,
  type Vpncp,
} from "@vpncp/core";
import { ExecaRunner, NftablesFirewall, StrongSwanDriver, TcShaper, WireGuardToolsDriver } from "@vpncp/drivers";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { createNamespace, realToolsUnavailable, type TestNamespace, uniqueName } from "../../../drivers/test/netns.js";
import { createHttpApp } from "../../src/app.js";
import { filesReadableByOthers } from "../support/file-modes.js";

const skip = realToolsUnavailable(["wg", "wireguard-go", "nft", "tc", "ip", "swanctl", "charon-systemd"]);

interface Recorded {
  readonly kind: "run" | "spawn";
  readonly argv: readonly string[];
  readonly env: Readonly<Record<string, string>>;
}

/** A runner that records every program, argument and environment variable it is asked to run. */
class ArgvRecorder implements CommandRunner {
  readonly commands: Recorded[] = [];
  readonly #inner: ExecaRunner;
  constructor(inner: ExecaRunner) {
    this.#inner = inner;
  }
  get netns(): string | null {
    return this.#inner.netns;
  }
  run(file: string, args: readonly string[], options?: RunOptions): Promise<CommandResult> {
    this.commands.push({ kind: "run", argv: [file, ...args], env: options?.env ?? {} });
    return this.#inner.run(file, args, options);
  }
  spawn(file: string, args: readonly string[], options?: SpawnOptions): DaemonHandle {
    this.commands.push({ kind: "spawn", argv: [file, ...args], env: options?.env ?? {} });
    return this.#inner.spawn(file, args, options);
  }
}

describe.skipIf(Boolean(skip))("secrets are never arguments of the commands the system drivers run", () => {
  let ns: TestNamespace;
  let dataDir: string;
  let vpncp: Vpncp;
  let recorder: ArgvRecorder;
  let app: ReturnType<typeof createHttpApp>;
  let hash: string;
  const iface = `wg${process.pid}${Math.floor(Math.random() * 90 + 10)}`;

  beforeAll(async () => {
    ns = createNamespace(uniqueName("vs"));
    dataDir = mkdtempSync(join(tmpdir(), "vpncp-argv-"));
    recorder = new ArgvRecorder(new ExecaRunner({ netns: ns.name }));
    vpncp = await createVpncp({
      drivers: {
        wireguard: new WireGuardToolsDriver({ runner: recorder, implementation: "auto" }),
        firewall: new NftablesFirewall({ runner: recorder }),
        shaper: new TcShaper({ runner: recorder }),
        ikev2: new StrongSwanDriver({ runner: recorder, stateDir: join(dataDir, "run", "strongswan"), mode: "spawn" }),
      },
      storage: { driver: "fs", options: { base: dataDir } },
      timezone: "UTC",
    });
    hash = (await vpncp.accessHashes.create()).hash;
    app = createHttpApp(vpncp);
  });

  afterAll(async () => {
    await vpncp?.close();
    ns?.dispose();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  async function api(
    method: string,
    path: string,
    fields?: Record<string, string>,
  ): Promise<{ error: string; msg: Record<string, string> }> {
    const response = await app.request(path, {
      method,
      headers: { cookie: `access_hash=${hash}`, "content-type": "application/x-www-form-urlencoded" },
      body: fields ? new URLSearchParams(fields).toString() : undefined,
    });
    return (await response.json()) as never;
  }

  test("creates, edits (new keys, new passwords) and deletes with IKEv2 on: no secret in any argv or environment", async () => {
    const secrets = new Set<string>([hash]);
    expect((await api("PUT", "/api/v1/ikev2/generate_ca_rsa", { ca_common_name: "argv CA", ca_organization: "vpncp" })).error).toBe("");
    expect((await api("PUT", "/api/v1/ikev2/generate_server_rsa", { server_ip: "192.0.2.1" })).error).toBe("");
    const server = await api("POST", "/api/v1/wireguard", {
      name: "argv",
      interface_name: iface,
      address: "10.97.0.1/24",
      ikev2: "1",
      ipv6: "1",
    });
    expect(server.error).toBe("");
    secrets.add(server.msg.private_key!);
    for (const n of [1, 2, 3, 4]) {
      const made = await api("POST", "/api/v1/account", {
        wg_name: "argv",
        name: `a${n}`,
        password: `Argv-${n}-secret`,
        b_download: String(n),
      });
      expect(made.error).toBe("");
      secrets.add(made.msg.private_key!);
      secrets.add(made.msg.password!);
    }
    const rekey = generateKeyPair();
    secrets.add(rekey.privateKey);
    secrets.add("Argv-new-secret");
    expect((await api("PUT", "/api/v1/account/a1", { private_key: rekey.privateKey, password: "Argv-new-secret" })).error).toBe("");
    expect((await api("PUT", "/api/v1/account/a2", { status: "disable" })).error).toBe("");
    expect((await api("PUT", "/api/v1/account/a2", { status: "enable", password: "Argv-again-1" })).error).toBe("");
    secrets.add("Argv-again-1");
    expect((await api("PUT", "/api/v1/system/reload")).error).toBe("");
    expect((await api("DELETE", "/api/v1/account/a3")).error).toBe("");
    // the CA's and server's RSA keys are secrets too: every long line of their stored PEMs
    const stored = JSON.stringify(await vpncp.storage.getItems(await vpncp.storage.getKeys()));
    for (const [, body] of stored.matchAll(/-----BEGIN (?:RSA )?PRIVATE KEY-----((?:\\n|[A-Za-z0-9+/=])+)-----END/g)) {
      for (const line of body!.split("\\n")) if (line.length >= 40) secrets.add(line);
    }

    const programs = new Set(recorder.commands.map((c) => c.argv[0]!.split("/").pop()));
    for (const program of ["wg", "wireguard-go", "nft", "tc", "charon-systemd"]) expect(programs).toContain(program);
    const leaks: string[] = [];
    for (const command of recorder.commands) {
      const text = [...command.argv, ...Object.entries(command.env).map(([k, v]) => `${k}=${v}`)].join(" ");
      for (const secret of secrets) if (text.includes(secret)) leaks.push(`${secret.slice(0, 6)}… in ${text.slice(0, 160)}`);
    }
    expect(recorder.commands.length).toBeGreaterThan(20);
    expect(leaks).toEqual([]);

    // the drivers' state (charon's configuration, secrets and keys under run/): private files only
    const readable = filesReadableByOthers(dataDir);
    const holding = readable.filter((file) => [...secrets].some((secret) => readFileSync(file, "utf8").includes(secret)));
    expect(holding).toEqual([]);
    // the state holds the secrets (so the check above is about something)
    expect(
      readFileSync(join(dataDir, "run", "strongswan", "users", readdirSync(join(dataDir, "run", "strongswan", "users"))[0]!), "utf8"),
    ).toMatch(/secret = /);
  });
});
