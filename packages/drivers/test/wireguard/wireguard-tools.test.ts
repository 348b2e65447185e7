import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { CommandError, type DaemonHandle } from "@vpncp/core";
import { describe, expect, onTestFinished, test, vi } from "vitest";
import { FakeCommandRunner } from "../../src/command-runner/fake.js";
import { parseWgDump, renderSyncConf, WireGuardToolsDriver } from "../../src/wireguard/wireguard-tools.js";
import { generatePresharedKey, generateWgKeyPair } from "../contract/wireguard.js";

const server = generateWgKeyPair();
const alice = generateWgKeyPair();
const bob = generateWgKeyPair();
const carol = generateWgKeyPair();
const dave = generateWgKeyPair();

/** Every argv the runner saw, as one string per command, key file paths shown as <file>. */
function argvOf(runner: FakeCommandRunner): string[] {
  return runner.commands.map((c) => [c.file, ...c.args].join(" ").replace(/\/\S*\/vpncp-wg-[^/ ]+\/\S+/g, "<file>"));
}

interface SecretFile {
  readonly path: string;
  readonly mode: number;
  readonly dirMode: number;
  readonly content: string;
}

/** Reads the driver's key files while the command that names them runs (they are gone afterwards). */
function secretFilesOf(args: readonly string[]): SecretFile[] {
  return args
    .filter((arg) => /\/vpncp-wg-[^/]+\//.test(arg))
    .map((path) => ({
      path,
      mode: statSync(path).mode & 0o777,
      dirMode: statSync(dirname(path)).mode & 0o777,
      content: readFileSync(path, "utf8"),
    }));
}

describe("parseWgDump", () => {
  // The lab's sample (docs: /work/shared/lab/README.md §1), with full-length keys.
  const psk = generatePresharedKey();
  const sample = [
    `${server.privateKey}\t${server.publicKey}\t51820\toff`,
    `${alice.publicKey}\t${psk}\t192.0.2.2:38446\t10.0.105.18/32,10.0.105.20/32\t1795433554\t692\t604\toff`,
    `${bob.publicKey}\t(none)\t(none)\t10.0.105.18/32\t0\t0\t0\toff`,
    `${carol.publicKey}\t(none)\t[fd00::2]:51820\t(none)\t0\t0\t0\t25`,
    "",
  ].join("\n");

  test("reads the interface line and each peer line, without the private key or preshared key", () => {
    const state = parseWgDump("wg0", sample);
    expect(state).toEqual({
      name: "wg0",
      publicKey: server.publicKey,
      listenPort: 51820,
      fwmark: null,
      peers: [
        {
          publicKey: alice.publicKey,
          hasPresharedKey: true,
          endpoint: "192.0.2.2:38446",
          allowedIps: ["10.0.105.18/32", "10.0.105.20/32"],
          latestHandshake: 1795433554,
          rxBytes: 692,
          txBytes: 604,
          persistentKeepalive: null,
        },
        {
          publicKey: bob.publicKey,
          hasPresharedKey: false,
          endpoint: null,
          allowedIps: ["10.0.105.18/32"],
          latestHandshake: 0,
          rxBytes: 0,
          txBytes: 0,
          persistentKeepalive: null,
        },
        {
          publicKey: carol.publicKey,
          hasPresharedKey: false,
          endpoint: "[fd00::2]:51820",
          allowedIps: [],
          latestHandshake: 0,
          rxBytes: 0,
          txBytes: 0,
          persistentKeepalive: 25,
        },
      ],
    });
    expect(JSON.stringify(state)).not.toContain(server.privateKey);
    expect(JSON.stringify(state)).not.toContain(psk);
  });

  test("a fwmark is read as a number; an interface without keys or peers has an empty public key", () => {
    expect(parseWgDump("wg1", "(none)\t(none)\t0\t0x1f\n")).toEqual({ name: "wg1", publicKey: "", listenPort: 0, fwmark: 31, peers: [] });
  });

  test("malformed output is an error that does not quote it", () => {
    expect(() => parseWgDump("wg0", `${server.privateKey}\t${server.publicKey}\t51820\n`)).toThrow(/unexpected interface line/);
    const error = (() => {
      try {
        parseWgDump("wg0", `${server.privateKey}\t${server.publicKey}\t51820\toff\n${alice.publicKey}\t(none)\n`);
      } catch (e) {
        return e as Error;
      }
      return null;
    })();
    expect(error?.message).toMatch(/unexpected peer line 2/);
    expect(error?.message).not.toContain(server.privateKey);
  });
});

describe("renderSyncConf", () => {
  test('writes every field of every peer, "none" spelled out (syncconf keeps what a file leaves out)', () => {
    const psk = generatePresharedKey();
    const text = renderSyncConf({ name: "wg0", privateKey: server.privateKey, listenPort: 51820, addresses: ["10.0.105.1/24"] }, [
      { publicKey: alice.publicKey, allowedIps: ["10.0.105.18/32", "fd00:105::12/128"], presharedKey: psk, persistentKeepalive: 25 },
      { publicKey: bob.publicKey, allowedIps: [] },
    ]);
    expect(text).toBe(
      [
        "[Interface]",
        `PrivateKey = ${server.privateKey}`,
        "ListenPort = 51820",
        "",
        "[Peer]",
        `PublicKey = ${alice.publicKey}`,
        `PresharedKey = ${psk}`,
        "AllowedIPs = 10.0.105.18/32, fd00:105::12/128",
        "PersistentKeepalive = 25",
        "",
        "[Peer]",
        `PublicKey = ${bob.publicKey}`,
        "PresharedKey = AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
        "PersistentKeepalive = off",
        "",
      ].join("\n"),
    );
  });
});

/** A temp dir removed when the current test ends. */
function tempDirForTest(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** A UAPI socket that accepts and hangs up, like a live wireguard-go; closing it unlinks the file. */
function listenUapi(path: string): Server {
  const server = createServer((conn) => conn.destroy());
  server.listen(path);
  onTestFinished(() => void server.close());
  return server;
}

type UserspaceRunner = FakeCommandRunner & { readonly socketDir: string; crash(): Promise<void> };

/**
 * A runner where the kernel has no WireGuard and wireguard-go starts: the link and the UAPI socket
 * (a real one, in `socketDir`) exist while the fake daemon lives; deleting the link ends it, and
 * so does `crash()`.
 */
function userspaceRunner(options: { addresses?: object[]; files?: SecretFile[]; diesWhileStarting?: number } = {}): UserspaceRunner {
  const socketDir = tempDirForTest("vpncp-wgsock-");
  let daemon: DaemonHandle | null = null;
  let alive = false;
  const runner = new FakeCommandRunner({ netns: "ns1" });
  const spawn = runner.spawn.bind(runner);
  let dying = options.diesWhileStarting ?? 0;
  runner.spawn = (file, args) => {
    const handle = spawn(file, args);
    if (dying > 0) {
      // Like a wireguard-go whose fresh socket was unlinked: it exits before it answers.
      dying -= 1;
      void handle.stop();
      return handle;
    }
    const uapi = listenUapi(join(socketDir, `${args[0]}.sock`));
    daemon = handle;
    alive = true;
    void handle.exited.then(() => {
      uapi.close();
      if (daemon === handle) alive = false;
    });
    return handle;
  };
  runner.respond((file, args) => {
    const line = [file, ...args].join(" ");
    // Like wireguard-go, the daemon exits when its link is deleted.
    if (line.startsWith("ip link del")) void daemon?.stop();
    options.files?.push(...secretFilesOf(args));
    if (line.startsWith("ip link show dev")) return alive ? {} : { exitCode: 1, stderr: 'Device "wg0" does not exist.\n' };
    if (line.startsWith("ip link add")) return { exitCode: 2, stderr: "Error: Unknown device type.\n" };
    if (line.startsWith("ip -j address show")) return { stdout: JSON.stringify([{ ifname: "wg0", addr_info: options.addresses ?? [] }]) };
    return undefined;
  });
  // Stopping the handle behind the driver's back is an unexpected exit, as a crash would be.
  return Object.assign(runner, { socketDir, crash: async () => void (await daemon?.stop()) });
}

describe("WireGuardToolsDriver command lines", () => {
  const spec = {
    name: "wg0",
    privateKey: server.privateKey,
    listenPort: 51820,
    addresses: ["10.0.105.1/24", "FD00:0105::1/64"],
    mtu: 1380,
  };

  test("applyInterface without a kernel module: wireguard-go, syncconf from a 0600 file, addresses, MTU, up", async () => {
    const files: SecretFile[] = [];
    const runner = userspaceRunner({
      files,
      addresses: [
        { family: "inet6", local: "fe80::8b64:4635:41d7:140d", prefixlen: 64, scope: "link" },
        { family: "inet", local: "10.9.9.9", prefixlen: 24, scope: "global" },
        { family: "inet", local: "10.0.105.1", prefixlen: 24, scope: "global" },
      ],
    });
    const driver = new WireGuardToolsDriver({ runner, socketDir: runner.socketDir });
    const psk = generatePresharedKey();
    await driver.applyInterface(spec, [{ publicKey: alice.publicKey, allowedIps: ["10.0.105.18/32"], presharedKey: psk }]);
    expect(argvOf(runner)).toEqual([
      "ip link show dev wg0",
      "ip link add dev wg0 type wireguard",
      "wireguard-go wg0",
      "wg syncconf wg0 <file>",
      "ip -j address show dev wg0",
      "ip address del 10.9.9.9/24 dev wg0",
      "ip address add fd00:105::1/64 dev wg0",
      "ip link set dev wg0 mtu 1380 up",
    ]);
    expect(files.map((f) => [f.mode, f.dirMode, f.content])).toEqual([
      [0o600, 0o700, renderSyncConf(spec, [{ publicKey: alice.publicKey, allowedIps: ["10.0.105.18/32"], presharedKey: psk }])],
    ]);
    expect(existsSync(dirname(files[0]!.path))).toBe(false);
    for (const line of argvOf(runner)) {
      expect(line).not.toContain(server.privateKey);
      expect(line).not.toContain(psk);
    }
    expect(driver.daemonPid("wg0")).toBeTypeOf("number");
    await driver.dispose();
  });

  test("applyInterface with a kernel module creates a link and starts no daemon", async () => {
    const runner = new FakeCommandRunner().respond((file, args) =>
      file === "ip" && args[0] === "link" && args[1] === "show" ? { exitCode: 1 } : undefined,
    );
    const driver = new WireGuardToolsDriver({ runner });
    await driver.applyInterface({ ...spec, mtu: undefined }, []);
    expect(argvOf(runner).slice(0, 3)).toEqual(["ip link show dev wg0", "ip link add dev wg0 type wireguard", "wg syncconf wg0 <file>"]);
    expect(argvOf(runner).at(-1)).toBe("ip link set dev wg0 up");
    expect(runner.commands.some((c) => c.file === "wireguard-go")).toBe(false);
    expect(driver.daemonPid("wg0")).toBeNull();
  });

  test('implementation "kernel" does not fall back to wireguard-go', async () => {
    const runner = userspaceRunner();
    const driver = new WireGuardToolsDriver({ runner, implementation: "kernel", socketDir: runner.socketDir });
    await expect(driver.applyInterface(spec, [])).rejects.toThrow(/Unknown device type/);
    expect(runner.commands.some((c) => c.file === "wireguard-go")).toBe(false);
  });

  test("a wg error that echoes a secret is redacted, and the half-made interface is removed", async () => {
    const runner = userspaceRunner();
    runner.respond((file, args) =>
      file === "wg" && args[0] === "syncconf"
        ? { exitCode: 1, stderr: `Key is not the correct length or format: \`${server.privateKey}'\nConfiguration parsing error\n` }
        : undefined,
    );
    const driver = new WireGuardToolsDriver({ runner, socketDir: runner.socketDir });
    const error = await driver.applyInterface(spec, []).then(
      () => null,
      (e: unknown) => e as CommandError,
    );
    expect(error).toBeInstanceOf(CommandError);
    expect(error?.message).toContain("Key is not the correct length or format");
    expect(`${error?.message} ${error?.stderr} ${error?.args.join(" ")} ${String(error?.cause)}`).not.toContain(server.privateKey);
    expect(argvOf(runner)).toContain("ip link del dev wg0");
    await driver.dispose();
  });

  test("a crashed wireguard-go is started again and given the last config, peer changes included", async () => {
    const files: SecretFile[] = [];
    const runner = userspaceRunner({ files });
    const logged: string[] = [];
    const driver = new WireGuardToolsDriver({
      runner,
      socketDir: runner.socketDir,
      logger: { info: (m) => logged.push(m), warn: (m) => logged.push(m) },
    });
    const alicePeer = { publicKey: alice.publicKey, allowedIps: ["10.0.105.18/32"], presharedKey: generatePresharedKey() };
    const bobPeer = { publicKey: bob.publicKey, allowedIps: ["10.0.105.19/32"] };
    await driver.applyInterface(spec, [alicePeer]);
    await driver.updatePeers("wg0", { upsert: [bobPeer], remove: [] });
    const pid = driver.daemonPid("wg0");
    runner.commands.length = 0;
    files.length = 0;
    await runner.crash();
    await vi.waitFor(() => expect(argvOf(runner)).toContain("ip link set dev wg0 mtu 1380 up"));
    expect(argvOf(runner)).toEqual([
      "ip link show dev wg0",
      "wireguard-go wg0",
      "wg syncconf wg0 <file>",
      "ip -j address show dev wg0",
      "ip address add 10.0.105.1/24 dev wg0",
      "ip address add fd00:105::1/64 dev wg0",
      "ip link set dev wg0 mtu 1380 up",
    ]);
    expect(files.map((f) => f.content)).toEqual([renderSyncConf(spec, [alicePeer, bobPeer])]);
    expect(driver.daemonPid("wg0")).not.toBe(pid);
    expect(logged.some((m) => m.includes(`wireguard-go wg0 (pid ${pid}) exited unexpectedly`))).toBe(true);
    await driver.dispose();
  });

  test("when re-configuring a restarted wireguard-go fails, that daemon is stopped and the restart tried again", async () => {
    let failSyncconf = false;
    const runner = userspaceRunner();
    runner.respond((file, args) => {
      if (file === "wg" && args[0] === "syncconf" && failSyncconf) {
        failSyncconf = false;
        return { exitCode: 1, stderr: "Unable to modify interface: Resource temporarily unavailable\n" };
      }
      return undefined;
    });
    const driver = new WireGuardToolsDriver({ runner, socketDir: runner.socketDir });
    await driver.applyInterface(spec, []);
    runner.commands.length = 0;
    failSyncconf = true;
    await runner.crash();
    await vi.waitFor(() => expect(argvOf(runner)).toContain("ip link set dev wg0 mtu 1380 up"), { timeout: 5000 });
    const lines = argvOf(runner);
    expect(lines.filter((l) => l === "wireguard-go wg0")).toHaveLength(2);
    expect(lines.filter((l) => l === "wg syncconf wg0 <file>")).toHaveLength(2);
    expect(driver.daemonPid("wg0")).toBeTypeOf("number");
    await driver.dispose();
  });

  test("updatePeers is exactly one `wg set` for the whole change; preshared keys in 0600 files of a 0700 dir, removed afterwards", async () => {
    const files: SecretFile[] = [];
    const runner = new FakeCommandRunner().respond((_file, args) => {
      files.push(...secretFilesOf(args));
      return undefined;
    });
    const driver = new WireGuardToolsDriver({ runner });
    const psks = [generatePresharedKey(), generatePresharedKey()];
    await driver.updatePeers("wg0", {
      upsert: [
        { publicKey: alice.publicKey, allowedIps: ["10.0.105.18/32", "fd00:105::12/128"], presharedKey: psks[0], persistentKeepalive: 25 },
        { publicKey: bob.publicKey, allowedIps: ["10.0.105.19/32"] },
        { publicKey: carol.publicKey, allowedIps: [], presharedKey: psks[1] },
      ],
      remove: [dave.publicKey],
    });
    expect(runner.commands).toHaveLength(1);
    expect(runner.commands[0]?.args).toEqual([
      "set",
      "wg0",
      ...[
        "peer",
        alice.publicKey,
        "allowed-ips",
        "10.0.105.18/32,fd00:105::12/128",
        "persistent-keepalive",
        "25",
        "preshared-key",
        files[0]?.path,
      ],
      ...["peer", bob.publicKey, "allowed-ips", "10.0.105.19/32", "persistent-keepalive", "off", "preshared-key", "/dev/null"],
      ...["peer", carol.publicKey, "allowed-ips", "", "persistent-keepalive", "off", "preshared-key", files[1]?.path],
      ...["peer", dave.publicKey, "remove"],
    ]);
    expect(files.map((f) => [f.mode, f.dirMode, f.content])).toEqual([
      [0o600, 0o700, `${psks[0]}\n`],
      [0o600, 0o700, `${psks[1]}\n`],
    ]);
    for (const f of files) expect(existsSync(dirname(f.path))).toBe(false);
    for (const arg of runner.commands[0]?.args ?? []) for (const psk of psks) expect(arg).not.toContain(psk);
  });

  test("a wg set error that echoes a preshared key is redacted; the key files are removed anyway", async () => {
    const files: SecretFile[] = [];
    const psk = generatePresharedKey();
    const runner = new FakeCommandRunner().respond((_file, args) => {
      files.push(...secretFilesOf(args));
      return { exitCode: 1, stderr: `Key is not the correct length or format: \`${psk}'\n` };
    });
    const error = await new WireGuardToolsDriver({ runner })
      .updatePeers("wg0", { upsert: [{ publicKey: alice.publicKey, allowedIps: [], presharedKey: psk }], remove: [] })
      .then(
        () => null,
        (e: unknown) => e as CommandError,
      );
    expect(error).toBeInstanceOf(CommandError);
    expect(`${error?.message} ${error?.stderr}`).not.toContain(psk);
    expect(files).toHaveLength(1);
    expect(existsSync(dirname(files[0]!.path))).toBe(false);
  });

  test("updatePeers with an empty change runs nothing", async () => {
    const runner = new FakeCommandRunner();
    await new WireGuardToolsDriver({ runner }).updatePeers("wg0", { upsert: [], remove: [] });
    expect(runner.commands).toEqual([]);
  });

  test("a malformed preshared key is refused before any command runs, without quoting it", async () => {
    const runner = new FakeCommandRunner();
    const driver = new WireGuardToolsDriver({ runner });
    const error = await driver
      .updatePeers("wg0", { upsert: [{ publicKey: alice.publicKey, allowedIps: [], presharedKey: "hunter2hunter2" }], remove: [] })
      .then(
        () => null,
        (e: unknown) => e as Error,
      );
    expect(error?.message).toMatch(/preshared key .* is not a valid WireGuard key/);
    expect(error?.message).not.toContain("hunter2");
    expect(runner.commands).toEqual([]);
  });

  test("names that could be read as options are refused", async () => {
    const runner = new FakeCommandRunner();
    const driver = new WireGuardToolsDriver({ runner });
    await expect(driver.dump("--help")).rejects.toThrow(/invalid interface name/);
    await expect(driver.removeInterface("a/b")).rejects.toThrow(/invalid interface name/);
    await expect(driver.updatePeers("x".repeat(16), { upsert: [], remove: [alice.publicKey] })).rejects.toThrow(/invalid interface name/);
    expect(runner.commands).toEqual([]);
  });

  test("dump is null when the link is not in this namespace, even if a socket of that name answers", async () => {
    const runner = new FakeCommandRunner().respond((file) =>
      file === "ip"
        ? { exitCode: 1, stderr: 'Device "wg0" does not exist.\n' }
        : { stdout: `${server.privateKey}\t${server.publicKey}\t51820\toff\n` },
    );
    expect(await new WireGuardToolsDriver({ runner }).dump("wg0")).toBeNull();
  });

  test("dump parses `wg show <if> dump` of an existing interface", async () => {
    const runner = new FakeCommandRunner().respond((file) =>
      file === "wg" ? { stdout: `${server.privateKey}\t${server.publicKey}\t51820\toff\n` } : undefined,
    );
    expect(await new WireGuardToolsDriver({ runner }).dump("wg0")).toEqual({
      name: "wg0",
      publicKey: server.publicKey,
      listenPort: 51820,
      fwmark: null,
      peers: [],
    });
    expect(argvOf(runner).sort()).toEqual(["ip link show dev wg0", "wg show wg0 dump"]);
  });

  test("listInterfaces: kernel WireGuard links and TUNs with a live wireguard-go socket, of this namespace only", async () => {
    const socketDir = tempDirForTest("vpncp-wgsock-");
    // wgu: ours (socket answers); other-ns: a socket without a link here; tun0: a TUN that is not
    // WireGuard; stale: a TUN whose socket file is left over from a killed daemon.
    listenUapi(join(socketDir, "wgu.sock"));
    listenUapi(join(socketDir, "other-ns.sock"));
    writeFileSync(join(socketDir, "stale.sock"), "");
    const links = [
      { ifname: "lo" },
      { ifname: "wgu", linkinfo: { info_kind: "tun" } },
      { ifname: "eth0", linkinfo: { info_kind: "veth" } },
      { ifname: "wgk", linkinfo: { info_kind: "wireguard" } },
      { ifname: "tun0", linkinfo: { info_kind: "tun" } },
      { ifname: "stale", linkinfo: { info_kind: "tun" } },
    ];
    const runner = new FakeCommandRunner().respond(() => ({ stdout: JSON.stringify(links) }));
    await vi.waitFor(() => expect(existsSync(join(socketDir, "wgu.sock"))).toBe(true));
    expect(await new WireGuardToolsDriver({ runner, socketDir }).listInterfaces()).toEqual(["wgk", "wgu"]);
    expect(argvOf(runner)).toEqual(["ip -j -d link show"]);
    // A refused connection is no reason to delete a socket file (wg would).
    expect(existsSync(join(socketDir, "stale.sock"))).toBe(true);
  });

  test("a wireguard-go that dies while starting is started again (twice at most)", async () => {
    const logged: string[] = [];
    const runner = userspaceRunner({ diesWhileStarting: 2 });
    const driver = new WireGuardToolsDriver({
      runner,
      socketDir: runner.socketDir,
      logger: { info: () => {}, warn: (m) => logged.push(m) },
    });
    await driver.applyInterface(spec, []);
    expect(runner.commands.filter((c) => c.file === "wireguard-go")).toHaveLength(3);
    expect(logged.filter((m) => m.includes("before it was ready; trying again"))).toHaveLength(2);
    await driver.dispose();

    const failing = userspaceRunner({ diesWhileStarting: 3 });
    await expect(new WireGuardToolsDriver({ runner: failing, socketDir: failing.socketDir }).applyInterface(spec, [])).rejects.toThrow(
      /wireguard-go wg0 exited \(SIGTERM\) before it was ready/,
    );
    expect(failing.commands.filter((c) => c.file === "wireguard-go")).toHaveLength(3);
  });

  test("a live socket of the same name elsewhere is refused before wireguard-go starts", async () => {
    const runner = userspaceRunner();
    const server = listenUapi(join(runner.socketDir, "wg0.sock"));
    await vi.waitFor(() => expect(server.listening).toBe(true));
    await expect(new WireGuardToolsDriver({ runner, socketDir: runner.socketDir }).applyInterface(spec, [])).rejects.toThrow(
      /wg0 is already used by a WireGuard interface of another namespace/,
    );
    expect(runner.commands.some((c) => c.file === "wireguard-go")).toBe(false);
  });

  test("info asks for versions with --version only (never --help)", async () => {
    const runner = new FakeCommandRunner().respond((file) => {
      if (file === "wg") return { stdout: "wireguard-tools v1.0.20210914 - https://git.zx2c4.com/wireguard-tools/\n" };
      if (file === "wireguard-go") return { stdout: "wireguard-go v0.0.20220316\n\nUserspace WireGuard daemon for linux-amd64.\n" };
      return undefined;
    });
    const info = await new WireGuardToolsDriver({ runner, implementation: "userspace" }).info();
    expect(info).toEqual({ "wireguard-tools": "v1.0.20210914", implementation: "wireguard-go 0.0.20220316" });
    expect(argvOf(runner)).toEqual(["wg --version", "wireguard-go --version"]);
  });

  test("info in auto mode probes the kernel with a throwaway link", async () => {
    const runner = new FakeCommandRunner().respond((file, args) => {
      if (file === "wg") return { stdout: "wireguard-tools v1.0.20210914 - https://git.zx2c4.com/wireguard-tools/\n" };
      if (file === "uname") return { stdout: "6.18.0\n" };
      return args[0] === "link" ? {} : undefined;
    });
    const info = await new WireGuardToolsDriver({ runner }).info();
    expect(info).toEqual({ "wireguard-tools": "v1.0.20210914", implementation: "kernel 6.18.0" });
    const [add, del] = runner.commands.filter((c) => c.file === "ip").map((c) => c.args);
    expect(add?.slice(0, 3)).toEqual(["link", "add", "dev"]);
    expect(del).toEqual(["link", "del", "dev", add?.[3]]);
  });
});
