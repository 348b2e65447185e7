/**
 * A VPN server in network namespaces, for proving the firewall drivers with
 * real packets: the server's "WireGuard interface" is a bridge with clients A
 * and B behind it (each in its own namespace with a /32 and the server as
 * gateway, so traffic between them is routed through the server, in and out of
 * the same interface, as on wg), an uplink veth to an "internet" namespace that
 * has no route back to the VPN subnets (only NAT makes replies come back), and
 * a "roamer" (an IKEv2-like client with an account address, on another interface).
 */
import { execFile, execFileSync } from "node:child_process";
import { promisify } from "node:util";
import type { CommandRunner, DaemonHandle, FirewallAccountSpec, FirewallPort, FirewallState, RunOptions } from "@vpncp/core";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { FIREWALL_FIXTURE as F } from "../contract/firewall.js";
import { createNamespace, type TestNamespace, uniqueName } from "../netns.js";

const run = promisify(execFile);

export const LAB = {
  server4: "10.0.105.1",
  server6: "fd00:105::1",
  wan4: "203.0.113.1",
  wan6: "2001:db8:113::1",
  internet4: "203.0.113.2",
  internet6: "2001:db8:113::2",
  roamer: { mark: 0x75, ipv4: "10.0.105.30" },
  port: 8080,
} as const;

/** Every mark the contract suite and the lab's tests give accounts: an HTB class for each finds where a download went. */
export const CLASS_MARKS: readonly number[] = [F.a.mark, F.b.mark, F.c.mark, F.d.mark, 0x72, 0x73, LAB.roamer.mark, 0x76];

export interface FirewallLabNames {
  /** Server 1's vpncp interface (a bridge). */
  readonly bridge: string;
  readonly wan: string;
  /** Server 2's interface: only a name, nothing sends through it. */
  readonly srv2: string;
  /** The server's end of the roamer's link (not a vpncp interface). */
  readonly roam: string;
}

export function firewallLabNames(): FirewallLabNames {
  return { bridge: uniqueName("fb"), wan: uniqueName("fw"), srv2: uniqueName("fz"), roam: uniqueName("fr") };
}

function ip(args: readonly string[]): void {
  execFileSync("ip", args, { stdio: ["ignore", "pipe", "pipe"] });
}

// The TCP peers: the internet host answers each connection with `down` bytes once the
// client has sent its `up` bytes, and prints the address it saw the client come from.
const LISTENER = `
const net = require("node:net");
const [port, down] = process.argv.slice(1).map(Number);
net.createServer((socket) => {
  let up = 0;
  socket.on("data", (chunk) => { up += chunk.length; });
  socket.on("error", () => {});
  socket.on("end", () => {
    console.log("peer " + socket.remoteAddress.replace(/^::ffff:/, "") + " " + up);
    socket.end(Buffer.alloc(down, 120));
  });
}).listen(port, "::", () => console.log("ready"));
`;
const CLIENT = `
const net = require("node:net");
const [host, port, localAddress, up] = process.argv.slice(1);
const socket = net.connect({ host, port: Number(port), localAddress }, () => socket.end(Buffer.alloc(Number(up), 97)));
let received = 0;
socket.on("data", (chunk) => { received += chunk.length; });
socket.on("close", () => console.log(received));
socket.on("error", (error) => { console.error(error.message); process.exit(1); });
setTimeout(() => { console.error("timeout"); process.exit(2); }, 15000).unref();
`;

export interface FirewallLab {
  readonly names: FirewallLabNames;
  readonly server: TestNamespace;
  /** Pings (3 × 500 bytes) from the client holding `address` to the internet host; throws when no reply comes. */
  sendTraffic(address: string): Promise<void>;
  /** Whether `count` pings from `source` (a client address) to `target` are answered. */
  ping(source: string, target: string, count?: number): Promise<boolean>;
  /** A TCP exchange from the client at `source` to the internet host: `up` bytes out, `down` bytes back. */
  exchange(source: string, up: number, down: number): Promise<{ peer: string; received: number }>;
  /** An HTB on `device` (default: the bridge) with one class per mark (1:<hex>) and a default class. */
  htb(marks: readonly number[], device?: string): void;
  /** Bytes `tc -s class show` reports sent through class 1:<mark hex> of `device` (default: the bridge). */
  classSent(mark: number, device?: string): number;
  removeHtb(device?: string): void;
  /**
   * Pings from the client holding `address` with an HTB on `device` holding a class for each of
   * `marks`: the mark whose class the replies (its download) went through, null when none did.
   */
  downloadClass(device: string, address: string, marks: readonly number[]): Promise<number | null>;
  dispose(): Promise<void>;
}

export async function createFirewallLab(names: FirewallLabNames): Promise<FirewallLab> {
  const server = createNamespace();
  const client1 = createNamespace();
  const client2 = createNamespace();
  const roamer = createNamespace();
  const internet = createNamespace();
  const all = [server, client1, client2, roamer, internet];
  // One listener per exchange (it is told how much to send back), stopped by PID right after.
  let listener: DaemonHandle | undefined;
  try {
    const sysctl = (ns: TestNamespace, ...keys: string[]) => ns.exec("sysctl", ["-q", "-w", ...keys]);
    ip(["-n", server.name, "link", "add", names.bridge, "type", "bridge"]);
    ip(["-n", server.name, "link", "set", names.bridge, "up"]);
    ip(["-n", server.name, "addr", "add", `${LAB.server4}/24`, "dev", names.bridge]);
    ip(["-n", server.name, "addr", "add", `${LAB.server6}/64`, "dev", names.bridge, "nodad"]);
    // Routed hairpin on the bridge, as on a wg interface: no redirects, no bridge-level netfilter.
    sysctl(
      server,
      "net.ipv4.conf.all.send_redirects=0",
      "net.ipv4.conf.default.send_redirects=0",
      `net.ipv4.conf.${names.bridge}.send_redirects=0`,
      "net.bridge.bridge-nf-call-iptables=0",
      "net.bridge.bridge-nf-call-ip6tables=0",
    );
    for (const [client, account] of [
      [client1, F.a],
      [client2, F.b],
    ] as const) {
      const near = uniqueName("fp");
      const far = uniqueName("fq");
      ip(["link", "add", near, "netns", server.name, "type", "veth", "peer", "name", far, "netns", client.name]);
      ip(["-n", server.name, "link", "set", near, "master", names.bridge, "up"]);
      ip(["-n", client.name, "link", "set", far, "up"]);
      ip(["-n", client.name, "addr", "add", `${account.ipv4}/32`, "dev", far]);
      ip(["-n", client.name, "addr", "add", `${account.ipv6}/128`, "dev", far, "nodad"]);
      ip(["-n", client.name, "route", "add", LAB.server4, "dev", far]);
      ip(["-n", client.name, "route", "add", "default", "via", LAB.server4, "dev", far]);
      ip(["-n", client.name, "-6", "route", "add", LAB.server6, "dev", far]);
      ip(["-n", client.name, "-6", "route", "add", "default", "via", LAB.server6, "dev", far]);
      sysctl(
        client,
        "net.ipv4.conf.all.accept_redirects=0",
        `net.ipv4.conf.${far}.accept_redirects=0`,
        "net.ipv6.conf.all.accept_redirects=0",
      );
    }
    const inet = uniqueName("fi");
    ip(["link", "add", names.wan, "netns", server.name, "type", "veth", "peer", "name", inet, "netns", internet.name]);
    ip(["-n", server.name, "addr", "add", `${LAB.wan4}/24`, "dev", names.wan]);
    ip(["-n", server.name, "addr", "add", `${F.externalIp}/32`, "dev", names.wan]);
    ip(["-n", server.name, "addr", "add", `${LAB.wan6}/64`, "dev", names.wan, "nodad"]);
    ip(["-n", internet.name, "addr", "add", `${LAB.internet4}/24`, "dev", inet]);
    ip(["-n", internet.name, "addr", "add", `${LAB.internet6}/64`, "dev", inet, "nodad"]);
    ip(["-n", server.name, "link", "set", names.wan, "up"]);
    ip(["-n", internet.name, "link", "set", inet, "up"]);

    const roam = uniqueName("fs");
    ip(["link", "add", names.roam, "netns", server.name, "type", "veth", "peer", "name", roam, "netns", roamer.name]);
    ip(["-n", server.name, "link", "set", names.roam, "up"]);
    ip(["-n", server.name, "route", "add", `${LAB.roamer.ipv4}/32`, "dev", names.roam]);
    ip(["-n", roamer.name, "link", "set", roam, "up"]);
    ip(["-n", roamer.name, "addr", "add", `${LAB.roamer.ipv4}/32`, "dev", roam]);
    ip(["-n", roamer.name, "route", "add", LAB.server4, "dev", roam]);
    ip(["-n", roamer.name, "route", "add", "default", "via", LAB.server4, "dev", roam]);
  } catch (error) {
    for (const ns of all) ns.dispose();
    throw error;
  }

  const clientOf = (address: string): TestNamespace => {
    if (address === F.a.ipv4 || address === F.a.ipv6) return client1;
    if (address === F.b.ipv4 || address === F.b.ipv6) return client2;
    if (address === LAB.roamer.ipv4) return roamer;
    throw new Error(`no lab client holds ${address}`);
  };

  const lab: FirewallLab = {
    names,
    server,
    async sendTraffic(address) {
      const target = address.includes(":") ? LAB.internet6 : LAB.internet4;
      if (!(await lab.ping(address, target))) throw new Error(`no reply from ${target} to ${address}`);
    },
    async ping(source, target, count = 3) {
      const family = source.includes(":") ? "-6" : "-4";
      const args = ["netns", "exec", clientOf(source).name, "ping", family, "-q", "-c", String(count), "-i", "0.2", "-W", "1", "-s", "500"];
      try {
        await run("ip", [...args, "-I", source, target]);
        return true;
      } catch {
        return false;
      }
    },
    async exchange(source, up, down) {
      const lines: string[] = [];
      let ready: () => void = () => {};
      const started = new Promise<void>((resolve) => {
        ready = resolve;
      });
      listener = internet.runner.spawn("node", ["-e", LISTENER, String(LAB.port), String(down)], {
        onOutput: (line) => {
          if (line === "ready") ready();
          else lines.push(line);
        },
      });
      try {
        await Promise.race([started, listener.exited.then((code) => Promise.reject(new Error(`listener exited: ${code}`)))]);
        const target = source.includes(":") ? LAB.internet6 : LAB.internet4;
        const { stdout } = await run("ip", [
          "netns",
          "exec",
          clientOf(source).name,
          "node",
          "-e",
          CLIENT,
          target,
          String(LAB.port),
          source,
          String(up),
        ]);
        for (let i = 0; i < 100 && !lines.some((line) => line.startsWith("peer ")); i++) await new Promise((r) => setTimeout(r, 50));
        const peer = lines.find((line) => line.startsWith("peer "))?.split(" ")[1] ?? "";
        return { peer, received: Number(stdout.trim()) };
      } finally {
        await listener.stop();
        listener = undefined;
      }
    },
    htb(marks, dev = names.bridge) {
      const tc = (...args: string[]) => server.exec("tc", args);
      tc("qdisc", "replace", "dev", dev, "root", "handle", "1:", "htb", "default", "9999");
      tc("class", "add", "dev", dev, "parent", "1:", "classid", "1:1", "htb", "rate", "10gbit", "quantum", "60000");
      for (const minor of [...marks.map((mark) => mark.toString(16)), "9999"]) {
        tc("class", "add", "dev", dev, "parent", "1:1", "classid", `1:${minor}`, "htb", "rate", "1gbit", "quantum", "60000");
      }
    },
    classSent(mark, device = names.bridge) {
      const text = server.exec("tc", ["-s", "class", "show", "dev", device, "classid", `1:${mark.toString(16)}`]);
      const sent = /Sent (\d+) bytes/.exec(text)?.[1];
      if (sent === undefined) throw new Error(`no class 1:${mark.toString(16)}: ${text}`);
      return Number(sent);
    },
    removeHtb(device = names.bridge) {
      server.exec("tc", ["qdisc", "del", "dev", device, "root"]);
    },
    async downloadClass(device, address, marks) {
      lab.htb(marks, device);
      try {
        await lab.sendTraffic(address);
        const hit = marks.filter((mark) => lab.classSent(mark, device) > 0);
        if (hit.length > 1) throw new Error(`downloads to ${address} went through several classes: ${hit.join(", ")}`);
        return hit[0] ?? null;
      } finally {
        lab.removeHtb(device);
      }
    },
    async dispose() {
      await listener?.stop();
      for (const ns of all) ns.dispose();
    },
  };
  return lab;
}

/** A runner that records each command, to count processes per operation. */
export class CountingRunner implements CommandRunner {
  readonly commands: string[] = [];
  readonly #inner: CommandRunner;
  constructor(inner: CommandRunner) {
    this.#inner = inner;
  }
  get netns(): string | null {
    return this.#inner.netns;
  }
  run(file: string, args: readonly string[], options?: RunOptions) {
    this.commands.push([file, ...args].join(" "));
    return this.#inner.run(file, args, options);
  }
  spawn(file: string, args: readonly string[]) {
    return this.#inner.spawn(file, args);
  }
}

/** A snapshot of the host's own rules (everything not vpncp's), to prove they are untouched. */
export function hostRules(server: TestNamespace, variant: "legacy" | "nft", chainPrefix = "VPNCP"): string {
  const lines: string[] = [server.exec("nft", ["-s", "list", "table", "inet", "hostkeep"])];
  for (const family of ["ip", "ip6"]) {
    const saved = server.exec(`${family}tables-${variant}-save`, []);
    lines.push(
      ...saved
        .split("\n")
        .filter((line) => !line.startsWith("#") && !line.includes(chainPrefix))
        .map((line) => line.replace(/\[\d+:\d+\]/, "")),
    );
  }
  return lines.join("\n");
}

/** Installs host rules vpncp does not own: an nft table, and iptables rules in the built-in chains of each table. */
export function installHostRules(server: TestNamespace, variant: "legacy" | "nft"): void {
  server.exec(
    "nft",
    ["-f", "-"],
    [
      "table inet hostkeep {",
      "  chain host_forward { type filter hook forward priority 10; policy accept; ip saddr 192.0.2.99 counter accept; }",
      "  chain host_postrouting { type nat hook postrouting priority 110; policy accept; ip saddr 192.0.2.0/24 masquerade; }",
      "}",
      "",
    ].join("\n"),
  );
  for (const family of ["ip", "ip6"] as const) {
    const host = family === "ip" ? "192.0.2.99/32" : "2001:db8:99::99/128";
    server.exec(
      `${family}tables-${variant}-restore`,
      ["-w", "--noflush"],
      [
        "*mangle",
        `-A PREROUTING -s ${host} -j MARK --set-xmark 0x7/0xffffffff`,
        "COMMIT",
        "*nat",
        `-A POSTROUTING -s ${host} -j MASQUERADE`,
        "COMMIT",
        "*filter",
        ":HOSTKEEP - [0:0]",
        `-A HOSTKEEP -s ${host} -j ACCEPT`,
        "-A FORWARD -j HOSTKEEP",
        "COMMIT",
        "",
      ].join("\n"),
    );
  }
}

/**
 * What only real packets show, for any real driver: counters of a TCP exchange through NAT per
 * direction, the address the internet sees, the download HTB class, internal traffic, the roamer.
 */
export function testFirewallInLab(name: string, getLab: () => FirewallLab, create: (runner: CommandRunner) => FirewallPort): void {
  describe(`firewall with real packets: ${name}`, () => {
    let firewall: FirewallPort;
    let lab: FirewallLab;
    const account = (spec: { mark: number; ipv4: string; ipv6?: string }): FirewallAccountSpec => ({
      ...spec,
      interface: lab.names.bridge,
    });
    const state = (patch: { wan?: boolean; externalIp?: string; internalTraffic?: boolean } = {}): FirewallState => ({
      wanInterface: patch.wan === false ? undefined : lab.names.wan,
      servers: [
        {
          name: "srv1",
          interface: lab.names.bridge,
          subnet4: F.subnet4,
          subnet6: F.subnet6,
          externalIp: patch.externalIp ?? F.externalIp,
          internalTraffic: patch.internalTraffic ?? true,
        },
        { name: "srv2", interface: lab.names.srv2, subnet4: F.otherSubnet4, externalIp: "", internalTraffic: false },
      ],
      accounts: [account(F.a), account(F.b), account(LAB.roamer)],
    });

    beforeAll(() => {
      lab = getLab();
      firewall = create(lab.server.runner);
    });

    afterAll(async () => {
      await firewall?.clear();
      await firewall?.dispose();
    });

    test("a TCP exchange is counted per direction under the client's mark, and leaves with the external address", async () => {
      await firewall.apply(state());
      expect(lab.server.exec("sysctl", ["-n", "net.ipv4.ip_forward", "net.ipv6.conf.all.forwarding"]).split("\n").slice(0, 2)).toEqual([
        "1",
        "1",
      ]);
      const v4 = await lab.exchange(F.a.ipv4, 20_000, 100_000);
      expect(v4).toEqual({ peer: F.externalIp, received: 100_000 });
      const v6 = await lab.exchange(F.a.ipv6, 30_000, 150_000);
      // IPv6 has no external IPv4 to SNAT to: it is masqueraded behind the uplink's address.
      expect(v6).toEqual({ peer: LAB.wan6, received: 150_000 });

      const rules = await firewall.markRules([account(F.a), account(F.b)]);
      const bytes = (direction: string, address: string) =>
        rules.find((rule) => rule.direction === direction && (direction === "down" ? rule.destination : rule.source) === address)?.bytes ??
        -1;
      // Payload plus headers: the download is the 100 kB reply, the upload the 20 kB request (plus ACKs).
      expect(bytes("down", F.a.ipv4)).toBeGreaterThanOrEqual(100_000);
      expect(bytes("down", F.a.ipv4)).toBeLessThan(130_000);
      expect(bytes("up", F.a.ipv4)).toBeGreaterThanOrEqual(20_000);
      expect(bytes("up", F.a.ipv4)).toBeLessThan(40_000);
      expect(bytes("down", F.a.ipv6)).toBeGreaterThanOrEqual(150_000);
      expect(bytes("up", F.a.ipv6)).toBeGreaterThanOrEqual(30_000);
      expect(bytes("up", F.a.ipv6)).toBeLessThan(150_000);
      expect(bytes("down", F.b.ipv4)).toBe(0);
      expect(bytes("up", F.b.ipv4)).toBe(0);
      const nat = await firewall.natRules("srv1");
      expect(nat.map((rule) => [rule.target, rule.packets > 0])).toEqual([
        [`SNAT to:${F.externalIp}`, true],
        ["MASQUERADE", true],
      ]);
    });

    test("without an uplink interface NAT applies to what leaves through a non-vpncp interface; no external IP masquerades", async () => {
      await firewall.apply(state({ wan: false }));
      expect((await lab.exchange(F.b.ipv4, 1000, 1000)).peer).toBe(F.externalIp);
      await firewall.apply(state({ externalIp: "" }));
      expect((await lab.exchange(F.b.ipv4, 1000, 1000)).peer).toBe(LAB.wan4);
    });

    test("downloads are classified into HTB class 1:<mark hex> where they leave through the account's interface", async () => {
      await firewall.apply(state());
      lab.htb([F.a.mark, F.b.mark]);
      try {
        await lab.exchange(F.a.ipv4, 1000, 200_000);
        expect(lab.classSent(F.a.mark)).toBeGreaterThanOrEqual(200_000);
        expect(lab.classSent(F.b.mark)).toBe(0);
        await lab.exchange(F.b.ipv6, 1000, 100_000);
        expect(lab.classSent(F.b.mark)).toBeGreaterThanOrEqual(100_000);
        expect(lab.classSent(0x9999)).toBeLessThan(100_000);
      } finally {
        lab.removeHtb();
      }
    });

    test("traffic between clients of a server is forwarded when internal traffic is on, dropped when off", async () => {
      await firewall.apply(state({ internalTraffic: true }));
      expect(await lab.ping(F.a.ipv4, F.b.ipv4, 2)).toBe(true);
      expect(await lab.ping(F.a.ipv6, F.b.ipv6, 2)).toBe(true);
      const accepted = await firewall.filterRules("srv1");
      expect(accepted.map((rule) => [rule.action, rule.packets >= 2])).toEqual([
        ["ACCEPT", true],
        ["ACCEPT", true],
      ]);

      await firewall.apply(state({ internalTraffic: false }));
      expect(await lab.ping(F.a.ipv4, F.b.ipv4, 2)).toBe(false);
      expect(await lab.ping(F.a.ipv6, F.b.ipv6, 2)).toBe(false);
      const dropped = await firewall.filterRules("srv1");
      expect(dropped.map((rule) => [rule.action, rule.packets >= 2])).toEqual([
        ["DROP", true],
        ["DROP", true],
      ]);
      // The internet stays reachable.
      expect(await lab.ping(F.a.ipv4, LAB.internet4, 1)).toBe(true);
    });

    test("an account's traffic through another interface (as IKEv2 clients use) is counted under its address", async () => {
      await firewall.apply(state());
      await lab.sendTraffic(LAB.roamer.ipv4);
      const rules = await firewall.markRules([account(LAB.roamer)]);
      expect(rules.map((rule) => [rule.direction, rule.packets >= 3, rule.bytes >= 3 * 528])).toEqual([
        ["down", true, true],
        ["up", true, true],
      ]);
    });
  });
}
