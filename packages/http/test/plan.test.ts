/**
 * `vpncp plan` without root: the system drivers' reload against a RecordingRunner whose
 * read-only queries a fake answers as an empty namespace. What a start would run is printed,
 * secrets as labels, and nothing is written: not to the system, not to storage.
 */
import { mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createVpncp } from "@vpncp/core";
import { FakeCommandRunner, fakeDriversModule, isReadOnlyCommand } from "@vpncp/drivers";
import { afterEach, describe, expect, test } from "vitest";
import { formatPlan, recordPlan, type SystemSettings } from "../src/commands/plan.js";

const dirs: string[] = [];
afterEach(async () => {
  for (const dir of dirs.splice(0)) await rm(dir, { recursive: true, force: true });
});

/** Every file of the data directory with its content: storage must be left as it was. */
async function contents(dir: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const entry of await readdir(dir, { recursive: true, withFileTypes: true })) {
    if (entry.isFile()) out[join(entry.parentPath, entry.name)] = await readFile(join(entry.parentPath, entry.name), "utf8");
  }
  return out;
}

describe("vpncp plan", () => {
  test("an empty system: interface, ruleset, classes, charon and its vici messages; secrets as labels; nothing written", async () => {
    const dataDir = await mkdtemp(join(tmpdir(), "vpncp-plan-test-"));
    dirs.push(dataDir);
    const library = await createVpncp({ drivers: fakeDriversModule(), storage: { driver: "fs", options: { base: dataDir } } });
    await library.ikev2.generateCa({ commonName: "plan CA", organization: "vpncp" });
    await library.ikev2.generateServerCertificate({ ip: "192.0.2.1" });
    const server = await library.servers.create({ name: "s1", interfaceName: "wg7701", address: "10.0.77.1/24", ikev2: 1 });
    const alice = await library.accounts.create({ wgName: "s1", name: "alice", password: "Al1ce-plan-pw", bDownload: "25", bUpload: "5" });
    await library.close();
    const before = await contents(dataDir);

    const reader = new FakeCommandRunner({ netns: "ns-plan" });
    reader.respond((file, args) =>
      file === "ip" && args.includes("dev") ? { exitCode: 1, stderr: `Device "${args.at(-1)}" does not exist.\n` } : undefined,
    );
    reader.respond((file, args) =>
      file === "ip" && args.join(" ") === "-o link show" ? { stdout: "1: lo: <LOOPBACK,UP> mtu 65536\n" } : undefined,
    );
    const settings: SystemSettings = {
      dataDir,
      storage: undefined,
      netns: "ns-plan",
      firewall: "nftables",
      stateDir: join(dataDir, "run"),
      wanInterface: "eth9",
      url: undefined,
      accessHash: undefined,
    };
    const plan = await recordPlan(settings, { reader });
    const text = formatPlan(plan);

    expect(plan.netns).toBe("ns-plan");
    expect(plan.charonRunning).toBe(false);
    expect(text).toContain("# vpncp plan: what a reload would run in network namespace ns-plan");
    // wireguard-go (with its environment) where the kernel has no WireGuard, else a kernel link
    expect(text).toMatch(/^((\S+=\S+ )*wireguard-go wg7701 &|ip link add dev wg7701 type wireguard)$/m);
    expect(text).toContain("PrivateKey = <private key of server s1>");
    expect(text).toContain(`PublicKey = ${alice.publicKey}`);
    expect(text).toContain("ip address add 10.0.77.1/24 dev wg7701");
    expect(text).toContain(`oifname "eth9" ip saddr 10.0.77.0/24 counter snat ip to ${server.externalIp} comment "vpncp:s1:nat4"`);
    expect(text).toContain(`class add dev wg7701 parent 1:1 classid 1:${alice.mangle.toString(16)} htb rate 25mbit`);
    // the tunnel device a new charon makes is shaped as well
    expect(text).toContain("qdisc replace dev ipsec0 root handle 1: htb default fffe");
    expect(text).toMatch(/^STRONGSWAN_CONF=\S+\/run\/strongswan\/strongswan.conf \/usr\/sbin\/charon-systemd &$/m);
    expect(text).toContain(`vici load-shared {"id":"eap-${alice.username}@s1","type":"EAP","data":"<EAP password of ${alice.username}>"`);
    for (const secret of [server.privateKey, alice.privateKey, "Al1ce-plan-pw", "PRIVATE KEY-----"]) expect(text).not.toContain(secret);

    // only queries reached the (fake) system, and storage is as it was
    expect(reader.commands.filter((command) => !isReadOnlyCommand(command.file, command.args))).toEqual([]);
    expect(await contents(dataDir)).toEqual(before);
  });
});
