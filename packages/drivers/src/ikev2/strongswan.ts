/**
 * IKEv2 through strongSwan's charon (5.9.8): EAP-MSCHAPv2 accounts, a server certificate,
 * and every account's OWN address from its server's subnet.
 *
 * How an account gets its address. charon hands out virtual IPs from pools, and the pool
 * comes from the connection (peer config) the IKE_SA ends up on. So each account gets a
 * one-address pool (`<user>@<server>/4`, `/6`) and a connection `<user>@<server>` whose
 * remote round requires `eap_id = <user>`. charon picks a peer config before EAP has run,
 * but re-checks the constraints once it has: "selected peer config … unacceptable", then
 * "switching to peer config '<user>@<server>'" (sa/ikev2/tasks/ike_auth.c,
 * update_cfg_candidates), and the virtual IP is assigned after that (ike_config runs after
 * ike_auth). A per-user config alone breaks clients that send an IP address as IKE identity
 * (Windows, swanctl's default): a configured eap_id makes charon skip the EAP-Identity
 * exchange and run MSCHAPv2 against that fixed name. So every server also has a landing
 * connection `@<server>` (eap_id = %any → charon asks for the EAP identity) that no one can
 * satisfy (`groups` that EAP never provides); it is loaded before the accounts' connections,
 * and among equally good candidates charon keeps load order, so it is always tried first.
 * Clients that send the username as IKE identity (charon-cmd --identity, the Android app)
 * go the same way. Proven with real clients in test/ikev2/strongswan.system.test.ts.
 * The price: a login walks the candidate list, which charon 5.9.8 sorts in O(n²)
 * (config/backend_manager.c): measured, 0.05 s per login with 1 000 accounts on a server,
 * about 0.9 s of charon CPU with 10 000.
 *
 * How the configuration gets into charon. Over vici, one item at a time (./vici.ts), only
 * what differs from what charon holds: an account change is at most three small requests
 * (measured 2–6 ms with 10 000 accounts loaded; a removal ~30 ms, most of it the swanctl
 * --terminate process), an unchanged apply sends nothing (0.35 s for 10 000), only the first
 * load after charon starts sends everything (~19 s for 10 000, bound by charon parsing each
 * connection). charon is never restarted for a change. swanctl can only reload whole files:
 * every change would resend everything (1.3 s for 1 000 accounts, 20 s for 10 000), and
 * `swanctl --load-pools` hangs for ever above ~8 000 pools (charon drops its get-pools reply
 * above vici's 512 KiB message limit). The same configuration is mirrored into
 * `stateDir/swanctl.conf` (0600; per-account files in users/, certificates in x509/, x509ca/,
 * private/) under the same names, so an operator can read it or `swanctl --load-all --file` it
 * (below ~8 000 accounts). Sessions are read with `swanctl --list-sas --raw` and ended with
 * `swanctl --terminate`.
 *
 * The tunnel device. With kernel-libipsec, charon makes a TUN device when it starts
 * ("ipsec%d", the first free name in its namespace: usually ipsec0; strongSwan has no
 * setting for it) and every client's decrypted packets come in and go out through it, so
 * it can be shaped like a WireGuard interface. The name is read from charon's log ("created
 * TUN device: ipsec0") after each start; the device goes when charon exits, and a restarted
 * charon makes a new one without qdiscs, which `onTunnelRecreated` listeners hear of.
 *
 * Secrets: passwords go over the vici socket and into 0600 files only; never argv or logs.
 */
import { createHash } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { chmod, mkdir, open, readdir, readFile, rename, rm, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type {
  CommandRunner,
  DaemonHandle,
  Ikev2ConnectionSpec,
  Ikev2HeldState,
  Ikev2HeldUser,
  Ikev2Port,
  Ikev2SaState,
  Ikev2State,
  Ikev2UserChange,
  Ikev2UserSpec,
} from "@vpncp/core";
import { checkIkev2State, checkUserSpec, singleAddress } from "./spec.js";
import { type ViciClient, ViciConnection, type ViciConnector, type ViciSection } from "./vici.js";

export const DRIVER_NAME = "strongswan";

export interface StrongSwanLogger {
  info(message: string): void;
  warn(message: string): void;
}

export interface StrongSwanOptions {
  /** Runs swanctl and charon; its netns is where charon (and so IKE, ESP and ipsec0) lives. */
  readonly runner: CommandRunner;
  /** Private directory (made 0700): strongswan.conf, the swanctl.conf mirror, certificates, vici socket, charon.log. */
  readonly stateDir: string;
  /** "spawn" (default): a supervised charon-systemd child; "external": a charon already running at `viciUri`. */
  readonly mode?: "spawn" | "external";
  /** External mode only (default unix:///var/run/charon.vici); spawn mode uses `unix://<stateDir>/charon.vici`. */
  readonly viciUri?: string;
  readonly logger?: StrongSwanLogger;
  /** ESP in userspace through kernel-libipsec (default; needs /dev/net/tun, works without kernel ESP), or kernel XFRM. */
  readonly esp?: "libipsec" | "kernel";
  /** Default /usr/sbin/charon-systemd (foreground, no pid file, so several can run). */
  readonly charonPath?: string;
  readonly swanctlPath?: string;
  /** How long a new charon may take to open its vici socket (default 15 s). */
  readonly startTimeoutMs?: number;
  /**
   * External mode only: the device that carries the clients' packets when that charon uses
   * kernel-libipsec (e.g. "ipsec0"), to have it shaped; default none. Spawn mode finds it itself.
   */
  readonly tunnelInterface?: string;
  /** Opens a vici connection (default: a real one); `vpncp plan` records the messages instead. */
  readonly connectVici?: ViciConnector;
}

/** Connection names: `@<server>` (the landing connection) and `<user>@<server>`. */
export function connectionNameOf(server: string, username = ""): string {
  return `${username}@${server}`;
}

const CONNECTION_NAME = /^([A-Za-z0-9_-]*)@([A-Za-z0-9_-]+)$/;

/** The server (Ikev2ConnectionSpec name) of a connection name; other connections keep their name. */
export function serverOfConnection(name: string): string {
  return CONNECTION_NAME.exec(name)?.[2] ?? name;
}

export function poolNameOf(server: string, username: string, family: 4 | 6): string {
  return `${username}@${server}/${family}`;
}

/** swanctl takes a secret's type from its section name prefix, and uses the section name as its vici id. */
export function secretIdOf(server: string, username: string): string {
  return `eap-${username}@${server}`;
}

const SECRET_ID = /^eap-[A-Za-z0-9_-]+@[A-Za-z0-9_-]+$/;
/** A group no EAP-MSCHAPv2 login carries: keeps the landing connection from ever being the final one. */
export const LANDING_GROUP = "vpncp-eap-identity-only";

/** A swanctl.conf section; the same tree is sent over vici (with certificates inlined). */
interface ConfTree {
  readonly [key: string]: string | readonly string[] | ConfTree;
}

interface Build {
  readonly esp: "libipsec" | "kernel";
  /** The certificate as swanctl.conf names it (a file in x509/) or as vici takes it (PEM). */
  readonly cert: (spec: Ikev2ConnectionSpec) => string;
}

function connectionTree(spec: Ikev2ConnectionSpec, build: Build, remote: ConfTree, pools: readonly string[]): ConfTree {
  return {
    version: "2",
    ...(spec.localAddrs.length > 0 ? { local_addrs: [...spec.localAddrs] } : {}),
    ...(pools.length > 0 ? { pools: [...pools] } : {}),
    send_cert: "always",
    // The newest login of an account wins: it has one address, which a stale session would hold.
    unique: "replace",
    dpd_delay: "30s",
    // libipsec only handles UDP-encapsulated ESP.
    ...(build.esp === "libipsec" ? { encap: "yes" } : {}),
    local: { auth: "pubkey", certs: [build.cert(spec)], id: spec.serverId },
    remote,
    children: { net: { local_ts: [...spec.localTs] } },
  };
}

function landingTree(spec: Ikev2ConnectionSpec, build: Build): ConfTree {
  return connectionTree(spec, build, { auth: "eap-mschapv2", eap_id: "%any", groups: [LANDING_GROUP] }, []);
}

function userPools(spec: Ikev2ConnectionSpec, user: Ikev2UserSpec): [string, ConfTree][] {
  const ipv4 = singleAddress(user.ipv4, 4);
  const pools: [string, ConfTree][] = [
    [poolNameOf(spec.name, user.username, 4), { addrs: `${ipv4}/32`, ...(spec.dns.length > 0 ? { dns: [...spec.dns] } : {}) }],
  ];
  const ipv6 = user.ipv6 ? singleAddress(user.ipv6, 6) : null;
  if (ipv6) pools.push([poolNameOf(spec.name, user.username, 6), { addrs: `${ipv6}/128` }]);
  return pools;
}

function userTree(spec: Ikev2ConnectionSpec, user: Ikev2UserSpec, build: Build): ConfTree {
  const pools = userPools(spec, user).map(([name]) => name);
  return connectionTree(spec, build, { auth: "eap-mschapv2", eap_id: user.username }, pools);
}

const SAFE_VALUE = /^[A-Za-z0-9_.:/@%+*,=-]+$/;

function quote(value: string): string {
  return `"${value.replace(/\\/g, "\\\\").replace(/"/g, '\\"')}"`;
}

function confValue(value: string | readonly string[]): string {
  const text = typeof value === "string" ? value : value.join(",");
  return SAFE_VALUE.test(text) ? text : quote(text);
}

/**
 * A password as a swanctl.conf value: quoted (so '#', '{', '}' and spaces stay in it, '\\'
 * and '"' escaped), or hex when it starts with "0x"/"0s", which swanctl would decode.
 */
export function swanctlSecretValue(password: string): string {
  if (/^0[xs]/i.test(password)) return `0x${Buffer.from(password, "utf8").toString("hex")}`;
  return quote(password);
}

function renderTree(tree: ConfTree, indent: string, out: string[]): void {
  for (const [key, value] of Object.entries(tree)) {
    if (typeof value === "string" || Array.isArray(value)) out.push(`${indent}${key} = ${confValue(value as string | readonly string[])}`);
    else {
      out.push(`${indent}${key} {`);
      renderTree(value as ConfTree, `${indent}  `, out);
      out.push(`${indent}}`);
    }
  }
}

const FILE_BUILD = (esp: "libipsec" | "kernel"): Build => ({ esp, cert: (spec) => `${spec.name}.pem` });
const VICI_BUILD = (esp: "libipsec" | "kernel"): Build => ({ esp, cert: (spec) => spec.serverCertificatePem });

/** The main swanctl.conf: the landing connections, then every account's file from users/. */
export function renderSwanctlConf(connections: readonly Ikev2ConnectionSpec[], esp: "libipsec" | "kernel" = "libipsec"): string {
  const out = [
    "# Generated by vpncp (strongswan driver). The driver loads the same items over vici;",
    "# `swanctl --load-all --file <this file>` loads them too (the x509/, x509ca/, private/ beside it).",
    "connections {",
  ];
  for (const spec of connections) {
    out.push(`  ${connectionNameOf(spec.name)} {`);
    renderTree(landingTree(spec, FILE_BUILD(esp)), "    ", out);
    out.push("  }");
  }
  out.push("}", "include users/*.conf", "");
  return out.join("\n");
}

/** One account's swanctl.conf part: its connection, its pool(s), its EAP secret. */
export function renderUserConf(spec: Ikev2ConnectionSpec, user: Ikev2UserSpec, esp: "libipsec" | "kernel" = "libipsec"): string {
  const out = ["connections {", `  ${connectionNameOf(spec.name, user.username)} {`];
  renderTree(userTree(spec, user, FILE_BUILD(esp)), "    ", out);
  out.push("  }", "}", "pools {");
  for (const [name, tree] of userPools(spec, user)) {
    out.push(`  ${name} {`);
    renderTree(tree, "    ", out);
    out.push("  }");
  }
  out.push("}", "secrets {", `  ${secretIdOf(spec.name, user.username)} {`, `    id = ${user.username}`);
  out.push(`    secret = ${swanctlSecretValue(user.password)}`, "  }", "}", "");
  return out.join("\n");
}

export function renderStrongswanConf(stateDir: string, esp: "libipsec" | "kernel" = "libipsec"): string {
  // kernel-libipsec must come before kernel-netlink to handle IPsec; kdf for 5.9.8's PRF+,
  // openssl (legacy provider) for MSCHAPv2's MD4/DES.
  const plugins = [
    ...(esp === "libipsec" ? ["kernel-libipsec"] : []),
    "kernel-netlink socket-default vici random nonce openssl pem pkcs1 pkcs8 x509 revocation constraints pubkey",
    "curve25519 aes sha1 sha2 hmac kdf gmp md5 eap-identity eap-mschapv2 attr updown",
  ].join(" ");
  return [
    "# Generated by vpncp (strongswan driver), read by charon-systemd via STRONGSWAN_CONF.",
    "charon-systemd {",
    "  journal {",
    "    default = -1",
    "  }",
    "}",
    "charon {",
    `  load = ${plugins}`,
    "  plugins {",
    "    vici {",
    `      socket = unix://${join(stateDir, "charon.vici")}`,
    "    }",
    "  }",
    "  filelog {",
    "    vpncp {",
    `      path = ${join(stateDir, "charon.log")}`,
    "      time_format = %F %T",
    "      default = 1",
    // cfg 1 would log two lines per account tried at each login (see the top of this file).
    "      cfg = 0",
    "      flush_line = yes",
    "    }",
    "  }",
    "}",
    "",
  ].join("\n");
}

/** One IKE_SA of `swanctl --list-sas --raw`, with charon's own connection name and state. */
export interface ListedSa {
  readonly ikeName: string;
  readonly state: string;
  readonly sa: Ikev2SaState;
}

type RawValue = string | string[] | RawSection;
interface RawSection {
  [key: string]: RawValue;
}

const RAW_NAME = /([^\s={}[\]]+)(=| \{)/y;
// A value runs until the next "key=" (lower-case, as vici keys are), the next "name {", or "}".
// Identities such as "C=CH, O=Org, CN=x" keep their spaces: their keys are upper-case.
const RAW_VALUE_END = / (?=[a-z][a-z0-9_-]*=)| (?=[^\s={}[\]]+ \{)|(?=\})/g;

function parseRawSection(text: string, start: number): [RawSection, number] {
  if (text[start] !== "{") throw new Error(`[vpncp] [${DRIVER_NAME}] --list-sas --raw: "{" expected at ${start}`);
  const section: RawSection = {};
  let i = start + 1;
  while (i < text.length) {
    if (text[i] === " ") {
      i += 1;
      continue;
    }
    if (text[i] === "}") return [section, i + 1];
    RAW_NAME.lastIndex = i;
    const name = RAW_NAME.exec(text);
    if (!name) throw new Error(`[vpncp] [${DRIVER_NAME}] --list-sas --raw: unexpected text at ${i}`);
    const key = name[1]!;
    i = RAW_NAME.lastIndex;
    if (name[2] === " {") {
      const [child, next] = parseRawSection(text, i - 1);
      section[key] = child;
      i = next;
    } else if (text[i] === "[") {
      const end = text.indexOf("]", i);
      if (end === -1) throw new Error(`[vpncp] [${DRIVER_NAME}] --list-sas --raw: unterminated list ${key}`);
      section[key] = text
        .slice(i + 1, end)
        .split(" ")
        .filter(Boolean);
      i = end + 1;
    } else {
      RAW_VALUE_END.lastIndex = i;
      const end = RAW_VALUE_END.exec(text);
      const stop = end ? end.index : text.length;
      section[key] = text.slice(i, stop);
      i = stop;
    }
  }
  throw new Error(`[vpncp] [${DRIVER_NAME}] --list-sas --raw: unterminated section`);
}

const str = (value: RawValue | undefined): string => (typeof value === "string" ? value : "");
const num = (value: RawValue | undefined): number => {
  const n = Number(str(value));
  return Number.isFinite(n) ? n : 0;
};

/**
 * Parses `swanctl --list-sas --raw`: one `list-sa event {<name> {key=value … list=[a b]
 * child-sas {<child> {…}}}}` line per IKE_SA. The username is the EAP identity
 * (`remote-eap-id`, which charon leaves out when it equals `remote-id`); bytes are summed
 * over the CHILD_SAs (in: from the client).
 */
export function parseListSasRaw(text: string): ListedSa[] {
  const listed: ListedSa[] = [];
  for (const line of text.split("\n")) {
    const start = line.indexOf("list-sa event {");
    if (start === -1) continue;
    const [root] = parseRawSection(line, start + "list-sa event ".length);
    for (const [ikeName, value] of Object.entries(root)) {
      if (typeof value !== "object" || Array.isArray(value)) continue;
      let bytesIn = 0;
      let bytesOut = 0;
      const children = value["child-sas"];
      if (children && typeof children === "object" && !Array.isArray(children)) {
        for (const child of Object.values(children)) {
          if (typeof child !== "object" || Array.isArray(child)) continue;
          bytesIn += num(child["bytes-in"]);
          bytesOut += num(child["bytes-out"]);
        }
      }
      const vips = value["remote-vips"];
      listed.push({
        ikeName,
        state: str(value.state),
        sa: {
          uniqueId: str(value.uniqueid),
          connection: serverOfConnection(ikeName),
          username: str(value["remote-eap-id"]) || str(value["remote-xauth-id"]) || str(value["remote-id"]),
          remoteHost: str(value["remote-host"]),
          remotePort: num(value["remote-port"]),
          virtualIps: Array.isArray(vips) ? vips : [],
          establishedSeconds: num(value.established),
          bytesIn,
          bytesOut,
        },
      });
    }
  }
  return listed;
}

/** IKE_SA states that are a live session (REKEYED/DELETING ones are on their way out). */
const LIVE_STATES = new Set(["ESTABLISHED", "REKEYING"]);

function fingerprint(value: unknown): string {
  return createHash("sha256").update(JSON.stringify(value)).digest("base64");
}

interface LoadedUser {
  readonly conn: string;
  readonly connPrint: string;
  readonly pools: ReadonlyMap<string, string>;
  readonly secret: string;
  readonly secretPrint: string;
}

/** What the running charon holds (as far as this driver loaded it). */
interface Loaded {
  readonly landings: Map<string, string>;
  readonly users: Map<string, LoadedUser>;
  /** Private key fingerprint → charon's key id (for unload-key). */
  readonly keys: Map<string, string>;
  readonly caCerts: Set<string>;
  /** Our names found in an external charon at the first sync (an earlier run's); dropped unless wanted. */
  readonly foreignConns: Set<string>;
  readonly foreignSecrets: Set<string>;
}

interface Desired {
  readonly connections: Map<string, Ikev2ConnectionSpec>;
  readonly users: Map<string, Ikev2UserSpec>;
}

/** Above this many loaded names a reload does not ask charon what it still holds (see #forgetUnloaded). */
const RECHECK_MAX = 10_000;

const SWANCTL_EMPTY_DIRS = ["x509crl", "x509ocsp", "x509aa", "x509ac", "pubkey", "rsa", "ecdsa", "bliss", "pkcs8", "pkcs12"];

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export class StrongSwanDriver implements Ikev2Port {
  readonly driverName = DRIVER_NAME;
  readonly #runner: CommandRunner;
  readonly #stateDir: string;
  readonly #mode: "spawn" | "external";
  readonly #viciUri: string;
  readonly #logger: StrongSwanLogger | undefined;
  readonly #esp: "libipsec" | "kernel";
  readonly #charonPath: string;
  readonly #swanctlPath: string;
  readonly #startTimeoutMs: number;
  readonly #externalTunnel: string | null;
  readonly #connectVici: ViciConnector;
  readonly #tunnelListeners: (() => void)[] = [];
  /** The TUN device of the running charon (spawn mode, kernel-libipsec). */
  #tunnel: string | null = null;
  #starts = 0;
  #desired: Desired = { connections: new Map(), users: new Map() };
  #applied = false;
  #loaded: Loaded | null = null;
  #daemon: DaemonHandle | null = null;
  #disposed = false;
  #queue: Promise<unknown> = Promise.resolve();
  #restartDelayMs = 500;
  #restartTimer: NodeJS.Timeout | null = null;
  /** Account file contents written (by hash), so a change rewrites one file. */
  readonly #userFiles = new Map<string, string>();

  constructor(options: StrongSwanOptions) {
    this.#runner = options.runner;
    this.#stateDir = options.stateDir;
    this.#mode = options.mode ?? "spawn";
    this.#viciUri =
      this.#mode === "spawn" ? `unix://${join(options.stateDir, "charon.vici")}` : (options.viciUri ?? "unix:///var/run/charon.vici");
    this.#logger = options.logger;
    this.#esp = options.esp ?? "libipsec";
    this.#charonPath = options.charonPath ?? "/usr/sbin/charon-systemd";
    this.#swanctlPath = options.swanctlPath ?? "swanctl";
    this.#startTimeoutMs = options.startTimeoutMs ?? 15_000;
    this.#externalTunnel = options.tunnelInterface ?? null;
    this.#connectVici = options.connectVici ?? ((uri, timeoutMs) => ViciConnection.connect(uri, timeoutMs));
  }

  /** The supervised charon's PID (spawn mode), null when none runs. */
  get daemonPid(): number | null {
    return this.#daemon?.pid ?? null;
  }

  async info(): Promise<Record<string, string>> {
    if (this.#mode === "spawn" && !this.#daemon) return { version: await this.#toolVersion(), state: "stopped" };
    try {
      const vici = await this.#connectVici(this.#viciUri, 3000);
      try {
        const reply = await vici.request("version");
        return { version: String(reply.version ?? ""), daemon: String(reply.daemon ?? ""), state: "running" };
      } finally {
        vici.close();
      }
    } catch {
      return { version: await this.#toolVersion(), state: "stopped" };
    }
  }

  async apply(state: Ikev2State): Promise<void> {
    checkIkev2State(state);
    return this.#serial(async () => {
      this.#desired = {
        connections: new Map(state.connections.map((spec) => [spec.name, spec])),
        users: new Map(state.users.map((user) => [user.username, user])),
      };
      this.#applied = true;
      await this.#writeMirror();
      await this.#ensureDaemon();
      await this.#withVici((vici) => this.#syncAll(vici, { recheck: true }));
    });
  }

  async updateUsers(change: Ikev2UserChange): Promise<void> {
    for (const user of change.upsert) checkUserSpec(user);
    return this.#serial(async () => {
      const desired = this.#desired;
      for (const user of change.upsert) {
        if (!desired.connections.has(user.connection))
          throw new Error(`[vpncp] [${DRIVER_NAME}] user ${user.username}: unknown connection ${user.connection}`);
      }
      const touched = new Set<string>();
      for (const user of change.remove) {
        if (desired.users.get(user.username)?.connection !== user.connection) continue;
        desired.users.delete(user.username);
        touched.add(user.username);
      }
      for (const user of change.upsert) {
        desired.users.set(user.username, user);
        touched.add(user.username);
      }
      if (touched.size === 0) return;
      await this.#writeUserFiles(touched);
      if (this.#mode === "spawn" && !this.#daemon) {
        // Nothing runs yet (or it is being restarted): start it with everything.
        await this.#ensureDaemon();
        await this.#withVici((vici) => this.#syncAll(vici));
        return;
      }
      await this.#withVici(async (vici) => {
        if (!this.#loaded) return this.#syncAll(vici);
        for (const username of touched) await this.#syncUser(vici, username);
      });
    });
  }

  async listSas(): Promise<Ikev2SaState[]> {
    return (await this.#listSas()).map((listed) => listed.sa);
  }

  async held(): Promise<Ikev2HeldState | null> {
    if (this.#mode === "spawn" && !this.#daemon) return null;
    let vici: ViciClient;
    try {
      vici = await this.#connectVici(this.#viciUri, 3000);
    } catch {
      return null;
    }
    try {
      const list = (value: unknown) => (Array.isArray(value) ? value.map(String) : []);
      const [conns, shared] = [list((await vici.request("get-conns")).conns), list((await vici.request("get-shared")).keys)];
      const connections: string[] = [];
      const userConnections: Ikev2HeldUser[] = [];
      for (const name of conns) {
        const match = CONNECTION_NAME.exec(name);
        if (!match) continue;
        if (match[1] === "") connections.push(match[2]!);
        else userConnections.push({ connection: match[2]!, username: match[1]! });
      }
      const secrets: Ikev2HeldUser[] = [];
      for (const id of shared) {
        const match = SECRET_ID.test(id) ? CONNECTION_NAME.exec(id.slice("eap-".length)) : null;
        if (match) secrets.push({ connection: match[2]!, username: match[1]! });
      }
      return { connections, secrets, userConnections };
    } finally {
      vici.close();
    }
  }

  async terminate(username: string): Promise<number> {
    const targets = (await this.#listSas()).filter((listed) => listed.sa.username === username);
    let ended = 0;
    for (const target of targets) {
      const result = await this.#swanctl(["--terminate", "--ike-id", target.sa.uniqueId, "--force"], true);
      if (result.exitCode === 0) ended += 1;
    }
    return ended;
  }

  tunnelInterface(): string | null {
    if (this.#esp === "kernel") return null;
    if (this.#mode === "external") return this.#externalTunnel;
    return this.#daemon ? this.#tunnel : null;
  }

  onTunnelRecreated(listener: () => void): void {
    this.#tunnelListeners.push(listener);
  }

  async dispose(): Promise<void> {
    this.#disposed = true;
    if (this.#restartTimer) clearTimeout(this.#restartTimer);
    this.#restartTimer = null;
    const daemon = this.#daemon;
    this.#daemon = null;
    this.#loaded = null;
    if (daemon) await daemon.stop(5000);
  }

  // ---- charon

  #serial<T>(task: () => Promise<T>): Promise<T> {
    const run = this.#queue.then(task, task);
    this.#queue = run.catch(() => undefined);
    return run;
  }

  #env(): Record<string, string> {
    return this.#mode === "spawn" ? { STRONGSWAN_CONF: join(this.#stateDir, "strongswan.conf") } : {};
  }

  #swanctl(args: readonly string[], allowFailure = false) {
    // swanctl: --uri is a per-command option and must follow the command.
    const [command, ...rest] = args;
    return this.#runner.run(this.#swanctlPath, [command!, "--uri", this.#viciUri, ...rest], {
      env: this.#env(),
      allowFailure,
      timeoutMs: 60_000,
    });
  }

  async #toolVersion(): Promise<string> {
    const result = await this.#runner.run(this.#swanctlPath, ["--version"], { allowFailure: true, env: this.#env(), timeoutMs: 10_000 });
    return /strongSwan (\S+)/.exec(`${result.stdout}\n${result.stderr}`)?.[1] ?? "unknown";
  }

  async #listSas(): Promise<ListedSa[]> {
    if (this.#mode === "spawn" && !this.#daemon) return [];
    const result = await this.#swanctl(["--list-sas", "--raw"]);
    return parseListSasRaw(result.stdout).filter((listed) => LIVE_STATES.has(listed.state));
  }

  /** Ends every IKE_SA of these connection names at once (--force: the address lease is freed right away). */
  async #terminateConnections(names: Iterable<string>): Promise<void> {
    for (const name of names) await this.#swanctl(["--terminate", "--ike", name, "--force"], true);
  }

  async #withVici<T>(task: (vici: ViciClient) => Promise<T>): Promise<T> {
    const vici = await this.#connectVici(this.#viciUri, 60_000);
    try {
      return await task(vici);
    } finally {
      vici.close();
    }
  }

  /**
   * A vpncp killed with SIGKILL cannot stop its charon: it lives on with the old configuration,
   * the IKE ports and the TUN device. A charon started with this state directory (its environment
   * names its strongswan.conf) by a vpncp that is gone (VPNCP_CHARON names it, and it is no
   * longer the parent) is stopped by PID before a new one starts; a running vpncp's never is.
   */
  async #stopStrayDaemons(): Promise<void> {
    const marker = `STRONGSWAN_CONF=${join(this.#stateDir, "strongswan.conf")}`;
    const stray: number[] = [];
    for (const entry of await readdir("/proc").catch(() => [] as string[])) {
      if (!/^\d+$/.test(entry)) continue;
      try {
        const environ = (await readFile(`/proc/${entry}/environ`, "latin1")).split("\0");
        const argv0 = (await readFile(`/proc/${entry}/cmdline`, "latin1")).split("\0")[0] ?? "";
        const starter = environ.find((e) => e.startsWith("VPNCP_CHARON="))?.slice("VPNCP_CHARON=".length);
        const parent = /\) \S+ (\d+)/.exec(await readFile(`/proc/${entry}/stat`, "latin1"))?.[1];
        if (environ.includes(marker) && starter && starter !== parent && argv0.endsWith(this.#charonPath.split("/").pop()!)) {
          stray.push(Number(entry));
        }
      } catch {
        // exited meanwhile, or not readable
      }
    }
    for (const pid of stray) {
      this.#logger?.warn(`stopping charon (pid ${pid}) left running by an earlier vpncp with ${this.#stateDir}`);
      // an exited orphan may stay a zombie (state Z) until its new parent reaps it
      const alive = () => {
        try {
          return !/\) Z /.test(readFileSync(`/proc/${pid}/stat`, "latin1"));
        } catch {
          return false;
        }
      };
      try {
        process.kill(pid, "SIGTERM");
      } catch {
        continue;
      }
      const deadline = Date.now() + 3_000;
      while (alive() && Date.now() < deadline) await sleep(50);
      try {
        if (alive()) process.kill(pid, "SIGKILL");
      } catch {
        // exited just now
      }
    }
  }

  async #ensureDaemon(): Promise<void> {
    if (this.#mode === "external" || this.#daemon || this.#disposed) return;
    await this.#stopStrayDaemons();
    await this.#writePrivate("strongswan.conf", renderStrongswanConf(this.#stateDir, this.#esp));
    const socket = join(this.#stateDir, "charon.vici");
    await rm(socket, { force: true });
    const log = join(this.#stateDir, "charon.log");
    // charon appends to its log: this start's lines begin here.
    const logStart = await stat(log).then(
      (stats) => stats.size,
      () => 0,
    );
    const handle = this.#runner.spawn(this.#charonPath, [], {
      // VPNCP_CHARON: which vpncp started it, so that a later one knows it stray once that one is gone
      env: { STRONGSWAN_CONF: join(this.#stateDir, "strongswan.conf"), VPNCP_CHARON: String(process.pid) },
      onOutput: (line) => {
        if (line.trim() !== "") this.#logger?.info(`charon: ${line}`);
      },
    });
    let exited: number | string | null = null;
    void handle.exited.then((code) => {
      exited = code;
    });
    const deadline = Date.now() + this.#startTimeoutMs;
    for (;;) {
      if (exited !== null) throw new Error(`[vpncp] [${DRIVER_NAME}] charon exited during startup (${exited}): ${await this.#logTail()}`);
      if (existsSync(socket)) {
        try {
          const vici = await this.#connectVici(this.#viciUri, 1000);
          try {
            await vici.request("version");
          } finally {
            vici.close();
          }
          break;
        } catch {
          // not listening yet
        }
      }
      if (Date.now() > deadline) {
        await handle.stop();
        throw new Error(
          `[vpncp] [${DRIVER_NAME}] charon did not open ${socket} within ${this.#startTimeoutMs} ms: ${await this.#logTail()}`,
        );
      }
      await sleep(50);
    }
    // The plugins (kernel-libipsec's TUN among them) are loaded before vici listens.
    this.#tunnel = this.#esp === "libipsec" ? await this.#tunnelFromLog(log, logStart) : null;
    this.#daemon = handle;
    this.#loaded = null;
    this.#starts += 1;
    this.#logger?.info(`charon started (pid ${handle.pid}${this.#tunnel ? `, tunnel ${this.#tunnel}` : ""})`);
    this.#watch(handle);
    if (this.#starts > 1) {
      for (const listener of this.#tunnelListeners) {
        try {
          listener();
        } catch (error) {
          this.#logger?.warn(`a tunnel listener failed: ${error instanceof Error ? error.message : String(error)}`);
        }
      }
    }
  }

  /** The TUN device kernel-libipsec logged making ("[LIB] created TUN device: ipsec0") since `from`. */
  async #tunnelFromLog(path: string, from: number): Promise<string | null> {
    let text = "";
    try {
      const file = await open(path, "r");
      try {
        const { size } = await file.stat();
        const buffer = Buffer.alloc(Math.max(0, size - from));
        await file.read(buffer, 0, buffer.length, from);
        text = buffer.toString("utf8");
      } finally {
        await file.close();
      }
    } catch {
      // no log: reported below
    }
    const names = [...text.matchAll(/created TUN device: ([A-Za-z0-9_.-]{1,15})$/gm)].map((match) => match[1]!);
    const name = names.at(-1) ?? null;
    if (!name) this.#logger?.warn(`charon logged no TUN device in ${path}: IKEv2 traffic is not shaped`);
    return name;
  }

  #watch(handle: DaemonHandle): void {
    const started = Date.now();
    void handle.exited.then((code) => {
      if (this.#disposed || this.#daemon !== handle) return;
      this.#daemon = null;
      this.#loaded = null;
      if (Date.now() - started > 60_000) this.#restartDelayMs = 500;
      this.#logger?.warn(`charon (pid ${handle.pid}) exited (${code}); restarting`);
      this.#scheduleRestart();
    });
  }

  #scheduleRestart(): void {
    if (this.#disposed || this.#restartTimer) return;
    const delay = this.#restartDelayMs;
    this.#restartDelayMs = Math.min(delay * 2, 30_000);
    this.#restartTimer = setTimeout(() => {
      this.#restartTimer = null;
      this.#serial(async () => {
        if (this.#disposed || this.#daemon) return;
        await this.#ensureDaemon();
        if (this.#applied) await this.#withVici((vici) => this.#syncAll(vici));
        this.#logger?.info("charon restarted and configuration reloaded");
      }).catch((error: unknown) => {
        this.#logger?.warn(`restarting charon failed: ${error instanceof Error ? error.message : String(error)}`);
        if (!this.#daemon) this.#scheduleRestart();
      });
    }, delay);
  }

  async #logTail(): Promise<string> {
    try {
      const text = await readFile(join(this.#stateDir, "charon.log"), "utf8");
      return text.trim().split("\n").slice(-5).join(" | ");
    } catch {
      return "no charon.log";
    }
  }

  // ---- loading over vici

  /** Makes charon hold exactly the desired state; only what differs from what it holds is sent. */
  async #syncAll(vici: ViciClient, options: { recheck?: boolean } = {}): Promise<void> {
    if (!this.#loaded) this.#loaded = await this.#discover(vici);
    else if (options.recheck) await this.#forgetUnloaded(vici, this.#loaded);
    const loaded = this.#loaded;
    const desired = this.#desired;
    await this.#syncCredentials(vici, loaded);
    const build = VICI_BUILD(this.#esp);
    // Landing connections first: charon tries equally good candidates in load order.
    for (const spec of desired.connections.values()) {
      const name = connectionNameOf(spec.name);
      const tree = landingTree(spec, build);
      const print = fingerprint(tree);
      if (loaded.landings.get(name) === print) continue;
      await vici.command("load-conn", { [name]: tree as ViciSection }, `loading connection ${name}`);
      loaded.landings.set(name, print);
    }
    for (const username of new Set([...loaded.users.keys(), ...desired.users.keys()])) await this.#syncUser(vici, username);
    const wanted = new Set([...desired.connections.keys()].map((server) => connectionNameOf(server)));
    for (const user of desired.users.values()) wanted.add(connectionNameOf(user.connection, user.username));
    const staleConns = [...loaded.foreignConns].filter((name) => !wanted.has(name));
    for (const name of staleConns) await vici.request("unload-conn", { name });
    await this.#terminateConnections(staleConns);
    for (const name of staleConns) {
      for (const family of [4, 6]) await vici.request("unload-pool", { name: `${name}/${family}` });
    }
    const wantedSecrets = new Set([...desired.users.values()].map((user) => secretIdOf(user.connection, user.username)));
    for (const id of loaded.foreignSecrets) if (!wantedSecrets.has(id)) await vici.request("unload-shared", { id });
    loaded.foreignConns.clear();
    loaded.foreignSecrets.clear();
    for (const name of [...loaded.landings.keys()]) {
      if (wanted.has(name)) continue;
      await vici.command("unload-conn", { name }, `unloading connection ${name}`);
      loaded.landings.delete(name);
    }
  }

  /**
   * A whole apply (a reload, `vpncp doctor --fix`) believes charon over this driver's memory: a
   * connection or EAP secret unloaded behind its back (swanctl, another vici client) is loaded
   * again. Skipped past RECHECK_MAX names: charon drops a get-conns/get-shared reply above vici's
   * 512 KiB message limit (~15 000 names), and waiting for it would stall the reload.
   */
  async #forgetUnloaded(vici: ViciClient, loaded: Loaded): Promise<void> {
    if (loaded.landings.size + loaded.users.size > RECHECK_MAX) return;
    const list = (value: unknown) => new Set(Array.isArray(value) ? value.map(String) : []);
    const conns = list((await vici.request("get-conns")).conns);
    const secrets = list((await vici.request("get-shared")).keys);
    for (const name of [...loaded.landings.keys()]) if (!conns.has(name)) loaded.landings.delete(name);
    for (const [username, user] of loaded.users) {
      if (conns.has(user.conn) && secrets.has(user.secret)) continue;
      // an empty print never matches: the missing part is sent again
      loaded.users.set(username, {
        ...user,
        connPrint: conns.has(user.conn) ? user.connPrint : "",
        secretPrint: secrets.has(user.secret) ? user.secretPrint : "",
      });
    }
  }

  /** A charon we did not start may hold our names from an earlier run: note them, to drop what is not wanted. */
  async #discover(vici: ViciClient): Promise<Loaded> {
    const loaded: Loaded = {
      landings: new Map(),
      users: new Map(),
      keys: new Map(),
      caCerts: new Set(),
      foreignConns: new Set(),
      foreignSecrets: new Set(),
    };
    if (this.#mode === "spawn") return loaded;
    const conns = (await vici.request("get-conns")).conns;
    for (const name of Array.isArray(conns) ? conns : []) if (CONNECTION_NAME.test(String(name))) loaded.foreignConns.add(String(name));
    const keys = (await vici.request("get-shared")).keys;
    for (const id of Array.isArray(keys) ? keys : []) if (SECRET_ID.test(String(id))) loaded.foreignSecrets.add(String(id));
    return loaded;
  }

  async #syncCredentials(vici: ViciClient, loaded: Loaded): Promise<void> {
    const keys = new Map<string, Ikev2ConnectionSpec>();
    const cas = new Map<string, string>();
    for (const spec of this.#desired.connections.values()) {
      keys.set(fingerprint(spec.serverPrivateKeyPem), spec);
      cas.set(fingerprint(spec.caCertificatePem), spec.caCertificatePem);
    }
    for (const [print, spec] of keys) {
      if (loaded.keys.has(print)) continue;
      const reply = await vici.command(
        "load-key",
        { type: "any", data: spec.serverPrivateKeyPem },
        `loading the private key of connection ${spec.name}`,
      );
      loaded.keys.set(print, String(reply.id ?? ""));
    }
    for (const [print, pem] of cas) {
      if (loaded.caCerts.has(print)) continue;
      await vici.command("load-cert", { type: "X509", flag: "CA", data: pem }, "loading a CA certificate");
      loaded.caCerts.add(print);
    }
    for (const [print, id] of [...loaded.keys]) {
      if (keys.has(print)) continue;
      if (id !== "") await vici.request("unload-key", { id });
      loaded.keys.delete(print);
    }
  }

  /** Brings one account in charon in line with the desired state: pool(s), EAP secret, connection. */
  async #syncUser(vici: ViciClient, username: string): Promise<void> {
    const loaded = this.#loaded!;
    const want = this.#desired.users.get(username);
    let have = loaded.users.get(username);
    if (!want) {
      if (have) await this.#unloadUser(vici, username, have);
      return;
    }
    const spec = this.#desired.connections.get(want.connection)!;
    const conn = connectionNameOf(spec.name, username);
    if (have && have.conn !== conn) {
      // Moved to another server: its sessions there end.
      await this.#unloadUser(vici, username, have);
      have = undefined;
    }
    const pools = new Map<string, string>();
    let terminated = false;
    for (const [name, tree] of userPools(spec, want)) {
      const print = fingerprint(tree);
      pools.set(name, print);
      if (have?.pools.get(name) === print) continue;
      const reply = await vici.request("load-pool", { [name]: tree as ViciSection });
      if (reply.success === "yes") continue;
      // A new address while the account is online: charon keeps a pool with online leases.
      if (!terminated) await this.#terminateConnections([conn]);
      terminated = true;
      await vici.command("load-pool", { [name]: tree as ViciSection }, `loading pool ${name}`);
    }
    for (const name of have?.pools.keys() ?? []) {
      if (pools.has(name)) continue;
      if (!terminated) await this.#terminateConnections([conn]);
      terminated = true;
      await vici.request("unload-pool", { name });
    }
    const secret = secretIdOf(spec.name, username);
    const secretPrint = fingerprint([username, want.password]);
    if (have?.secretPrint !== secretPrint) {
      await vici.command(
        "load-shared",
        { id: secret, type: "EAP", data: want.password, owners: [username] },
        `loading the EAP secret of ${username}`,
      );
    }
    const tree = userTree(spec, want, VICI_BUILD(this.#esp));
    const connPrint = fingerprint(tree);
    if (have?.connPrint !== connPrint) await vici.command("load-conn", { [conn]: tree as ViciSection }, `loading connection ${conn}`);
    loaded.users.set(username, { conn, connPrint, pools, secret, secretPrint });
  }

  /** No new logins first (secret and connection gone), then its sessions end, then its pools go. */
  async #unloadUser(vici: ViciClient, username: string, have: LoadedUser): Promise<void> {
    await vici.request("unload-shared", { id: have.secret });
    await vici.request("unload-conn", { name: have.conn });
    await this.#terminateConnections([have.conn]);
    for (const name of have.pools.keys()) {
      const reply = await vici.request("unload-pool", { name });
      if (reply.success !== "yes") this.#logger?.warn(`unloading pool ${name} failed: ${String(reply.errmsg ?? "")}`);
    }
    this.#loaded?.users.delete(username);
  }

  // ---- the swanctl.conf mirror

  async #writePrivate(relative: string, content: string): Promise<void> {
    const path = join(this.#stateDir, relative);
    const temp = `${path}.${process.pid}.tmp`;
    await rm(temp, { force: true });
    await writeFile(temp, content, { mode: 0o600 });
    await rename(temp, path);
  }

  /** The directories swanctl reads beside swanctl.conf (it complains about missing ones). */
  async #privateDirs(dirs = ["", "users", "x509", "x509ca", "private", ...SWANCTL_EMPTY_DIRS]): Promise<void> {
    for (const dir of dirs) {
      const path = join(this.#stateDir, dir);
      await mkdir(path, { recursive: true, mode: 0o700 });
      await chmod(path, 0o700);
    }
  }

  async #writeMirror(): Promise<void> {
    await this.#privateDirs();
    const connections = [...this.#desired.connections.values()];
    const names = new Set(connections.map((spec) => `${spec.name}.pem`));
    for (const spec of connections) {
      await this.#writePrivate(join("x509", `${spec.name}.pem`), spec.serverCertificatePem);
      await this.#writePrivate(join("x509ca", `${spec.name}.pem`), spec.caCertificatePem);
      await this.#writePrivate(join("private", `${spec.name}.pem`), spec.serverPrivateKeyPem);
    }
    for (const dir of ["x509", "x509ca", "private"]) {
      for (const file of await readdir(join(this.#stateDir, dir)))
        if (!names.has(file)) await rm(join(this.#stateDir, dir, file), { force: true });
    }
    await this.#writePrivate("swanctl.conf", renderSwanctlConf(connections, this.#esp));
    const users = new Set(this.#desired.users.keys());
    for (const file of await readdir(join(this.#stateDir, "users"))) {
      const username = file.replace(/\.conf$/, "");
      if (users.has(username) && file.endsWith(".conf")) continue;
      await rm(join(this.#stateDir, "users", file), { force: true });
      this.#userFiles.delete(username);
    }
    await this.#writeUserFiles(users);
  }

  async #writeUserFiles(usernames: Iterable<string>): Promise<void> {
    await this.#privateDirs(["users"]);
    for (const username of usernames) {
      const user = this.#desired.users.get(username);
      const file = join("users", `${username}.conf`);
      if (!user) {
        await rm(join(this.#stateDir, file), { force: true });
        this.#userFiles.delete(username);
        continue;
      }
      const content = renderUserConf(this.#desired.connections.get(user.connection)!, user, this.#esp);
      const print = fingerprint(content);
      if (this.#userFiles.get(username) === print) continue;
      await this.#writePrivate(file, content);
      this.#userFiles.set(username, print);
    }
  }
}

export default function createStrongSwanDriver(options: StrongSwanOptions): StrongSwanDriver {
  return new StrongSwanDriver(options);
}
