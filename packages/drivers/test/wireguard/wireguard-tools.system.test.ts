/**
 * The real driver (wireguard-tools + wireguard-go, this kernel has no WireGuard module) in
 * network namespaces made by the test: the port contract, then a real client behind a veth
 * pair whose session must survive peer changes and re-applies, a daemon crash, and a check
 * that no private or preshared key was ever on a command line.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { CommandResult, CommandRunner, DaemonHandle, RunOptions, SpawnOptions, WgPeerSpec, WgPeerState } from "@vpncp/core";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { WireGuardToolsDriver } from "../../src/wireguard/wireguard-tools.js";
import { generatePresharedKey, generateWgKeyPair, testWireGuardDriver } from "../contract/wireguard.js";
import { createNamespace, linkNamespaces, realToolsUnavailable, type TestNamespace, uniqueName } from "../netns.js";

const skip = realToolsUnavailable(["wg", "wireguard-go", "ping"]);

testWireGuardDriver({
  name: "wireguard-tools (in a network namespace)",
  skip,
  async create() {
    const ns = createNamespace();
    const driver = new WireGuardToolsDriver({ runner: ns.runner });
    return {
      driver,
      interfaceName: () => uniqueName("wt"),
      async killDaemon(iface) {
        const pid = driver.daemonPid(iface);
        if (pid === null) return false;
        process.kill(pid, "SIGKILL");
        return true;
      },
      async cleanup() {
        try {
          await driver.dispose();
        } finally {
          ns.dispose();
        }
      },
    };
  },
});

/** Records every command (argv, stdin, and the driver's key files it names) before running it. */
class RecordingRunner implements CommandRunner {
  readonly calls: {
    file: string;
    args: readonly string[];
    input: string | undefined;
    files: { path: string; mode: number; content: string }[];
  }[] = [];
  readonly #inner: CommandRunner;
  constructor(inner: CommandRunner) {
    this.#inner = inner;
  }
  get netns(): string | null {
    return this.#inner.netns;
  }
  run(file: string, args: readonly string[], options?: RunOptions): Promise<CommandResult> {
    // The key files only exist while their command runs.
    const files = args
      .filter((arg) => /\/vpncp-wg-[^/]+\//.test(arg))
      .map((path) => ({ path, mode: statSync(path).mode & 0o777, content: readFileSync(path, "utf8") }));
    this.calls.push({ file, args: [...args], input: options?.input, files });
    return this.#inner.run(file, args, options);
  }
  spawn(file: string, args: readonly string[], options?: SpawnOptions): DaemonHandle {
    this.calls.push({ file, args: [...args], input: undefined, files: [] });
    return this.#inner.spawn(file, args, options);
  }
}

/** Whether wireguard-go accepts connections on its UAPI socket. */
function uapiAnswers(name: string): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(`/var/run/wireguard/${name}.sock`);
    socket.once("connect", () => {
      socket.destroy();
      resolve(true);
    });
    socket.once("error", () => resolve(false));
  });
}

function processGone(pid: number): boolean {
  try {
    // Signal 0 still reaches a zombie: "gone" means exited and reaped.
    process.kill(pid, 0);
    return false;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "ESRCH";
  }
}

async function until<T>(what: string, probe: () => Promise<T | null | undefined | false>, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe().catch(() => null);
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

describe.skipIf(Boolean(skip))("wireguard-tools with a real client (tests build on each other)", () => {
  const serverKeys = generateWgKeyPair();
  const clientKeys = generateWgKeyPair();
  const psk = generatePresharedKey();
  const others = [generateWgKeyPair(), generateWgKeyPair(), generateWgKeyPair()];
  const otherPsk = generatePresharedKey();
  const secrets = [serverKeys.privateKey, clientKeys.privateKey, psk, otherPsk];

  const serverName = uniqueName("ws");
  const clientName = uniqueName("wc");
  const spec = {
    name: serverName,
    privateKey: serverKeys.privateKey,
    listenPort: 51820,
    addresses: ["10.0.105.1/24", "fd00:105::1/64"],
    mtu: 1380,
  };
  const clientPeer: WgPeerSpec = { publicKey: clientKeys.publicKey, allowedIps: ["10.0.105.18/32", "fd00:105::12/128"], presharedKey: psk };
  const otherPeer: WgPeerSpec = { publicKey: others[0]!.publicKey, allowedIps: ["10.0.105.40/32"] };

  let srv: TestNamespace;
  let cli: TestNamespace;
  let runner: RecordingRunner;
  let driver: WireGuardToolsDriver;
  let clientDaemon: DaemonHandle | undefined;
  let secretDir: string;
  /** The driver's own temp dir for key files, so that the test can see they are all gone. */
  let driverTemp: string;
  const logged: string[] = [];

  const dump = async () => {
    const state = await driver.dump(serverName);
    if (!state) throw new Error("server interface missing");
    return state;
  };
  const clientState = async (): Promise<WgPeerState> => {
    const peer = (await dump()).peers.find((p) => p.publicKey === clientKeys.publicKey);
    if (!peer) throw new Error("client peer missing");
    return peer;
  };
  const ping = (address: string) =>
    cli.exec("ping", [...(address.includes(":") ? ["-6"] : []), "-c", "3", "-i", "0.2", "-W", "2", address]);
  /**
   * For the first packets after a new handshake: wireguard-go binds its UDP port only once its link
   * is up, and a lost handshake initiation is retried after REKEY_TIMEOUT (5 s).
   */
  const pingAfterHandshake = (address: string) => until(`a ping to ${address}`, async () => ping(address));
  /** The client forgets its session (peer removed and added again), so its next packet needs a new handshake. */
  const clientRehandshake = () => {
    cli.exec("wg", ["set", clientName, "peer", serverKeys.publicKey, "remove"]);
    cli.exec("wg", [
      "set",
      clientName,
      ...["peer", serverKeys.publicKey, "preshared-key", join(secretDir, "psk"), "endpoint", "192.0.2.1:51820"],
      ...["allowed-ips", "10.0.105.0/24,fd00:105::/64"],
    ]);
  };

  beforeAll(async () => {
    srv = createNamespace();
    cli = createNamespace();
    linkNamespaces(srv, "192.0.2.1/24", cli, "192.0.2.2/24");
    runner = new RecordingRunner(srv.runner);
    driverTemp = mkdtempSync(join(tmpdir(), "vpncp-wgtest-"));
    driver = new WireGuardToolsDriver({
      runner,
      tempDir: driverTemp,
      logger: { info: (m) => logged.push(m), warn: (m) => logged.push(m) },
    });

    // The client is configured by hand, like a user's device: keys in 0600 files of a 0700 dir.
    secretDir = mkdtempSync(join(tmpdir(), "vpncp-wgclient-"));
    writeFileSync(join(secretDir, "key"), `${clientKeys.privateKey}\n`, { mode: 0o600 });
    writeFileSync(join(secretDir, "psk"), `${psk}\n`, { mode: 0o600 });
    clientDaemon = cli.runner.spawn("wireguard-go", [clientName], { env: { WG_PROCESS_FOREGROUND: "1", LOG_LEVEL: "error" } });
    // Not `wg show` to wait: wg unlinks a socket that refuses it, as a starting wireguard-go's may.
    await until("the client's wireguard-go", () => uapiAnswers(clientName));
    cli.exec("wg", ["set", clientName, "private-key", join(secretDir, "key")]);
    clientRehandshake();
    cli.exec("ip", ["address", "add", "10.0.105.18/24", "dev", clientName]);
    cli.exec("ip", ["address", "add", "fd00:105::12/64", "dev", clientName]);
    cli.exec("ip", ["link", "set", "dev", clientName, "up"]);
  });

  afterAll(async () => {
    try {
      await driver?.dispose();
      await clientDaemon?.stop();
    } finally {
      srv?.dispose();
      cli?.dispose();
      if (secretDir) rmSync(secretDir, { recursive: true, force: true });
      if (driverTemp) rmSync(driverTemp, { recursive: true, force: true });
    }
  });

  test("applyInterface brings up a server the client handshakes with and pings through (IPv4 and IPv6)", async () => {
    await driver.applyInterface(spec, [clientPeer, otherPeer]);
    await pingAfterHandshake("10.0.105.1");
    const addresses = srv.exec("ip", ["-o", "address", "show", "dev", serverName]);
    expect(addresses).toContain("inet 10.0.105.1/24");
    expect(addresses).toContain("inet6 fd00:105::1/64");
    expect(srv.exec("ip", ["link", "show", "dev", serverName])).toMatch(/mtu 1380 .*state UNKNOWN/);

    ping("10.0.105.1");
    ping("fd00:105::1");
    const peer = await clientState();
    expect(peer.endpoint).toMatch(/^192\.0\.2\.2:\d+$/);
    expect(peer.latestHandshake).toBeGreaterThan(0);
    expect(peer.rxBytes).toBeGreaterThan(0);
    expect(peer.txBytes).toBeGreaterThan(0);
  });

  test("updatePeers on other peers keeps the client's session: same endpoint and handshake, counters not reset", async () => {
    const before = await clientState();
    await driver.updatePeers(serverName, {
      upsert: [
        { ...otherPeer, allowedIps: ["10.0.105.40/32", "fd00:105::40/128"], persistentKeepalive: 30 },
        { publicKey: others[1]!.publicKey, allowedIps: ["10.0.105.41/32"], presharedKey: otherPsk },
      ],
      remove: [],
    });
    const after = await clientState();
    expect(after.endpoint).toBe(before.endpoint);
    expect(after.latestHandshake).toBe(before.latestHandshake);
    expect(after.rxBytes).toBeGreaterThanOrEqual(before.rxBytes);
    expect(after.txBytes).toBeGreaterThanOrEqual(before.txBytes);
    ping("10.0.105.1");
    const later = await clientState();
    expect(later.rxBytes).toBeGreaterThan(before.rxBytes);
    expect(later.latestHandshake).toBe(before.latestHandshake);
  });

  test("re-applying with an added peer keeps the client's session", async () => {
    const before = await clientState();
    await driver.applyInterface(spec, [
      clientPeer,
      { ...otherPeer, allowedIps: ["10.0.105.40/32", "fd00:105::40/128"], persistentKeepalive: 30 },
      { publicKey: others[1]!.publicKey, allowedIps: ["10.0.105.41/32"], presharedKey: otherPsk },
      { publicKey: others[2]!.publicKey, allowedIps: ["10.0.105.42/32"] },
    ]);
    const after = await clientState();
    expect(after.endpoint).toBe(before.endpoint);
    expect(after.latestHandshake).toBe(before.latestHandshake);
    expect(after.rxBytes).toBeGreaterThanOrEqual(before.rxBytes);
    expect((await dump()).peers).toHaveLength(4);
    ping("10.0.105.1");
    ping("fd00:105::1");
    expect((await clientState()).latestHandshake).toBe(before.latestHandshake);
  });

  test("updatePeers of the client itself (with its preshared key) keeps the session, and the key is right", async () => {
    const before = await clientState();
    await driver.updatePeers(serverName, {
      upsert: [clientPeer, { publicKey: others[1]!.publicKey, allowedIps: ["10.0.105.41/32"], presharedKey: otherPsk }],
      remove: [others[2]!.publicKey],
    });
    const after = await clientState();
    expect(after).toMatchObject({ endpoint: before.endpoint, latestHandshake: before.latestHandshake, hasPresharedKey: true });
    expect((await dump()).peers.map((p) => p.publicKey)).not.toContain(others[2]!.publicKey);
    await driver.updatePeers(serverName, { upsert: [clientPeer], remove: [] });
    ping("10.0.105.1");
    // A new handshake only succeeds if the server holds the same preshared key as the client.
    clientRehandshake();
    await pingAfterHandshake("10.0.105.1");
    expect((await clientState()).latestHandshake).toBeGreaterThanOrEqual(before.latestHandshake);
  });

  test("re-applying with other addresses removes the old ones and adds the new ones", async () => {
    const current = (await dump()).peers.map((p): WgPeerSpec => {
      if (p.publicKey === clientKeys.publicKey) return clientPeer;
      if (p.publicKey === others[1]!.publicKey) return { publicKey: p.publicKey, allowedIps: p.allowedIps, presharedKey: otherPsk };
      return { publicKey: p.publicKey, allowedIps: p.allowedIps, persistentKeepalive: p.persistentKeepalive ?? undefined };
    });
    await driver.applyInterface({ ...spec, addresses: ["10.0.105.1/24", "10.0.107.1/24"] }, current);
    let addresses = srv.exec("ip", ["-o", "address", "show", "dev", serverName]);
    expect(addresses).toContain("inet 10.0.107.1/24");
    expect(addresses).not.toContain("fd00:105::1/64");
    await driver.applyInterface(spec, current);
    addresses = srv.exec("ip", ["-o", "address", "show", "dev", serverName]);
    expect(addresses).not.toContain("10.0.107.1");
    expect(addresses).toContain("inet6 fd00:105::1/64");
    ping("fd00:105::1");
  });

  test("when wireguard-go dies, the driver starts it again with the last config (peer changes included)", async () => {
    const peersBefore = (await dump()).peers.map((p) => ({
      publicKey: p.publicKey,
      allowedIps: [...p.allowedIps].sort(),
      hasPresharedKey: p.hasPresharedKey,
    }));
    const pid = driver.daemonPid(serverName);
    expect(pid).toBeTypeOf("number");
    process.kill(pid!, "SIGKILL");
    const restarted = await until("a new wireguard-go", async () => {
      const now = driver.daemonPid(serverName);
      if (now === null || now === pid) return null;
      // Configured again: the link is up (the last step), with its peers.
      const up = /<[^>]*\bUP\b/.test(srv.exec("ip", ["link", "show", "dev", serverName]));
      return up && (await driver.dump(serverName))?.peers.length === peersBefore.length ? now : null;
    });
    expect(processGone(pid!)).toBe(true);
    expect(restarted).not.toBe(pid);
    const state = await dump();
    expect(state.listenPort).toBe(51820);
    expect(state.publicKey).toBe(serverKeys.publicKey);
    const sortPeers = <T extends { publicKey: string }>(list: T[]) => list.sort((a, b) => a.publicKey.localeCompare(b.publicKey));
    expect(
      sortPeers(
        state.peers.map((p) => ({ publicKey: p.publicKey, allowedIps: [...p.allowedIps].sort(), hasPresharedKey: p.hasPresharedKey })),
      ),
    ).toEqual(sortPeers(peersBefore));
    expect(srv.exec("ip", ["-o", "address", "show", "dev", serverName])).toContain("inet 10.0.105.1/24");
    expect(logged.some((line) => line.includes("exited unexpectedly"))).toBe(true);
    // The client's old session died with the daemon: a fresh handshake must work.
    clientRehandshake();
    await pingAfterHandshake("10.0.105.1");
    ping("fd00:105::1");
  });

  test("no command line, stdin, log line or driver error ever held a private or preshared key; they went in 0600 files", async () => {
    const error = await driver.applyInterface({ ...spec, privateKey: `${serverKeys.privateKey.slice(0, -2)}!=` }, []).then(
      () => null,
      (e: unknown) => e as Error,
    );
    expect(error).toBeInstanceOf(Error);
    const texts = [...runner.calls.map((c) => [c.file, ...c.args, c.input ?? ""].join(" ")), ...logged, `${error?.message}`];
    for (const text of texts) for (const secret of secrets) expect(text).not.toContain(secret);
    const files = runner.calls.flatMap((c) => c.files.map((f) => ({ command: c.args[0], ...f })));
    expect(files.length).toBeGreaterThan(0);
    for (const f of files) expect(f.mode).toBe(0o600);
    expect(files.some((f) => f.command === "syncconf" && f.content.includes(serverKeys.privateKey))).toBe(true);
    expect(files.some((f) => f.command === "set" && f.content === `${psk}\n`)).toBe(true);
    expect(files.every((f) => f.path.startsWith(`${driverTemp}/vpncp-wg-`))).toBe(true);
    expect(readdirSync(driverTemp)).toEqual([]);
    expect(runner.calls.filter((c) => c.file === "wireguard-go").map((c) => c.args)).toEqual([[serverName], [serverName]]);
  });

  test("removeInterface deletes the link; wireguard-go exits and is reaped", async () => {
    const pid = driver.daemonPid(serverName);
    expect(pid).toBeTypeOf("number");
    await driver.removeInterface(serverName);
    expect(processGone(pid!)).toBe(true);
    expect(await driver.dump(serverName)).toBeNull();
    expect(driver.daemonPid(serverName)).toBeNull();
    expect(await driver.listInterfaces()).toEqual([]);
  });

  test("dispose stops the daemons it started and reaps them", async () => {
    const own = new WireGuardToolsDriver({ runner: srv.runner });
    const name = uniqueName("wd");
    await own.applyInterface({ ...spec, name, listenPort: 51830 }, []);
    const pid = own.daemonPid(name);
    expect(pid).toBeTypeOf("number");
    await own.dispose();
    expect(processGone(pid!)).toBe(true);
    expect((await srv.runner.run("ip", ["link", "show", "dev", name], { allowFailure: true })).exitCode).not.toBe(0);
  });

  test("info reports the tools in use", async () => {
    expect(await driver.info()).toEqual({ "wireguard-tools": "v1.0.20210914", implementation: "wireguard-go 0.0.20220316" });
  });
});
