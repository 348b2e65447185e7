/**
 * WireGuard through the real tools: `ip link` / `wireguard-go` create the interface,
 * `wg syncconf` applies the whole peer list (sessions of unchanged peers survive),
 * one `wg set` applies a peer change, `wg show <if> dump` reads the state back.
 *
 * Secrets (private key, preshared keys) only travel in 0600 files of a 0700 temp dir,
 * removed right after the command, and are cut out of tool error output (wg echoes
 * malformed keys). Not stdin: wg fopen()s "/dev/stdin", and Node gives a child a
 * socketpair there, which cannot be opened (ENXIO).
 *
 * A starting wireguard-go's UAPI socket is never probed with `wg`: wg unlinks a socket file
 * that refuses its connection (a new one does, between bind() and listen()), and wireguard-go
 * exits when its socket file goes. Readiness is a plain connect() from here instead, and
 * `wg` only runs on an interface through its queue, never while its daemon starts.
 */
import { mkdtemp, readdir, readFile, readlink, rm, stat, writeFile } from "node:fs/promises";
import { connect, isIP } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  CommandError,
  type CommandResult,
  type CommandRunner,
  type DaemonHandle,
  type WgInterfaceSpec,
  type WgInterfaceState,
  type WgPeerChange,
  type WgPeerSpec,
  type WgPeerState,
  type WireGuardPort,
} from "@vpncp/core";

export const DRIVER_NAME = "wireguard-tools";

export interface WireGuardToolsLogger {
  info(message: string): void;
  warn(message: string): void;
}

export interface WireGuardToolsOptions {
  /** Runs every command; its netns is where the interfaces live. */
  readonly runner: CommandRunner;
  /** "auto": kernel link when `ip link add … type wireguard` works, else a supervised wireguard-go. */
  readonly implementation?: "auto" | "kernel" | "userspace";
  /** The wireguard-go binary (default "wireguard-go" from PATH). */
  readonly wireguardGo?: string;
  readonly logger?: WireGuardToolsLogger;
  /** How long a new wireguard-go may take to open its UAPI socket (default 10 s). */
  readonly startTimeoutMs?: number;
  /** Where the short-lived key files go (default: the OS temp dir; a tmpfs keeps them off disk). */
  readonly tempDir?: string;
  /** wireguard-go's UAPI socket directory, shared by all namespaces (default /var/run/wireguard). */
  readonly socketDir?: string;
}

const KEY = /^[A-Za-z0-9+/]{42}[AEIMQUYcgkosw048]=$/;
// Linux accepts almost any byte in a name; we refuse what could be read as an option or a path.
const INTERFACE_NAME = /^[A-Za-z0-9_=+.][A-Za-z0-9_=+.-]{0,14}$/;
const REDACTED = "<redacted>";

function assertInterfaceName(name: string): void {
  if (!INTERFACE_NAME.test(name)) throw new Error(`[vpncp] [${DRIVER_NAME}] invalid interface name: ${JSON.stringify(name)}`);
}

function assertPublicKey(key: string): void {
  if (!KEY.test(key)) throw new Error(`[vpncp] [${DRIVER_NAME}] invalid public key: ${JSON.stringify(key)}`);
}

/** What reaches the syncconf file and `ip` is checked here too, so that no value can add a line or a section. */
function assertCidr(text: string, what: string): void {
  const [address = "", prefix, extra] = text.split("/");
  const family = /^[0-9A-Fa-f.:]+$/.test(address) ? isIP(address) : 0;
  const bits = family === 6 ? 128 : 32;
  if (family === 0 || extra !== undefined || (prefix !== undefined && !(/^\d{1,3}$/.test(prefix) && Number(prefix) <= bits))) {
    throw new Error(`[vpncp] [${DRIVER_NAME}] invalid ${what}: ${JSON.stringify(text)}`);
  }
}

function assertInteger(value: number | undefined, min: number, max: number, what: string): void {
  if (value !== undefined && !(Number.isInteger(value) && value >= min && value <= max)) {
    throw new Error(`[vpncp] [${DRIVER_NAME}] invalid ${what}: ${JSON.stringify(value)}`);
  }
}

function assertPeer(peer: WgPeerSpec): void {
  assertPublicKey(peer.publicKey);
  for (const cidr of peer.allowedIps) assertCidr(cidr, `allowed IP of peer ${peer.publicKey}`);
  assertInteger(peer.persistentKeepalive, 0, 65_535, `keepalive of peer ${peer.publicKey}`);
  if (peer.presharedKey !== undefined) assertSecretKey(peer.presharedKey, `preshared key of peer ${peer.publicKey}`);
}

/** Never echoes the value: it is a secret even when malformed. */
function assertSecretKey(key: string, what: string): void {
  if (!KEY.test(key)) throw new Error(`[vpncp] [${DRIVER_NAME}] ${what} is not a valid WireGuard key`);
}

/**
 * Parses `wg show <if> dump`: an interface line `privkey pubkey port fwmark`, then one line
 * per peer `pubkey psk endpoint allowed-ips handshake rx tx keepalive`. The private key is
 * dropped, and never quoted in an error.
 */
export function parseWgDump(name: string, text: string): WgInterfaceState {
  const lines = text.split("\n").filter((line) => line.trim() !== "");
  const [head, ...rest] = lines;
  const fields = head?.split("\t") ?? [];
  if (fields.length !== 4) throw new Error(`[vpncp] [${DRIVER_NAME}] wg show ${name} dump: unexpected interface line`);
  const [, publicKey = "", port = "", fwmark = ""] = fields;
  const peers = rest.map((line, index): WgPeerState => {
    const f = line.split("\t");
    if (f.length !== 8) throw new Error(`[vpncp] [${DRIVER_NAME}] wg show ${name} dump: unexpected peer line ${index + 2}`);
    const [peerKey = "", psk, endpoint, allowed = "", handshake, rx, tx, keepalive] = f;
    return {
      publicKey: peerKey,
      hasPresharedKey: psk !== "(none)",
      endpoint: endpoint === "(none)" ? null : (endpoint ?? null),
      allowedIps: allowed === "(none)" || allowed === "" ? [] : allowed.split(","),
      latestHandshake: Number(handshake),
      rxBytes: Number(rx),
      txBytes: Number(tx),
      persistentKeepalive: keepalive === "off" ? null : Number(keepalive),
    };
  });
  return {
    name,
    publicKey: publicKey === "(none)" ? "" : publicKey,
    listenPort: Number(port),
    fwmark: fwmark === "off" ? null : Number(fwmark),
    peers,
  };
}

/** The all-zero key: to wg, "no preshared key". */
const NO_PRESHARED_KEY = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=";

/**
 * The `wg syncconf` file. Every field is written: syncconf keeps a kept peer's preshared key
 * and keepalive when the file leaves them out, so "none" is spelled out (zero key, "off").
 */
export function renderSyncConf(spec: WgInterfaceSpec, peers: readonly WgPeerSpec[]): string {
  const out = ["[Interface]", `PrivateKey = ${spec.privateKey}`, `ListenPort = ${spec.listenPort}`];
  for (const peer of peers) {
    out.push("", "[Peer]", `PublicKey = ${peer.publicKey}`);
    out.push(`PresharedKey = ${peer.presharedKey ?? NO_PRESHARED_KEY}`);
    if (peer.allowedIps.length > 0) out.push(`AllowedIPs = ${peer.allowedIps.join(", ")}`);
    out.push(`PersistentKeepalive = ${peer.persistentKeepalive ? peer.persistentKeepalive : "off"}`);
  }
  return `${out.join("\n")}\n`;
}

/** wg quotes offending input as `value' (malformed keys included): drop all of it, and any known secret. */
function redact(text: string, secrets: readonly string[]): string {
  let out = text.replace(/`[^'\n]*'/g, `\`${REDACTED}'`);
  for (const secret of secrets) {
    const trimmed = secret.trim();
    if (trimmed.length >= 8) out = out.split(trimmed).join(REDACTED);
  }
  return out;
}

/** Canonical text of an interface address, so "fd00:0105::1/64" equals what `ip` prints. */
function canonicalAddress(address: string): string {
  const slash = address.indexOf("/");
  const ip = slash === -1 ? address : address.slice(0, slash);
  const prefix = slash === -1 ? (ip.includes(":") ? "128" : "32") : address.slice(slash + 1);
  if (!ip.includes(":")) return `${ip.split(".").map(Number).join(".")}/${Number(prefix)}`;
  // The WHATWG URL parser prints IPv6 hosts in RFC 5952 form.
  return `${new URL(`http://[${ip}]/`).hostname.slice(1, -1)}/${Number(prefix)}`;
}

interface Daemon {
  readonly handle: DaemonHandle;
  readonly startedAt: number;
  /** The last lines wireguard-go wrote (errors only, LOG_LEVEL=error): for error messages. */
  readonly output: string[];
  ready: boolean;
  expectedExit: boolean;
}

interface Managed {
  daemon: Daemon | null;
  /** What the interface should look like: re-applied after a daemon restart. */
  desired: { spec: WgInterfaceSpec; peers: Map<string, WgPeerSpec> } | null;
  restartTimer: ReturnType<typeof setTimeout> | null;
  fastFailures: number;
}

/** wireguard-go died while starting (worth another try). */
class DaemonStartError extends Error {
  constructor(message: string) {
    super(`[vpncp] [${DRIVER_NAME}] ${message}`);
    this.name = "DaemonStartError";
  }
}

/**
 * Set in the environment of the wireguard-go this driver starts ("<interface>:<pid of vpncp>"), so
 * that a later vpncp knows a stray one: marked, and no longer the child of the vpncp that started it.
 */
const STRAY_MARKER = "VPNCP_WIREGUARD_GO";

/** The parent PID in /proc/<pid>/stat ("pid (comm) state ppid …"). */
async function parentPid(pid: number): Promise<number> {
  return Number(/\) \S+ (\d+)/.exec(await readFile(`/proc/${pid}/stat`, "latin1"))?.[1]);
}

/** SIGTERM, then SIGKILL after 3 s; an exited orphan may stay a zombie (state Z) until init reaps it. */
async function stopByPid(pid: number): Promise<void> {
  const alive = async () => !/\) Z /.test(await readFile(`/proc/${pid}/stat`, "latin1").catch(() => ") Z "));
  try {
    process.kill(pid, "SIGTERM");
  } catch {
    return;
  }
  const deadline = Date.now() + 3_000;
  while ((await alive()) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
  try {
    if (await alive()) process.kill(pid, "SIGKILL");
  } catch {
    // exited just now
  }
}

/** A wireguard-go that lived shorter than this counts as failing; restarts then back off. */
const HEALTHY_AFTER_MS = 10_000;
const MAX_BACKOFF_MS = 30_000;

export class WireGuardToolsDriver implements WireGuardPort {
  readonly driverName = DRIVER_NAME;
  readonly #runner: CommandRunner;
  readonly #wireguardGo: string;
  readonly #logger: WireGuardToolsLogger | undefined;
  readonly #startTimeoutMs: number;
  readonly #tempDir: string;
  readonly #socketDir: string;
  #implementation: "auto" | "kernel" | "userspace";
  readonly #managed = new Map<string, Managed>();
  /** One queue per interface: applies, peer changes, removals and restarts never interleave. */
  readonly #queues = new Map<string, Promise<void>>();
  readonly #recreatedListeners: ((name: string) => void)[] = [];
  #disposed = false;

  constructor(options: WireGuardToolsOptions) {
    this.#runner = options.runner;
    this.#implementation = options.implementation ?? "auto";
    this.#wireguardGo = options.wireguardGo ?? "wireguard-go";
    this.#logger = options.logger;
    this.#startTimeoutMs = options.startTimeoutMs ?? 10_000;
    this.#tempDir = options.tempDir ?? tmpdir();
    this.#socketDir = options.socketDir ?? "/var/run/wireguard";
  }

  /** PID of the wireguard-go this driver runs for `name`, or null (kernel, not started, restarting). */
  daemonPid(name: string): number | null {
    return this.#managed.get(name)?.daemon?.handle.pid ?? null;
  }

  async info(): Promise<Record<string, string>> {
    const tools = await this.#runner.run("wg", ["--version"]);
    const info: Record<string, string> = { "wireguard-tools": /v[0-9][0-9.]*/.exec(tools.stdout)?.[0] ?? tools.stdout.trim() };
    if ((await this.#resolveImplementation()) === "kernel") {
      const uname = await this.#runner.run("uname", ["-r"]);
      info.implementation = `kernel ${uname.stdout.trim()}`;
    } else {
      // Only --version: wireguard-go has no help flag and would create an interface named "--help".
      const go = await this.#runner.run(this.#wireguardGo, ["--version"]);
      const version = /wireguard-go v?([0-9][0-9.]*)/.exec(go.stdout)?.[1];
      info.implementation = version ? `wireguard-go ${version}` : (go.stdout.split("\n")[0]?.trim() ?? "wireguard-go");
    }
    return info;
  }

  async listInterfaces(): Promise<string[]> {
    // The links of this namespace: kernel WireGuard ones, and TUNs with a live wireguard-go socket.
    // (`wg show interfaces` would list other namespaces' sockets, and unlink starting ones.)
    const shown = await this.#runner.run("ip", ["-j", "-d", "link", "show"]);
    const links = JSON.parse(shown.stdout || "[]") as { ifname: string; linkinfo?: { info_kind?: string } }[];
    const found = await Promise.all(
      links.map(async ({ ifname, linkinfo }) => {
        const kind = linkinfo?.info_kind;
        return kind === "wireguard" || (kind === "tun" && INTERFACE_NAME.test(ifname) && (await this.#socketAnswers(ifname)))
          ? ifname
          : null;
      }),
    );
    return found.filter((name): name is string => name !== null).sort();
  }

  async applyInterface(spec: WgInterfaceSpec, peers: readonly WgPeerSpec[]): Promise<void> {
    assertInterfaceName(spec.name);
    assertSecretKey(spec.privateKey, `private key of ${spec.name}`);
    assertInteger(spec.listenPort, 0, 65_535, `listen port of ${spec.name}`);
    assertInteger(spec.mtu, 68, 65_535, `MTU of ${spec.name}`);
    for (const address of spec.addresses) assertCidr(address, `address of ${spec.name}`);
    for (const peer of peers) assertPeer(peer);
    return this.#exclusive(spec.name, async () => {
      this.#assertLive();
      if (await this.#stopStrayDaemon(spec.name)) {
        // the kernel removes the stray's TUN once its file is closed
        const deadline = Date.now() + 2_000;
        while ((await this.#linkExists(spec.name)) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
      }
      let created = false;
      if (!(await this.#linkExists(spec.name))) {
        await this.#create(spec.name);
        created = true;
      }
      try {
        await this.#configure(spec, peers);
      } catch (error) {
        // A new interface that could not be configured is not left behind half-made.
        if (created) await this.#remove(spec.name).catch(() => {});
        throw error;
      }
      const managed = this.#entry(spec.name);
      managed.desired = { spec, peers: new Map(peers.map((peer) => [peer.publicKey, peer])) };
    });
  }

  async removeInterface(name: string): Promise<void> {
    assertInterfaceName(name);
    return this.#exclusive(name, () => this.#remove(name));
  }

  async updatePeers(name: string, change: WgPeerChange): Promise<void> {
    assertInterfaceName(name);
    if (change.upsert.length === 0 && change.remove.length === 0) return;
    for (const peer of change.upsert) assertPeer(peer);
    for (const key of change.remove) assertPublicKey(key);
    return this.#exclusive(name, async () => {
      this.#assertLive();
      await this.#setPeers(name, change);
      const desired = this.#managed.get(name)?.desired;
      if (desired) {
        for (const peer of change.upsert) desired.peers.set(peer.publicKey, peer);
        for (const key of change.remove) desired.peers.delete(key);
      }
    });
  }

  async dump(name: string): Promise<WgInterfaceState | null> {
    assertInterfaceName(name);
    // Queued: `wg` must not touch the socket of a wireguard-go this driver is starting.
    return this.#exclusive(name, async () => {
      // The link check decides "missing": wg's own error differs between kernel and userspace, and a
      // userspace socket of the same name may belong to another namespace.
      const [wg, exists] = await Promise.all([
        this.#runner.run("wg", ["show", name, "dump"], { allowFailure: true }),
        this.#linkExists(name),
      ]);
      if (!exists) return null;
      if (wg.exitCode !== 0) throw new CommandError("wg", ["show", name, "dump"], wg.exitCode, wg.stderr);
      return parseWgDump(name, wg.stdout);
    });
  }

  onInterfaceRecreated(listener: (name: string) => void): void {
    this.#recreatedListeners.push(listener);
  }

  async dispose(): Promise<void> {
    this.#disposed = true;
    for (const managed of this.#managed.values()) {
      if (managed.restartTimer) clearTimeout(managed.restartTimer);
      managed.restartTimer = null;
    }
    await Promise.all([...this.#queues.values()]);
    await Promise.all(
      [...this.#managed.values()].map(async (managed) => {
        const daemon = managed.daemon;
        if (!daemon) return;
        daemon.expectedExit = true;
        await daemon.handle.stop();
        managed.daemon = null;
      }),
    );
  }

  /**
   * A vpncp killed with SIGKILL cannot stop its wireguard-go: the daemon lives on with the
   * interface, and nothing would restart it if it died or stop it with vpncp. A daemon a vpncp
   * started for this interface in this namespace whose starter is gone (the marker names it, and
   * it is no longer the parent) is stopped by PID; its TUN goes with it and a supervised one
   * replaces it. A running vpncp's daemon is never touched (`vpncp plan` runs this driver too).
   */
  async #stopStrayDaemon(name: string): Promise<boolean> {
    if (this.#managed.get(name)?.daemon || this.#implementation === "kernel") return false;
    let stopped = false;
    const netns = this.#runner.netns;
    const ours = netns
      ? `net:[${(await stat(`/run/netns/${netns}`).catch(() => null))?.ino}]`
      : await readlink("/proc/self/ns/net").catch(() => "");
    for (const entry of await readdir("/proc").catch(() => [] as string[])) {
      if (!/^\d+$/.test(entry)) continue;
      const pid = Number(entry);
      try {
        const environ = (await readFile(`/proc/${pid}/environ`, "latin1")).split("\0");
        const starter = environ.find((e) => e.startsWith(`${STRAY_MARKER}=${name}:`))?.slice(`${STRAY_MARKER}=${name}:`.length);
        if (!starter || Number(starter) === (await parentPid(pid)) || (await readlink(`/proc/${pid}/ns/net`)) !== ours) continue;
        if (!(await readFile(`/proc/${pid}/cmdline`, "latin1")).split("\0")[0]?.endsWith("wireguard-go")) continue;
      } catch {
        continue; // exited meanwhile, or not readable
      }
      this.#logger?.warn(`[${DRIVER_NAME}] stopping wireguard-go ${name} (pid ${pid}) left running by an earlier vpncp`);
      await stopByPid(pid);
      stopped = true;
    }
    return stopped;
  }

  #assertLive(): void {
    if (this.#disposed) throw new Error(`[vpncp] [${DRIVER_NAME}] driver disposed`);
  }

  #entry(name: string): Managed {
    let managed = this.#managed.get(name);
    if (!managed) {
      managed = { daemon: null, desired: null, restartTimer: null, fastFailures: 0 };
      this.#managed.set(name, managed);
    }
    return managed;
  }

  #exclusive<T>(name: string, task: () => Promise<T>): Promise<T> {
    const previous = this.#queues.get(name) ?? Promise.resolve();
    const result = previous.then(task);
    const tail = result.then(
      () => {},
      () => {},
    );
    this.#queues.set(name, tail);
    void tail.then(() => {
      if (this.#queues.get(name) === tail) this.#queues.delete(name);
    });
    return result;
  }

  async #linkExists(name: string): Promise<boolean> {
    const result = await this.#runner.run("ip", ["link", "show", "dev", name], { allowFailure: true });
    return result.exitCode === 0;
  }

  async #resolveImplementation(): Promise<"kernel" | "userspace"> {
    if (this.#implementation !== "auto") return this.#implementation;
    // A throwaway link answers whether the kernel knows the "wireguard" link type.
    const probe = `wgprobe${Math.floor(Math.random() * 0xffffff).toString(16)}`;
    const result = await this.#runner.run("ip", ["link", "add", "dev", probe, "type", "wireguard"], { allowFailure: true });
    if (result.exitCode === 0) {
      await this.#runner.run("ip", ["link", "del", "dev", probe], { allowFailure: true });
      this.#implementation = "kernel";
    } else if (result.stderr.includes("Unknown device type")) {
      this.#implementation = "userspace";
    } else {
      throw new CommandError("ip", ["link", "add", "dev", probe, "type", "wireguard"], result.exitCode, result.stderr);
    }
    return this.#implementation;
  }

  async #create(name: string): Promise<void> {
    if (this.#implementation !== "userspace") {
      const args = ["link", "add", "dev", name, "type", "wireguard"];
      const result = await this.#runner.run("ip", args, { allowFailure: true });
      if (result.exitCode === 0) {
        this.#implementation = "kernel";
        this.#logger?.info(`[${DRIVER_NAME}] created ${name} (kernel)`);
        return;
      }
      if (this.#implementation === "kernel" || !result.stderr.includes("Unknown device type")) {
        throw new CommandError("ip", args, result.exitCode, result.stderr);
      }
      this.#implementation = "userspace";
    }
    await this.#startDaemon(name);
  }

  /** Starts wireguard-go; a daemon that dies while starting is tried again twice. */
  async #startDaemon(name: string): Promise<Daemon> {
    // The UAPI socket directory is shared by all namespaces: a live socket of this name means
    // another namespace's interface, and a new wireguard-go would fail ("unix socket in use").
    if (await this.#socketAnswers(name)) {
      throw new Error(`[vpncp] [${DRIVER_NAME}] ${name} is already used by a WireGuard interface of another namespace`);
    }
    for (let attempt = 1; ; attempt += 1) {
      try {
        return await this.#spawnDaemon(name);
      } catch (error) {
        // Someone's `wg show all` can unlink the socket of a starting wireguard-go (see the top).
        if (!(error instanceof DaemonStartError) || attempt >= 3 || this.#disposed) throw error;
        this.#logger?.warn(`[${DRIVER_NAME}] ${error.message}; trying again`);
      }
    }
  }

  async #spawnDaemon(name: string): Promise<Daemon> {
    const output: string[] = [];
    const handle = this.#runner.spawn(this.#wireguardGo, [name], {
      env: { WG_PROCESS_FOREGROUND: "1", LOG_LEVEL: "error", [STRAY_MARKER]: `${name}:${process.pid}` },
      onOutput: (line) => {
        // The "kernel has first class support" banner is drawn with box characters.
        if (line.trim() === "" || /^[┌│└├]/.test(line)) return;
        output.push(line);
        if (output.length > 20) output.shift();
        this.#logger?.warn(`[${DRIVER_NAME}] wireguard-go ${name}: ${line}`);
      },
    });
    const daemon: Daemon = { handle, startedAt: Date.now(), output, ready: false, expectedExit: false };
    const managed = this.#entry(name);
    managed.daemon = daemon;
    void handle.exited.then((code) => this.#onDaemonExit(name, daemon, code));
    try {
      await this.#waitReady(name, daemon);
    } catch (error) {
      daemon.expectedExit = true;
      await handle.stop();
      if (managed.daemon === daemon) managed.daemon = null;
      throw error;
    }
    daemon.ready = true;
    this.#logger?.info(`[${DRIVER_NAME}] started wireguard-go ${name} (pid ${handle.pid})`);
    return daemon;
  }

  async #waitReady(name: string, daemon: Daemon): Promise<void> {
    let exited: number | string | null = null;
    void daemon.handle.exited.then((code) => {
      exited = code;
    });
    const deadline = Date.now() + this.#startTimeoutMs;
    for (;;) {
      if (exited !== null) {
        const said = daemon.output.length > 0 ? ` (it said: ${daemon.output.join(" | ")})` : "";
        throw new DaemonStartError(`wireguard-go ${name} exited (${exited}) before it was ready${said}`);
      }
      if ((await this.#socketAnswers(name)) && exited === null) return;
      if (Date.now() > deadline) throw new Error(`[vpncp] [${DRIVER_NAME}] wireguard-go ${name} did not open its UAPI socket in time`);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }

  /** Whether a wireguard-go listens on <socketDir>/<name>.sock; a refused connection is left alone. */
  #socketAnswers(name: string): Promise<boolean> {
    return new Promise((resolve) => {
      const socket = connect(join(this.#socketDir, `${name}.sock`));
      const done = (answer: boolean) => {
        socket.destroy();
        resolve(answer);
      };
      socket.setTimeout(2_000, () => done(false));
      socket.once("connect", () => done(true));
      socket.once("error", () => done(false));
    });
  }

  #onDaemonExit(name: string, daemon: Daemon, code: number | string): void {
    const managed = this.#managed.get(name);
    if (daemon.expectedExit || !daemon.ready || this.#disposed || !managed || managed.daemon !== daemon) return;
    managed.daemon = null;
    managed.fastFailures = Date.now() - daemon.startedAt < HEALTHY_AFTER_MS ? managed.fastFailures + 1 : 0;
    this.#logger?.warn(`[${DRIVER_NAME}] wireguard-go ${name} (pid ${daemon.handle.pid}) exited unexpectedly (${code}); restarting`);
    this.#scheduleRestart(name, managed);
  }

  #scheduleRestart(name: string, managed: Managed): void {
    const delay = managed.fastFailures <= 1 ? 0 : Math.min(MAX_BACKOFF_MS, 500 * 2 ** (managed.fastFailures - 2));
    managed.restartTimer = setTimeout(() => {
      managed.restartTimer = null;
      this.#exclusive(name, () => this.#restart(name, managed)).catch((error: unknown) => {
        if (this.#disposed || this.#managed.get(name) !== managed) return;
        managed.fastFailures += 1;
        this.#logger?.warn(
          `[${DRIVER_NAME}] restarting wireguard-go ${name} failed: ${error instanceof Error ? error.message : String(error)}`,
        );
        this.#scheduleRestart(name, managed);
      });
    }, delay);
  }

  async #restart(name: string, managed: Managed): Promise<void> {
    // Removed, disposed or already running again meanwhile: nothing to do.
    if (this.#disposed || this.#managed.get(name) !== managed || managed.daemon) return;
    if (await this.#linkExists(name)) await this.#runner.run("ip", ["link", "del", "dev", name], { allowFailure: true });
    const daemon = await this.#startDaemon(name);
    if (!managed.desired) return;
    try {
      await this.#configure(managed.desired.spec, [...managed.desired.peers.values()]);
    } catch (error) {
      // An unconfigured daemon is stopped, so that the next attempt starts (and configures) afresh.
      daemon.expectedExit = true;
      if (managed.daemon === daemon) managed.daemon = null;
      await daemon.handle.stop();
      throw error;
    }
    // the new TUN has none of the old one's qdiscs: whoever shaped it does it again
    for (const listener of this.#recreatedListeners) {
      try {
        listener(name);
      } catch (error) {
        this.#logger?.warn(
          `[${DRIVER_NAME}] a listener of ${name}'s restart failed: ${error instanceof Error ? error.message : String(error)}`,
        );
      }
    }
  }

  async #configure(spec: WgInterfaceSpec, peers: readonly WgPeerSpec[]): Promise<void> {
    const name = spec.name;
    const secrets = [spec.privateKey, ...peers.flatMap((peer) => (peer.presharedKey ? [peer.presharedKey] : []))];
    await this.#withSecretFiles([renderSyncConf(spec, peers)], ([file]) => this.#runSecret("wg", ["syncconf", name, file!], secrets));

    const shown = await this.#runner.run("ip", ["-j", "address", "show", "dev", name]);
    const current = new Set<string>();
    for (const link of JSON.parse(shown.stdout || "[]") as { addr_info?: { local: string; prefixlen: number; scope?: string }[] }[]) {
      for (const info of link.addr_info ?? []) {
        // Link-local addresses are the kernel's (IPv6 gives a TUN one), not ours to remove.
        if (info.scope === "link") continue;
        current.add(canonicalAddress(`${info.local}/${info.prefixlen}`));
      }
    }
    const wanted = new Set(spec.addresses.map(canonicalAddress));
    for (const address of current) {
      if (!wanted.has(address)) await this.#runner.run("ip", ["address", "del", address, "dev", name]);
    }
    for (const address of wanted) {
      if (!current.has(address)) await this.#runner.run("ip", ["address", "add", address, "dev", name]);
    }
    await this.#runner.run("ip", ["link", "set", "dev", name, ...(spec.mtu ? ["mtu", String(spec.mtu)] : []), "up"]);
  }

  /** One `wg set` for the whole change, preshared keys in files. */
  async #setPeers(name: string, change: WgPeerChange): Promise<void> {
    const psks = change.upsert.flatMap((peer) => (peer.presharedKey ? [peer.presharedKey] : []));
    await this.#withSecretFiles(
      psks.map((psk) => `${psk}\n`),
      (files) => {
        const args = ["set", name];
        let next = 0;
        for (const peer of change.upsert) {
          args.push("peer", peer.publicKey, "allowed-ips", peer.allowedIps.join(","));
          args.push("persistent-keepalive", peer.persistentKeepalive ? String(peer.persistentKeepalive) : "off");
          // Every upsert is the whole peer: no preshared key means none (/dev/null clears it).
          args.push("preshared-key", peer.presharedKey ? files[next++]! : "/dev/null");
        }
        for (const key of change.remove) args.push("peer", key, "remove");
        return this.#runSecret("wg", args, psks);
      },
    );
  }

  /** Writes each text to a 0600 file in a fresh 0700 directory, and removes them once `task` is done. */
  async #withSecretFiles<T>(texts: readonly string[], task: (files: readonly string[]) => Promise<T>): Promise<T> {
    if (texts.length === 0) return task([]);
    const dir = await mkdtemp(join(this.#tempDir, "vpncp-wg-"));
    try {
      const files: string[] = [];
      for (const [index, text] of texts.entries()) {
        const file = join(dir, `secret${index}`);
        await writeFile(file, text, { mode: 0o600, flag: "wx" });
        files.push(file);
      }
      return await task(files);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }

  async #remove(name: string): Promise<void> {
    const managed = this.#managed.get(name);
    if (managed?.restartTimer) clearTimeout(managed.restartTimer);
    const daemon = managed?.daemon ?? null;
    if (daemon) daemon.expectedExit = true;
    this.#managed.delete(name);
    // For wireguard-go, deleting its TUN link makes it exit.
    const result = await this.#runner.run("ip", ["link", "del", "dev", name], { allowFailure: true });
    if (result.exitCode !== 0 && (await this.#linkExists(name))) {
      throw new CommandError("ip", ["link", "del", "dev", name], result.exitCode, result.stderr);
    }
    if (daemon) {
      const timeout = new Promise<"timeout">((resolve) => setTimeout(() => resolve("timeout"), 5_000).unref());
      if ((await Promise.race([daemon.handle.exited, timeout])) === "timeout") await daemon.handle.stop();
    }
  }

  async #runSecret(file: string, args: readonly string[], secrets: readonly string[]): Promise<CommandResult> {
    const result = await this.#runner.run(file, args, { allowFailure: true });
    if (result.exitCode !== 0) {
      // No `cause`: the original error could carry the unredacted output.
      throw new CommandError(file, args, result.exitCode, redact(result.stderr, secrets));
    }
    return result;
  }
}

export default function createWireGuardToolsDriver(options: WireGuardToolsOptions): WireGuardToolsDriver {
  return new WireGuardToolsDriver(options);
}
