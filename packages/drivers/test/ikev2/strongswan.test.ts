/**
 * The strongSwan driver without strongSwan: what it writes (files, modes, quoting), what it
 * sends over vici (to a fake vici server on a unix socket) and which commands it runs (a
 * FakeCommandRunner), and the `--list-sas --raw` parser on real output.
 */
import { appendFileSync, mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { createServer, type Server } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { DaemonHandle, Ikev2ConnectionSpec, Ikev2UserSpec, SpawnOptions } from "@vpncp/core";
import { afterEach, beforeEach, describe, expect, test } from "vitest";
import { FakeCommandRunner } from "../../src/command-runner/fake.js";
import {
  parseListSasRaw,
  renderStrongswanConf,
  renderSwanctlConf,
  renderUserConf,
  StrongSwanDriver,
  serverOfConnection,
  swanctlSecretValue,
} from "../../src/ikev2/strongswan.js";
import { decodeViciMessage, encodeViciMessage } from "../../src/ikev2/vici.js";

const CERT = "-----BEGIN CERTIFICATE-----\nMIIBserver\n-----END CERTIFICATE-----\n";
const CA = "-----BEGIN CERTIFICATE-----\nMIIBca\n-----END CERTIFICATE-----\n";
const KEY = "-----BEGIN PRIVATE KEY-----\nMIIBkey\n-----END PRIVATE KEY-----\n";

const CONNECTION: Ikev2ConnectionSpec = {
  name: "wg105",
  localAddrs: [],
  serverId: "vpn.example.test",
  serverCertificatePem: CERT,
  serverPrivateKeyPem: KEY,
  caCertificatePem: CA,
  subnet4: "10.0.105.0/24",
  subnet6: "fd00:105::/64",
  localTs: ["0.0.0.0/0", "::/0"],
  dns: ["10.0.105.1", "fd00:105::1"],
};

const ALICE: Ikev2UserSpec = {
  connection: "wg105",
  username: "alice",
  password: 'Al1ce#%!{x}\\"q',
  ipv4: "10.0.105.18",
  ipv6: "fd00:105::12",
};
const BOB: Ikev2UserSpec = { connection: "wg105", username: "bob", password: "0xB0b%!", ipv4: "10.0.105.19" };

interface ViciRequest {
  readonly command: string;
  readonly message: Record<string, unknown>;
}

/** Speaks enough vici to be charon for the driver: records requests, keeps connection names, can refuse a pool once. */
class FakeVici {
  readonly requests: ViciRequest[] = [];
  readonly conns: string[] = [];
  readonly shared: string[] = [];
  readonly refusePoolOnce = new Set<string>();
  readonly #server: Server;

  private constructor(server: Server) {
    this.#server = server;
  }

  static start(path: string, preset: { conns?: string[]; shared?: string[] } = {}): Promise<FakeVici> {
    return new Promise((resolve, reject) => {
      let fake: FakeVici | null = null;
      const server = createServer((socket) => {
        let buffer = Buffer.alloc(0);
        socket.on("data", (chunk: Buffer) => {
          buffer = Buffer.concat([buffer, chunk]);
          while (buffer.length >= 4 && buffer.length >= 4 + buffer.readUInt32BE(0)) {
            const payload = buffer.subarray(4, 4 + buffer.readUInt32BE(0));
            buffer = buffer.subarray(4 + payload.length);
            const nameLength = payload.readUInt8(1);
            const command = payload.toString("utf8", 2, 2 + nameLength);
            const message = decodeViciMessage(payload.subarray(2 + nameLength));
            const body = encodeViciMessage(fake!.answer(command, message));
            const length = Buffer.alloc(4);
            length.writeUInt32BE(body.length + 1);
            socket.write(Buffer.concat([length, Buffer.from([1]), body]));
          }
        });
      });
      fake = new FakeVici(server);
      fake.conns.push(...(preset.conns ?? []));
      fake.shared.push(...(preset.shared ?? []));
      server.once("error", reject);
      server.listen(path, () => resolve(fake));
    });
  }

  answer(command: string, message: Record<string, unknown>): Record<string, string | string[]> {
    this.requests.push({ command, message });
    switch (command) {
      case "version":
        return { daemon: "charon-systemd", version: "5.9.8" };
      case "get-conns":
        return { conns: [...this.conns] };
      case "get-shared":
        return { keys: [...this.shared] };
      case "load-key":
        return { success: "yes", id: "4b1d" };
      case "load-conn": {
        const name = Object.keys(message)[0]!;
        if (!this.conns.includes(name)) this.conns.push(name);
        return { success: "yes" };
      }
      case "unload-conn":
        this.conns.splice(this.conns.indexOf(String(message.name)), 1);
        return { success: "yes" };
      // charon lists the secrets it holds (get-shared): a whole apply checks them against its memory
      case "load-shared":
        if (!this.shared.includes(String(message.id))) this.shared.push(String(message.id));
        return { success: "yes" };
      case "unload-shared":
        if (this.shared.includes(String(message.id))) this.shared.splice(this.shared.indexOf(String(message.id)), 1);
        return { success: "yes" };
      case "load-pool": {
        const name = Object.keys(message)[0]!;
        if (this.refusePoolOnce.delete(name)) return { success: "no", errmsg: `pool '${name}' has online leases, unable to replace` };
        return { success: "yes" };
      }
      default:
        return { success: "yes" };
    }
  }

  commands(): string[] {
    return this.requests.map((r) =>
      r.command.startsWith("load-") || r.command.startsWith("unload-") ? `${r.command} ${describeItem(r)}` : r.command,
    );
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.#server.close(() => resolve()));
  }
}

function describeItem(request: ViciRequest): string {
  const m = request.message;
  if (request.command === "load-conn" || request.command === "load-pool") return Object.keys(m)[0]!;
  if (request.command === "load-shared" || request.command === "unload-shared" || request.command === "unload-key") return String(m.id);
  if (request.command === "load-key" || request.command === "load-cert") return String(m.type);
  return String(m.name);
}

const LIST_SAS = [
  "list-sa event {alice@wg105 {uniqueid=7 version=2 state=ESTABLISHED local-host=192.0.2.1 local-port=4500 local-id=vpn.example.test remote-host=192.0.2.2 remote-port=4500 remote-id=192.0.2.2 remote-eap-id=alice initiator-spi=daabdbff104b8e55 responder-spi=3f6c0732bbd695a5 nat-remote=yes nat-any=yes encr-alg=AES_CBC encr-keysize=128 integ-alg=HMAC_SHA2_256_128 prf-alg=PRF_HMAC_SHA2_256 dh-group=CURVE_25519 established=42 rekey-time=13997 remote-vips=[10.0.105.18 fd00:105::12] child-sas {net-1 {name=net uniqueid=1 reqid=1 state=INSTALLED mode=TUNNEL protocol=ESP encap=yes spi-in=25f988dc spi-out=30bf3102 encr-alg=AES_GCM_16 encr-keysize=128 bytes-in=252 packets-in=3 use-in=0 bytes-out=168 packets-out=2 use-out=0 rekey-time=3573 life-time=3960 install-time=0 local-ts=[0.0.0.0/0] remote-ts=[10.0.105.18/32]} net-2 {name=net uniqueid=2 reqid=2 state=INSTALLED bytes-in=1000 bytes-out=2000 local-ts=[::/0] remote-ts=[fd00:105::12/128]}}}}",
  "list-sa event {bob@wg105 {uniqueid=8 version=2 state=ESTABLISHED local-host=192.0.2.1 local-port=4500 local-id=vpn.example.test remote-host=198.51.100.9 remote-port=61022 remote-id=bob established=5 remote-vips=[10.0.105.19] child-sas {}}}",
  "list-sa event {bob@wg105 {uniqueid=6 version=2 state=REKEYED local-host=192.0.2.1 local-port=4500 remote-host=198.51.100.9 remote-port=61022 remote-id=bob established=3600 remote-vips=[10.0.105.19] child-sas {}}}",
  "list-sa event {site-to-site {uniqueid=9 version=2 state=ESTABLISHED remote-host=203.0.113.5 remote-port=500 remote-id=C=CH, O=Example Org, CN=gw.example.org established=100 child-sas {}}}",
  "list-sas reply {}",
].join("\n");

describe("swanctl --list-sas --raw", () => {
  test("one state per IKE_SA: EAP identity (or IKE identity), server, addresses, bytes summed over CHILD_SAs", () => {
    const listed = parseListSasRaw(LIST_SAS);
    expect(listed.map((l) => [l.ikeName, l.state])).toEqual([
      ["alice@wg105", "ESTABLISHED"],
      ["bob@wg105", "ESTABLISHED"],
      ["bob@wg105", "REKEYED"],
      ["site-to-site", "ESTABLISHED"],
    ]);
    expect(listed[0]!.sa).toEqual({
      uniqueId: "7",
      connection: "wg105",
      username: "alice",
      remoteHost: "192.0.2.2",
      remotePort: 4500,
      virtualIps: ["10.0.105.18", "fd00:105::12"],
      establishedSeconds: 42,
      bytesIn: 1252,
      bytesOut: 2168,
    });
    // charon leaves remote-eap-id out when it equals the IKE identity (charon-cmd --identity, the Android app).
    expect(listed[1]!.sa).toMatchObject({ username: "bob", remoteHost: "198.51.100.9", remotePort: 61022, bytesIn: 0, bytesOut: 0 });
    // A distinguished name keeps its spaces; a connection that is not ours keeps its name.
    expect(listed[3]!.sa).toMatchObject({ connection: "site-to-site", username: "C=CH, O=Example Org, CN=gw.example.org", virtualIps: [] });
  });

  test("no SAs, no lines", () => {
    expect(parseListSasRaw("list-sas reply {}\n")).toEqual([]);
    expect(parseListSasRaw("")).toEqual([]);
  });

  test("connection names map back to servers", () => {
    expect(serverOfConnection("alice@wg105")).toBe("wg105");
    expect(serverOfConnection("@wg105")).toBe("wg105");
    expect(serverOfConnection("ikev2-eap")).toBe("ikev2-eap");
  });
});

describe("rendered configuration", () => {
  test("passwords are quoted and escaped; 0x/0s ones (which swanctl would decode) are written as hex", () => {
    expect(swanctlSecretValue("p#ss%!{}=,")).toBe('"p#ss%!{}=,"');
    expect(swanctlSecretValue('a"b\\c')).toBe('"a\\"b\\\\c"');
    expect(swanctlSecretValue("0xB0b")).toBe(`0x${Buffer.from("0xB0b").toString("hex")}`);
    expect(swanctlSecretValue("0Sfoo")).toBe(`0x${Buffer.from("0Sfoo").toString("hex")}`);
  });

  test("an account's part: its connection (eap_id, its pools), one-address pools, its EAP secret", () => {
    expect(renderUserConf(CONNECTION, ALICE)).toMatchInlineSnapshot(`
      "connections {
        alice@wg105 {
          version = 2
          pools = alice@wg105/4,alice@wg105/6
          send_cert = always
          unique = replace
          dpd_delay = 30s
          encap = yes
          local {
            auth = pubkey
            certs = wg105.pem
            id = vpn.example.test
          }
          remote {
            auth = eap-mschapv2
            eap_id = alice
          }
          children {
            net {
              local_ts = 0.0.0.0/0,::/0
            }
          }
        }
      }
      pools {
        alice@wg105/4 {
          addrs = 10.0.105.18/32
          dns = 10.0.105.1,fd00:105::1
        }
        alice@wg105/6 {
          addrs = fd00:105::12/128
        }
      }
      secrets {
        eap-alice@wg105 {
          id = alice
          secret = "Al1ce#%!{x}\\\\\\"q"
        }
      }
      "
    `);
  });

  test("the main file: landing connections (EAP identity requested, never acceptable), then the accounts' files", () => {
    const text = renderSwanctlConf([{ ...CONNECTION, localAddrs: ["192.0.2.1"] }]);
    expect(text).toContain("  @wg105 {\n    version = 2\n    local_addrs = 192.0.2.1\n    send_cert = always");
    expect(text).toContain("    remote {\n      auth = eap-mschapv2\n      eap_id = %any\n      groups = vpncp-eap-identity-only\n    }");
    expect(text).not.toContain("pools =");
    expect(text.trimEnd().endsWith("include users/*.conf")).toBe(true);
  });

  test("strongswan.conf: kernel-libipsec before kernel-netlink, kdf and eap-mschapv2, private vici socket and log", () => {
    const text = renderStrongswanConf("/run/vpncp/strongswan");
    expect(text).toMatch(/load = kernel-libipsec kernel-netlink .* kdf .*eap-mschapv2/);
    expect(text).toContain("socket = unix:///run/vpncp/strongswan/charon.vici");
    expect(text).toContain("path = /run/vpncp/strongswan/charon.log");
    const kernel = renderStrongswanConf("/x", "kernel");
    expect(kernel).not.toContain("kernel-libipsec");
    expect(renderUserConf(CONNECTION, BOB, "kernel")).not.toContain("encap");
  });
});

describe("StrongSwanDriver against a fake charon", () => {
  let dir: string;
  let vici: FakeVici | null;
  let runner: FakeCommandRunner;
  let driver: StrongSwanDriver | null;

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "vpncp-strongswan-unit-"));
    vici = null;
    driver = null;
    runner = new FakeCommandRunner().respond((file, args) => {
      if (file !== "swanctl") return undefined;
      if (args[0] === "--list-sas") return { stdout: LIST_SAS };
      if (args[0] === "--version") return { stdout: "strongSwan 5.9.8 swanctl\n", exitCode: 2 };
      return { stdout: "terminate completed successfully\n" };
    });
  });

  afterEach(async () => {
    await driver?.dispose();
    await vici?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const external = async (preset?: { conns?: string[]; shared?: string[] }) => {
    vici = await FakeVici.start(join(dir, "charon.vici"), preset);
    driver = new StrongSwanDriver({
      runner,
      stateDir: join(dir, "state"),
      mode: "external",
      viciUri: `unix://${join(dir, "charon.vici")}`,
    });
    return { vici, driver };
  };
  const argvText = () => runner.commands.map((c) => [c.file, ...c.args].join(" ")).join("\n");

  test("apply loads key, CA, the landing connection, then each account's pools, secret and connection", async () => {
    const { vici, driver } = await external();
    await driver.apply({ connections: [CONNECTION], users: [ALICE, BOB] });
    expect(vici.commands()).toEqual([
      "get-conns",
      "get-shared",
      "load-key any",
      "load-cert X509",
      "load-conn @wg105",
      "load-pool alice@wg105/4",
      "load-pool alice@wg105/6",
      "load-shared eap-alice@wg105",
      "load-conn alice@wg105",
      "load-pool bob@wg105/4",
      "load-shared eap-bob@wg105",
      "load-conn bob@wg105",
    ]);
    const shared = vici.requests.find((r) => r.command === "load-shared")!.message;
    expect(shared).toEqual({ id: "eap-alice@wg105", type: "EAP", data: ALICE.password, owners: ["alice"] });
    const pool = vici.requests.find((r) => r.command === "load-pool")!.message;
    expect(pool).toEqual({ "alice@wg105/4": { addrs: "10.0.105.18/32", dns: ["10.0.105.1", "fd00:105::1"] } });
    const conn = vici.requests.find((r) => r.command === "load-conn" && "alice@wg105" in r.message)!.message["alice@wg105"] as Record<
      string,
      unknown
    >;
    expect(conn).toMatchObject({ pools: ["alice@wg105/4", "alice@wg105/6"], remote: { auth: "eap-mschapv2", eap_id: "alice" } });
    expect((conn.local as Record<string, unknown>).certs).toEqual([CERT]);
    // Nothing ran with a password, nothing ran at all for loading.
    expect(argvText()).not.toContain("B0b");
    expect(argvText()).not.toContain("Al1ce");
    expect(runner.commands).toEqual([]);
  });

  test("the mirror: 0700 directories, 0600 files, one file per account", async () => {
    const { driver } = await external();
    await driver.apply({ connections: [CONNECTION], users: [ALICE, BOB] });
    const state = join(dir, "state");
    const mode = (path: string) => statSync(join(state, path)).mode & 0o777;
    for (const path of ["", "users", "private", "x509", "x509ca"]) expect(mode(path)).toBe(0o700);
    for (const path of ["swanctl.conf", "users/alice.conf", "users/bob.conf", "private/wg105.pem", "x509/wg105.pem", "x509ca/wg105.pem"]) {
      expect(mode(path)).toBe(0o600);
    }
    expect(readFileSync(join(state, "users/bob.conf"), "utf8")).toContain(`secret = 0x${Buffer.from("0xB0b%!").toString("hex")}\n`);
    expect(readFileSync(join(state, "users/alice.conf"), "utf8")).toContain('secret = "Al1ce#%!{x}\\\\\\"q"\n');
    expect(readFileSync(join(state, "private/wg105.pem"), "utf8")).toBe(KEY);
  });

  test("the same state again loads nothing; a password change sends only that secret and rewrites only that file", async () => {
    const { vici, driver } = await external();
    await driver.apply({ connections: [CONNECTION], users: [ALICE, BOB] });
    const aliceFile = readFileSync(join(dir, "state/users/alice.conf"), "utf8");
    vici.requests.length = 0;
    await driver.apply({ connections: [CONNECTION], users: [ALICE, BOB] });
    // a whole apply only asks charon what it still holds (doctor --fix relies on it), and loads nothing
    expect(vici.commands()).toEqual(["get-conns", "get-shared"]);
    vici.requests.length = 0;
    await driver.updateUsers({ upsert: [{ ...BOB, password: "n3w#pw" }], remove: [] });
    expect(vici.commands()).toEqual(["load-shared eap-bob@wg105"]);
    expect(readFileSync(join(dir, "state/users/bob.conf"), "utf8")).toContain('secret = "n3w#pw"');
    expect(readFileSync(join(dir, "state/users/alice.conf"), "utf8")).toBe(aliceFile);
    expect(runner.commands).toEqual([]);
  });

  test("removing an account: secret and connection first, then its sessions end, then its pool and file go", async () => {
    const { vici, driver } = await external();
    await driver.apply({ connections: [CONNECTION], users: [ALICE, BOB] });
    vici.requests.length = 0;
    await driver.updateUsers({ upsert: [], remove: [BOB] });
    expect(vici.commands()).toEqual(["unload-shared eap-bob@wg105", "unload-conn bob@wg105", "unload-pool bob@wg105/4"]);
    expect(argvText()).toBe(`swanctl --terminate --uri unix://${join(dir, "charon.vici")} --ike bob@wg105 --force`);
    expect(() => statSync(join(dir, "state/users/bob.conf"))).toThrow();
    // A removal naming another connection is not this account's: nothing happens.
    vici.requests.length = 0;
    await driver.updateUsers({ upsert: [], remove: [{ ...ALICE, connection: "wg999" }] });
    expect(vici.commands()).toEqual([]);
  });

  test("a new address for an online account: its session ends, then the pool is replaced", async () => {
    const { vici, driver } = await external();
    await driver.apply({ connections: [CONNECTION], users: [BOB] });
    vici.requests.length = 0;
    vici.refusePoolOnce.add("bob@wg105/4");
    await driver.updateUsers({ upsert: [{ ...BOB, ipv4: "10.0.105.77" }], remove: [] });
    expect(vici.commands()).toEqual(["load-pool bob@wg105/4", "load-pool bob@wg105/4"]);
    expect(argvText()).toContain("--terminate");
    expect(vici.requests[1]!.message).toEqual({ "bob@wg105/4": { addrs: "10.0.105.77/32", dns: ["10.0.105.1", "fd00:105::1"] } });
  });

  test("an external charon's leftovers of ours are dropped, other connections and secrets are left alone", async () => {
    const { vici, driver } = await external({
      conns: ["site-to-site", "@old", "gone@old", "alice@wg105"],
      shared: ["eap-gone@old", "psk-site"],
    });
    await driver.apply({ connections: [CONNECTION], users: [ALICE] });
    const commands = vici.commands();
    expect(commands).toContain("unload-conn @old");
    expect(commands).toContain("unload-conn gone@old");
    expect(commands).toContain("unload-shared eap-gone@old");
    expect(commands.join("\n")).not.toMatch(/site/);
    expect(commands).not.toContain("unload-conn alice@wg105");
    expect(vici.conns).toEqual(["site-to-site", "alice@wg105", "@wg105"]);
    expect(argvText()).toContain("--ike gone@old --force");
  });

  test("listSas keeps live sessions; terminate ends each of the account's SAs by id", async () => {
    const { driver } = await external();
    expect((await driver.listSas()).map((sa) => [sa.username, sa.uniqueId])).toEqual([
      ["alice", "7"],
      ["bob", "8"],
      ["C=CH, O=Example Org, CN=gw.example.org", "9"],
    ]);
    runner.commands.length = 0;
    expect(await driver.terminate("bob")).toBe(1);
    expect(runner.commands.map((c) => c.args.join(" "))).toEqual([
      `--list-sas --uri unix://${join(dir, "charon.vici")} --raw`,
      `--terminate --uri unix://${join(dir, "charon.vici")} --ike-id 8 --force`,
    ]);
  });

  test("info: the daemon's version while it answers, swanctl's and 'stopped' when not", async () => {
    const { vici, driver } = await external();
    expect(await driver.info()).toEqual({ version: "5.9.8", daemon: "charon-systemd", state: "running" });
    await vici.close();
    expect(await driver.info()).toEqual({ version: "5.9.8", state: "stopped" });
  });

  test("spawn mode: charon-systemd with its own STRONGSWAN_CONF, waited for, stopped by dispose", async () => {
    const stateDir = join(dir, "state");
    const spawned: { file: string; env: Record<string, string> | undefined; handle: DaemonHandle }[] = [];
    const spawning = new (class extends FakeCommandRunner {
      override spawn(file: string, args: readonly string[], options?: SpawnOptions): DaemonHandle {
        const handle = super.spawn(file, args);
        spawned.push({ file, env: options?.env ? { ...options.env } : undefined, handle });
        // charon opens its vici socket a little later.
        setTimeout(() => {
          void FakeVici.start(join(stateDir, "charon.vici")).then((started) => {
            vici = started;
          });
        }, 20);
        return handle;
      }
    })();
    driver = new StrongSwanDriver({ runner: spawning, stateDir, mode: "spawn" });
    expect((await driver.info()).state).toBe("stopped");
    await driver.apply({ connections: [CONNECTION], users: [ALICE] });
    expect(spawned.map((s) => [s.file, s.env])).toEqual([
      ["/usr/sbin/charon-systemd", { STRONGSWAN_CONF: join(stateDir, "strongswan.conf"), VPNCP_CHARON: String(process.pid) }],
    ]);
    expect(statSync(join(stateDir, "strongswan.conf")).mode & 0o777).toBe(0o600);
    expect(driver.daemonPid).toBe(10_000);
    expect((await driver.info()).state).toBe("running");
    // The start waits for vici to answer; a spawned charon is ours alone: no leftovers to look for.
    expect(vici!.commands().slice(0, 2)).toEqual(["version", "load-key any"]);
    expect(vici!.commands()).not.toContain("get-conns");
    await driver.dispose();
    expect(await Promise.race([spawned[0]!.handle.exited, "running"])).toBe("SIGTERM");
    expect(driver.daemonPid).toBeNull();
  });

  test("spawn mode: the tunnel is the TUN device this charon logged making; a restarted charon's new one goes to the listeners", async () => {
    const stateDir = join(dir, "state");
    const handles: DaemonHandle[] = [];
    const vicis: FakeVici[] = [];
    let tun = "ipsec0";
    const spawning = new (class extends FakeCommandRunner {
      override spawn(file: string, args: readonly string[]): DaemonHandle {
        const handle = super.spawn(file, args);
        handles.push(handle);
        // what kernel-libipsec logs while charon loads its plugins, before vici listens
        appendFileSync(join(stateDir, "charon.log"), `2026-11-23 14:00:00 00[LIB] created TUN device: ${tun}\n`);
        setTimeout(() => {
          void FakeVici.start(join(stateDir, "charon.vici")).then((started) => vicis.push(started));
        }, 20);
        return handle;
      }
    })();
    const logged: string[] = [];
    driver = new StrongSwanDriver({
      runner: spawning,
      stateDir,
      mode: "spawn",
      logger: { info: (message) => logged.push(message), warn: (message) => logged.push(message) },
    });
    const recreated: (string | null)[] = [];
    driver.onTunnelRecreated(() => recreated.push(driver!.tunnelInterface()));
    try {
      expect(driver.tunnelInterface()).toBeNull();
      await driver.apply({ connections: [CONNECTION], users: [ALICE] });
      expect(driver.tunnelInterface()).toBe("ipsec0");
      expect(recreated).toEqual([]);
      // charon dies: no tunnel until the driver has started it again; the new one has another name
      tun = "ipsec1";
      await handles[0]!.stop();
      expect(driver.tunnelInterface()).toBeNull();
      for (let i = 0; i < 100 && recreated.length === 0; i++) await new Promise((resolve) => setTimeout(resolve, 50));
      expect(recreated).toEqual(["ipsec1"]);
      expect(driver.tunnelInterface()).toBe("ipsec1");
      expect(logged).toContain(`charon started (pid ${handles[1]!.pid}, tunnel ipsec1)`);
    } finally {
      await driver.dispose();
      for (const started of vicis) await started.close();
    }
  });

  test("no tunnel device with kernel ESP; an external charon's is the one configured", async () => {
    const kernel = new StrongSwanDriver({ runner, stateDir: join(dir, "k"), esp: "kernel", tunnelInterface: "ipsec0", mode: "external" });
    expect(kernel.tunnelInterface()).toBeNull();
    const configured = new StrongSwanDriver({ runner, stateDir: join(dir, "e"), mode: "external", tunnelInterface: "ipsec3" });
    expect(configured.tunnelInterface()).toBe("ipsec3");
    expect(new StrongSwanDriver({ runner, stateDir: join(dir, "e"), mode: "external" }).tunnelInterface()).toBeNull();
  });
});
