/**
 * The strongSwan driver with real IKEv2 clients, in network namespaces: the server charon
 * is spawned by the driver in namespace "srv"; a client charon-systemd (one connection per
 * account, IKE identity = its IP address, so charon must ask for the EAP identity) sits
 * in "cli", and charon-cmd (IKE identity = the username, like the Android app) in "cmd".
 * Certificates are made here with `pki`. Every daemon is a direct child, killed by PID.
 */
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { CommandResult, CommandRunner, DaemonHandle, Ikev2ConnectionSpec, Ikev2UserSpec, RunOptions, SpawnOptions } from "@vpncp/core";
import { afterAll, afterEach, beforeAll, describe, expect, test } from "vitest";
import { StrongSwanDriver } from "../../src/ikev2/strongswan.js";
import { ViciConnection } from "../../src/ikev2/vici.js";
import { IKEV2_TEST_PASSWORDS, type Ikev2ContractContext, type Ikev2LoginResult, testIkev2Driver } from "../contract/ikev2.js";
import { createNamespace, linkNamespaces, realToolsUnavailable, type TestNamespace } from "../netns.js";

const skip =
  realToolsUnavailable(["swanctl", "charon-systemd", "charon-cmd", "pki", "ping", "stdbuf", "tc"]) ||
  (existsSync("/dev/net/tun") ? false : "no /dev/net/tun");

const SERVER_ID = "vpn.example.test";
const SERVER_IP = "192.0.2.1";
const CLIENT_IP = "192.0.2.2";
const SERVER_INNER = "10.0.105.1";
const CHARON_PLUGINS =
  "kernel-libipsec kernel-netlink socket-default vici random nonce openssl pem pkcs1 pkcs8 x509 revocation constraints pubkey curve25519 aes sha1 sha2 hmac kdf gmp md5 eap-identity eap-mschapv2 attr updown";

interface Pki {
  readonly dir: string;
  readonly ca: string;
  readonly cert: string;
  readonly key: string;
}

/** CA + RSA server certificate with SAN, made with strongSwan's pki (plugins restricted: no TPM noise). */
function makePki(): Pki {
  const dir = mkdtempSync(join(tmpdir(), "vpncp-ikev2-pki-"));
  try {
    return writePki(dir);
  } catch (error) {
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
}

function writePki(dir: string): Pki {
  const conf = join(dir, "strongswan.conf");
  writeFileSync(conf, "pki {\n  load = random nonce openssl pem pkcs1 pkcs8 x509 pubkey gmp sha1 sha2\n}\n");
  const pki = (args: string[], input?: string) =>
    execFileSync("pki", args, {
      env: { ...process.env, STRONGSWAN_CONF: conf },
      input: input ?? "",
      encoding: "utf8",
      stdio: ["pipe", "pipe", "pipe"],
    });
  const caKey = pki(["--gen", "--type", "rsa", "--size", "2048", "--outform", "pem"]);
  writeFileSync(join(dir, "ca.key"), caKey, { mode: 0o600 });
  const ca = pki([
    "--self",
    "--ca",
    "--lifetime",
    "3650",
    "--in",
    join(dir, "ca.key"),
    "--type",
    "rsa",
    "--dn",
    "CN=vpncp test CA",
    "--outform",
    "pem",
  ]);
  writeFileSync(join(dir, "ca.pem"), ca);
  const key = pki(["--gen", "--type", "rsa", "--size", "2048", "--outform", "pem"]);
  writeFileSync(join(dir, "srv.key"), key, { mode: 0o600 });
  const pub = pki(["--pub", "--in", join(dir, "srv.key"), "--type", "rsa", "--outform", "pem"]);
  const cert = pki(
    [
      "--issue",
      "--lifetime",
      "365",
      "--cacert",
      join(dir, "ca.pem"),
      "--cakey",
      join(dir, "ca.key"),
      "--type",
      "pub",
      "--dn",
      `CN=${SERVER_ID}`,
      "--san",
      SERVER_ID,
      "--san",
      SERVER_IP,
      "--flag",
      "serverAuth",
      "--flag",
      "ikeIntermediate",
      "--outform",
      "pem",
    ],
    pub,
  );
  return { dir, ca, cert, key };
}

/** Records every command line the driver runs (to show no password is ever on one). */
class RecordingRunner implements CommandRunner {
  readonly argv: string[][] = [];
  readonly #inner: CommandRunner;
  constructor(inner: CommandRunner) {
    this.#inner = inner;
  }
  get netns(): string | null {
    return this.#inner.netns;
  }
  run(file: string, args: readonly string[], options?: RunOptions): Promise<CommandResult> {
    this.argv.push([file, ...args]);
    return this.#inner.run(file, args, options);
  }
  spawn(file: string, args: readonly string[], options?: SpawnOptions): DaemonHandle {
    this.argv.push([file, ...args]);
    return this.#inner.spawn(file, args, options);
  }
}

function clientStrongswanConf(dir: string): string {
  return [
    "charon-systemd {",
    "  journal {",
    "    default = -1",
    "  }",
    "}",
    "charon {",
    `  load = ${CHARON_PLUGINS}`,
    "  plugins {",
    "    vici {",
    `      socket = unix://${join(dir, "charon.vici")}`,
    "    }",
    "  }",
    "  filelog {",
    "    client {",
    `      path = ${join(dir, "charon.log")}`,
    "      default = 1",
    "      flush_line = yes",
    "    }",
    "  }",
    "}",
    "charon-cmd {",
    `  load = ${CHARON_PLUGINS}`,
    "}",
    "",
  ].join("\n");
}

async function waitFor<T>(
  what: string,
  probe: () => Promise<T | null | undefined | false> | T | null | undefined | false,
  timeoutMs = 15_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

interface Lab extends Ikev2ContractContext {
  readonly driver: StrongSwanDriver;
  readonly runner: RecordingRunner;
  readonly stateDir: string;
  readonly srv: TestNamespace;
  readonly cli: TestNamespace;
  readonly cliDir: string;
  readonly cliUri: string;
  /** swanctl on the client charon. */
  clientSwanctl(args: string[]): Promise<CommandResult>;
}

let pki: Pki;

function connectionSpec(): Ikev2ConnectionSpec {
  return {
    name: "wg105",
    localAddrs: [],
    serverId: SERVER_ID,
    serverCertificatePem: pki.cert,
    serverPrivateKeyPem: pki.key,
    caCertificatePem: pki.ca,
    subnet4: "10.0.105.0/24",
    subnet6: "fd00:105::/64",
    localTs: [`${SERVER_INNER}/32`],
    dns: ["10.0.105.1", "fd00:105::1"],
  };
}

async function createLab(): Promise<Lab> {
  const srv = createNamespace();
  const cli = createNamespace();
  const base = mkdtempSync(join(tmpdir(), "vpncp-ikev2-"));
  let client: DaemonHandle | null = null;
  let driver: StrongSwanDriver | null = null;
  try {
    linkNamespaces(srv, `${SERVER_IP}/24`, cli, `${CLIENT_IP}/24`);
    srv.exec("ip", ["addr", "add", `${SERVER_INNER}/32`, "dev", "lo"]);
    const runner = new RecordingRunner(srv.runner);
    const stateDir = join(base, "srv");
    driver = new StrongSwanDriver({ runner, stateDir, mode: "spawn" });
    const cliDir = join(base, "cli");
    execFileSync("mkdir", ["-p", "-m", "0700", cliDir]);
    writeFileSync(join(cliDir, "strongswan.conf"), clientStrongswanConf(cliDir));
    client = cli.runner.spawn("/usr/sbin/charon-systemd", [], { env: { STRONGSWAN_CONF: join(cliDir, "strongswan.conf") } });
    const cliUri = `unix://${join(cliDir, "charon.vici")}`;
    await waitFor("the client's vici socket", () => existsSync(join(cliDir, "charon.vici")));
    const vici = await waitFor("the client's vici", () => ViciConnection.connect(cliUri, 1000).catch(() => null));
    await vici.command("load-cert", { type: "X509", flag: "CA", data: pki.ca });
    vici.close();
    const clientHandle = client;
    const lab: Lab = {
      driver,
      runner,
      stateDir,
      srv,
      cli,
      cliDir,
      cliUri,
      connection: connectionSpec(),
      clientHost: CLIENT_IP,
      clientSwanctl: (args) => {
        const [command, ...rest] = args;
        return cli.runner.run("swanctl", [command!, "--uri", cliUri, ...rest], {
          allowFailure: true,
          env: { STRONGSWAN_CONF: join(cliDir, "strongswan.conf") },
        });
      },
      dispose: async () => {
        await driver?.dispose();
        await clientHandle.stop(3000);
        cli.dispose();
        srv.dispose();
        rmSync(base, { recursive: true, force: true });
      },
    };
    return lab;
  } catch (error) {
    await driver?.dispose();
    await client?.stop(3000);
    cli.dispose();
    srv.dispose();
    rmSync(base, { recursive: true, force: true });
    throw error;
  }
}

/**
 * The client charon logs in as `username`: one connection per account (IKE identity = the
 * client's IP address, EAP identity = the username), the password loaded over vici.
 */
async function clientLogin(lab: Lab, username: string, password: string): Promise<Ikev2LoginResult> {
  const vici = await ViciConnection.connect(lab.cliUri);
  try {
    await vici.command("load-shared", { id: `eap-${username}`, type: "EAP", data: password, owners: [username] });
    await vici.command("load-conn", {
      [username]: {
        version: "2",
        remote_addrs: [SERVER_IP],
        vips: ["0.0.0.0", "::"],
        encap: "yes",
        local: { auth: "eap-mschapv2", eap_id: username },
        remote: { auth: "pubkey", id: SERVER_ID },
        children: { [username]: { remote_ts: [`${SERVER_INNER}/32`] } },
      },
    });
  } finally {
    vici.close();
  }
  const initiate = await lab.clientSwanctl(["--initiate", "--ike", username, "--child", username, "--timeout", "20"]);
  if (initiate.exitCode !== 0) return { ok: false, virtualIps: [] };
  const listed = await lab.clientSwanctl(["--list-sas", "--ike", username, "--raw"]);
  const vips = /local-vips=\[([^\]]*)\]/.exec(listed.stdout)?.[1] ?? "";
  return { ok: true, virtualIps: vips.split(" ").filter(Boolean) };
}

async function clientLogout(lab: Lab, username: string): Promise<void> {
  await lab.clientSwanctl(["--terminate", "--ike", username, "--force"]);
}

// One PKI for the whole file (both suites below).
beforeAll(() => {
  if (!skip) pki = makePki();
});
afterAll(() => {
  if (pki) rmSync(pki.dir, { recursive: true, force: true });
});

testIkev2Driver<Lab>({
  name: "strongswan (spawned charon-systemd, real client charon)",
  skip,
  create: createLab,
  login: clientLogin,
  logout: clientLogout,
  // kernel-libipsec's TUN: the first "ipsec%d" free in the server's namespace
  tunnel: {
    name: "ipsec0",
    exists: async (lab, name) => (await lab.srv.runner.run("ip", ["link", "show", "dev", name], { allowFailure: true })).exitCode === 0,
  },
});

describe.skipIf(Boolean(skip))("strongswan driver with real clients", () => {
  let lab: Lab | null = null;
  const children: ChildProcess[] = [];

  afterEach(async () => {
    for (const child of children.splice(0)) {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill("SIGTERM");
        await new Promise((resolve) => child.once("exit", resolve));
      }
    }
    await lab?.dispose();
    lab = null;
  });

  const account = (username: string, host: number, password: string): Ikev2UserSpec => ({
    connection: "wg105",
    username,
    password,
    ipv4: `10.0.105.${host}`,
  });

  test("a client gets its account's address and pings the server through the tunnel; the server kicks it", async () => {
    lab = await createLab();
    const alice = account("alice", 18, IKEV2_TEST_PASSWORDS.alice);
    await lab.driver.apply({ connections: [lab.connection], users: [alice, account("bob", 19, IKEV2_TEST_PASSWORDS.bob)] });
    const result = await clientLogin(lab, "alice", alice.password);
    expect(result.virtualIps).toContain("10.0.105.18");
    const ping = lab.cli.exec("ping", ["-c", "2", "-W", "3", "-I", "10.0.105.18", SERVER_INNER]);
    expect(ping).toMatch(/2 received/);
    const [sa] = await lab.driver.listSas();
    expect(sa?.bytesIn).toBeGreaterThan(0);
    expect(sa?.bytesOut).toBeGreaterThan(0);
    expect(await lab.driver.terminate("alice")).toBe(1);
    // The client saw the DELETE: its IKE_SA is gone.
    await waitFor(
      "the client SA to go",
      async () => !(await lab!.clientSwanctl(["--list-sas", "--raw"])).stdout.includes("state=ESTABLISHED"),
    );
  });

  test("charon-cmd with the username as IKE identity (as the Android app) gets its address; a wrong password fails", async () => {
    lab = await createLab();
    const cmd = createNamespace();
    const cmdDir = join(lab.cliDir, "cmd");
    try {
      linkNamespaces(lab.srv, "192.0.3.1/24", cmd, "192.0.3.2/24");
      execFileSync("mkdir", ["-p", "-m", "0700", cmdDir]);
      writeFileSync(join(cmdDir, "strongswan.conf"), clientStrongswanConf(cmdDir));
      writeFileSync(join(cmdDir, "ca.pem"), pki.ca);
      const carol = account("carol", 20, IKEV2_TEST_PASSWORDS.carol);
      await lab.driver.apply({ connections: [lab.connection], users: [carol] });
      const charonCmd = (password: string) => {
        // The password goes to stdin (charon-cmd reads it with getpass()); stdbuf: its log is stdout.
        const child = spawn(
          "ip",
          [
            "netns",
            "exec",
            cmd.name,
            "stdbuf",
            "-oL",
            "charon-cmd",
            "--host",
            "192.0.3.1",
            "--identity",
            "carol",
            "--remote-identity",
            SERVER_ID,
            "--cert",
            join(cmdDir, "ca.pem"),
            "--profile",
            "ikev2-eap",
            "--remote-ts",
            `${SERVER_INNER}/32`,
          ],
          { env: { ...process.env, STRONGSWAN_CONF: join(cmdDir, "strongswan.conf") }, stdio: ["pipe", "pipe", "pipe"] },
        );
        children.push(child);
        let output = "";
        child.stdout!.on("data", (chunk: Buffer) => {
          output += chunk.toString();
        });
        child.stderr!.on("data", (chunk: Buffer) => {
          output += chunk.toString();
        });
        child.stdin!.end(`${password}\n`);
        return { child, output: () => output };
      };
      const wrong = charonCmd("not-carols-password");
      await waitFor("charon-cmd to be refused", () => /EAP_MSCHAPV2 method failed|AUTHENTICATION_FAILED|AUTH_FAILED/.test(wrong.output()));
      wrong.child.kill("SIGTERM");
      await new Promise((resolve) =>
        wrong.child.exitCode === null && wrong.child.signalCode === null ? wrong.child.once("exit", resolve) : resolve(null),
      );
      expect(await lab.driver.listSas()).toEqual([]);

      const good = charonCmd(carol.password);
      await waitFor("charon-cmd's CHILD_SA", () => /CHILD_SA \S+ established/.test(good.output()), 20_000);
      expect(good.output()).toMatch(/installing new virtual IP 10\.0\.105\.20/);
      expect(cmd.exec("ping", ["-c", "1", "-W", "3", "-I", "10.0.105.20", SERVER_INNER])).toMatch(/1 received/);
      const [sa] = await lab.driver.listSas();
      expect(sa).toMatchObject({ username: "carol", connection: "wg105", remoteHost: "192.0.3.2", virtualIps: ["10.0.105.20"] });
      // Removing the account ends the session: charon-cmd is told so (an IKE DELETE).
      await lab.driver.updateUsers({ upsert: [], remove: [carol] });
      expect(await lab.driver.listSas()).toEqual([]);
      await waitFor("charon-cmd to receive the DELETE", () => /received DELETE for IKE_SA/.test(good.output()));
    } finally {
      for (const child of children.splice(0)) {
        if (child.exitCode === null && child.signalCode === null) {
          child.kill("SIGTERM");
          await new Promise((resolve) => child.once("exit", resolve));
        }
      }
      cmd.dispose();
    }
  });

  test("the swanctl.conf mirror is private, loads with swanctl, and no password is on a command line or in the log", async () => {
    lab = await createLab();
    const users = [account("alice", 18, IKEV2_TEST_PASSWORDS.alice), account("bob", 19, IKEV2_TEST_PASSWORDS.bob)];
    await lab.driver.apply({ connections: [lab.connection], users });
    const mode = (path: string) => statSync(path).mode & 0o777;
    expect(mode(lab.stateDir)).toBe(0o700);
    for (const file of ["swanctl.conf", "strongswan.conf", "users/alice.conf", "users/bob.conf", "private/wg105.pem"]) {
      expect(mode(join(lab.stateDir, file))).toBe(0o600);
    }
    // swanctl reads the mirror (quoting of '#', '\\', '0x…' included) and replaces what the driver loaded:
    // a login with each password still works afterwards.
    const load = await lab.srv.runner.run(
      "swanctl",
      ["--load-all", "--uri", `unix://${join(lab.stateDir, "charon.vici")}`, "--file", join(lab.stateDir, "swanctl.conf")],
      {
        allowFailure: true,
        env: { STRONGSWAN_CONF: join(lab.stateDir, "strongswan.conf") },
      },
    );
    expect(load.stderr).toBe("");
    expect(load.exitCode).toBe(0);
    expect(load.stdout).toMatch(/successfully loaded 3 connections, 0 unloaded/);
    expect(load.stdout).toMatch(/successfully loaded 2 pools, 0 unloaded/);
    for (const user of users) expect((await clientLogin(lab, user.username, user.password)).virtualIps).toContain(user.ipv4);
    const lines = lab.runner.argv.map((argv) => argv.join(" ")).join("\n");
    const log = readFileSync(join(lab.stateDir, "charon.log"), "utf8");
    for (const user of users) {
      expect(lines).not.toContain(user.password);
      expect(log).not.toContain(user.password);
    }
    expect(readdirSync(join(lab.stateDir, "users")).sort()).toEqual(["alice.conf", "bob.conf"]);
  });

  test("a charon that dies is restarted and reloaded: the account logs in again; its new TUN (no qdiscs) is reported", async () => {
    lab = await createLab();
    const alice = account("alice", 18, IKEV2_TEST_PASSWORDS.alice);
    await lab.driver.apply({ connections: [lab.connection], users: [alice] });
    expect((await clientLogin(lab, "alice", alice.password)).ok).toBe(true);
    const recreated: (string | null)[] = [];
    lab.driver.onTunnelRecreated(() => recreated.push(lab!.driver.tunnelInterface()));
    expect(lab.driver.tunnelInterface()).toBe("ipsec0");
    lab.srv.exec("tc", ["qdisc", "replace", "dev", "ipsec0", "root", "handle", "1:", "htb", "default", "1"]);
    const first = lab.driver.daemonPid!;
    process.kill(first, "SIGKILL");
    const second = await waitFor("a new charon", () => {
      const pid = lab!.driver.daemonPid;
      return pid !== null && pid !== first ? pid : null;
    });
    expect(second).not.toBe(first);
    await waitFor("the new tunnel to be reported", () => recreated.length > 0);
    expect(recreated).toEqual(["ipsec0"]);
    // the old device went with the old charon, and its qdisc with it: the listener has to shape it again
    expect(lab.srv.exec("tc", ["qdisc", "show", "dev", "ipsec0"])).not.toContain("htb");
    await waitFor("the reload", async () => (await lab!.driver.info()).state === "running");
    await clientLogout(lab, "alice");
    // The reload runs right after the restart; a login succeeds once it is through.
    await waitFor("alice's login after the restart", async () => (await clientLogin(lab!, "alice", alice.password)).ok, 30_000);
    expect((await lab.driver.listSas()).map((sa) => sa.virtualIps)).toEqual([["10.0.105.18"]]);
  });

  test("with 1 000 accounts loaded, one account change is applied without a reload and works", async () => {
    lab = await createLab();
    const users = Array.from({ length: 1000 }, (_, i) => account(`user${i}`, 0, `pw-${i}#x`)).map((user, i) => ({
      ...user,
      ipv4: `10.0.${105 + Math.floor((i + 10) / 250)}.${((i + 10) % 250) + 2}`,
    }));
    const connection = { ...lab.connection, subnet4: "10.0.104.0/21" };
    let started = performance.now();
    await lab.driver.apply({ connections: [connection], users });
    const applyMs = performance.now() - started;
    started = performance.now();
    await lab.driver.apply({ connections: [connection], users });
    const reapplyMs = performance.now() - started;
    const changed = { ...users[500]!, password: "changed#pw!" };
    started = performance.now();
    await lab.driver.updateUsers({ upsert: [changed], remove: [] });
    const passwordMs = performance.now() - started;
    const added = { ...account("newbie", 0, "n3w%pw"), ipv4: "10.0.109.200" };
    started = performance.now();
    await lab.driver.updateUsers({ upsert: [added], remove: [] });
    const addMs = performance.now() - started;
    started = performance.now();
    await lab.driver.updateUsers({ upsert: [], remove: [users[999]!] });
    const removeMs = performance.now() - started;
    console.info(
      `[ikev2] 1000 accounts: apply ${applyMs.toFixed(0)} ms, same apply again ${reapplyMs.toFixed(0)} ms; one change: password ${passwordMs.toFixed(1)} ms, add ${addMs.toFixed(1)} ms, remove ${removeMs.toFixed(1)} ms`,
    );
    expect((await clientLogin(lab, "user500", "changed#pw!")).virtualIps).toContain(changed.ipv4);
    expect((await clientLogin(lab, "newbie", "n3w%pw")).virtualIps).toContain("10.0.109.200");
    expect((await clientLogin(lab, "user999", "pw-999#x")).ok).toBe(false);
    expect(readdirSync(join(lab.stateDir, "users"))).toHaveLength(1000);
  });
});
