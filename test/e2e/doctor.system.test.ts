/**
 * Issue 9, plan and doctor, with the real tools in a network namespace, the CLI spawned as a
 * user runs it: `vpncp plan` on an empty namespace prints what a reload would run and changes
 * nothing; `vpncp serve` (whose start is that reload) leaves a state doctor calls clean; then a
 * peer, a firewall element, a tc class and an EAP secret are removed behind vpncp's back:
 * `vpncp doctor` names each and exits 1, /system/status says "Error (drift: …)", and
 * `vpncp doctor --fix` has the running vpncp reload, then finds nothing and exits 0.
 */
import { execFile } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { createVpncp } from "@vpncp/core";
import { fakeDriversModule } from "@vpncp/drivers";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { ViciConnection } from "../../packages/drivers/src/ikev2/vici.js";
import { createNamespace, realToolsUnavailable, type TestNamespace } from "../../packages/drivers/test/netns.js";
import { CLI, ROOT, startVpncp, uniqueWgInterface, type VpncpProcess } from "./lab.js";

const run = promisify(execFile);
const skip =
  realToolsUnavailable(["wg", "wireguard-go", "nft", "tc", "swanctl", "charon-systemd"]) ||
  (existsSync("/dev/net/tun") ? false : "no /dev/net/tun");

const PASSWORD = "Plan-secret-pw-7";

/** Runs the CLI as a user would; resolves with its output and exit code whatever the code. */
async function vpncp(args: readonly string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [CLI, ...args], { timeout: 60_000, maxBuffer: 8 * 1024 * 1024 });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code?: number; stdout?: string; stderr?: string };
    if (typeof failed.code !== "number") throw error;
    return { code: failed.code, stdout: failed.stdout ?? "", stderr: failed.stderr ?? "" };
  }
}

/**
 * /system/status until `done` holds (at most 20 reads): a busy machine can make its drift check
 * outlast the time status waits for one, and then status answers from the check before.
 */
async function statusOf(server: VpncpProcess, done: (status: string) => boolean): Promise<string> {
  let status = "";
  for (let attempt = 0; attempt < 20; attempt++) {
    status = (await server.api<{ status: string }>("GET", "/api/v1/system/status")).body.msg.status;
    if (done(status)) break;
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  return status;
}

describe.skipIf(Boolean(skip))("vpncp plan and vpncp doctor against the system drivers in a namespace", () => {
  let ns: TestNamespace;
  let dataDir: string;
  let server: VpncpProcess | undefined;
  const iface = uniqueWgInterface();
  interface StoredAccount {
    publicKey: string;
    privateKey: string;
    ip: string;
    mark: string;
  }
  const none: StoredAccount = { publicKey: "", privateKey: "", ip: "", mark: "" };
  const stored: { serverKey: string; alice: StoredAccount; bob: StoredAccount } = {
    serverKey: "",
    alice: none,
    bob: none,
  };
  let where: string[];

  beforeAll(async () => {
    await run("npx", ["tsc", "-b", "tsconfig.build.json"], { cwd: ROOT });
    ns = createNamespace();
    // an uplink for NAT (both ends of a veth pair: no dummy module on every kernel)
    ns.exec("ip", ["link", "add", "wan0", "type", "veth", "peer", "name", "wan0p"]);
    ns.exec("ip", ["link", "set", "wan0", "up"]);
    dataDir = mkdtempSync(join(tmpdir(), "vpncp-e2e-doctor-"));
    where = ["--netns", ns.name, "--data-dir", dataDir, "--wan-interface", "wan0"];
    // storage holds a server with IKEv2 and two accounts; nothing is applied to the namespace yet
    const library = await createVpncp({ drivers: fakeDriversModule(), storage: { driver: "fs", options: { base: dataDir } } });
    await library.ikev2.generateCa({ commonName: "doctor CA", organization: "vpncp" });
    await library.ikev2.generateServerCertificate({ ip: "192.0.2.1" });
    const created = await library.servers.create({
      name: "main",
      interfaceName: iface,
      address: "10.81.0.1/24",
      externalIp: "198.51.100.1",
      ikev2: 1,
    });
    stored.serverKey = created.privateKey;
    for (const [name, extra] of [
      ["alice", { bDownload: "30", bUpload: "10" }],
      ["bob", { bDownload: "20", bUpload: "5", password: PASSWORD }],
    ] as const) {
      const account = await library.accounts.create({ wgName: "main", name, username: `${name}_u`, ...extra });
      stored[name] = {
        publicKey: account.publicKey,
        privateKey: account.privateKey,
        ip: account.allowedIp,
        mark: account.mangle.toString(16),
      };
    }
    await library.close();
  });

  afterAll(async () => {
    const code = await server?.stop();
    ns?.dispose();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
    expect(code ?? 0).toBe(0);
  });

  test("plan on an empty namespace: the commands and vici messages of a reload, secrets as labels, nothing changed", async () => {
    const plan = await vpncp(["plan", ...where]);
    expect(plan.stderr).toBe("");
    expect(plan.code).toBe(0);
    const out = plan.stdout;
    expect(out).toContain(`# vpncp plan: what a reload would run in network namespace ${ns.name}`);
    // wireguard-go (with its environment) where the kernel has no WireGuard, else a kernel link; then configured
    expect(out).toMatch(new RegExp(`^((\\S+=\\S+ )*wireguard-go ${iface} &|ip link add dev ${iface} type wireguard)$`, "m"));
    expect(out).toContain(`wg syncconf ${iface} `);
    expect(out).toContain("PrivateKey = <private key of server main>");
    expect(out).toContain(`PublicKey = ${stored.alice.publicKey}`);
    expect(out).toContain(`ip address add 10.81.0.1/24 dev ${iface}`);
    expect(out).toMatch(/^nft -f - <<'EOF'$/m);
    expect(out).toContain(`10.81.0.0/24 counter snat ip to 198.51.100.1 comment "vpncp:main:nat4"`);
    expect(out).toContain(`classid 1:${stored.alice.mark} htb rate 30mbit`);
    expect(out).toMatch(/^STRONGSWAN_CONF=\S+ \/usr\/sbin\/charon-systemd &$/m);
    expect(out).toContain('vici load-shared {"id":"eap-bob_u@main","type":"EAP","data":"<EAP password of bob_u>","owners":["bob_u"]}');
    expect(out).toContain('vici load-key {"type":"any","data":"<private key of the IKEv2 server certificate>');
    for (const secret of [stored.serverKey, stored.alice.privateKey, stored.bob.privateKey, PASSWORD, "PRIVATE KEY-----"]) {
      expect(out).not.toContain(secret);
    }
    // nothing was changed: the namespace holds only its loopback and the uplink
    const links = ns.exec("ip", ["-o", "link", "show"]).match(/^\d+: [^:@]+/gm);
    expect(links?.map((line) => line.replace(/^\d+: /, "")).sort()).toEqual(["lo", "wan0", "wan0p"]);
    expect(ns.exec("nft", ["list", "tables"]).trim()).toBe("");

    // `--json` carries the same steps for scripts
    const json = JSON.parse((await vpncp(["plan", ...where, "--json"])).stdout) as { netns: string; steps: { driver: string }[] };
    expect(json.netns).toBe(ns.name);
    expect(new Set(json.steps.map((step) => step.driver))).toEqual(new Set(["wireguard", "firewall", "shaper", "ikev2"]));

    // what the plan prints is what a start applies: after it, doctor finds nothing
    server = await startVpncp({ netns: ns.name, dataDir, wan: "wan0" });
    const doctor = await vpncp(["doctor", ...where]);
    expect(doctor).toMatchObject({ code: 0, stdout: "no differences: the system matches storage\n" });
    const status = await server.api<{ status: string }>("GET", "/api/v1/system/status");
    expect(status.body.msg.status).toBe("OK");
  });

  test("drift made behind vpncp's back: doctor names each and exits 1, status says so; --fix repairs and exits 0", async () => {
    if (!server) throw new Error("the previous test starts vpncp");
    const { alice, bob } = stored;
    ns.exec("wg", ["set", iface, "peer", alice.publicKey, "remove"]);
    ns.exec("nft", ["delete", "element", "inet", "vpncp", "mark_up4", `{ ${bob.ip} }`]);
    ns.exec("tc", ["class", "del", "dev", iface, "classid", `1:${bob.mark}`]);
    const vici = await ViciConnection.connect(`unix://${join(dataDir, "run", "strongswan", "charon.vici")}`, 5_000);
    try {
      expect((await vici.request("unload-shared", { id: "eap-alice_u@main" })).success).toBe("yes");
    } finally {
      vici.close();
    }

    const expected = [
      `${iface} (server main): peer of account alice (${alice.publicKey}) missing`,
      `firewall: mark 0x${bob.mark} of account bob (upload from ${bob.ip}) missing`,
      `${iface} (server main): download class 1:${bob.mark} of account bob missing`,
      "IKEv2: EAP secret of alice_u (account alice) missing",
    ];
    const found = await vpncp(["doctor", ...where]);
    expect(found.code).toBe(1);
    expect(found.stdout.trim().split("\n").sort()).toEqual([...expected].sort());
    const json = JSON.parse((await vpncp(["doctor", ...where, "--json"])).stdout) as { clean: boolean; drift: { kind: string }[] };
    expect(json.clean).toBe(false);
    expect(json.drift.map((d) => d.kind).sort()).toEqual(["class", "ikev2", "mark", "peer"]);

    expect(await statusOf(server, (status) => status.startsWith("Error (drift"))).toMatch(/^Error \(drift: 4 differences: /);

    const fixed = await vpncp(["doctor", ...where, "--fix", "--url", server.url, "--hash", server.hash]);
    expect(fixed.code).toBe(0);
    expect(fixed.stdout).toContain(`found: ${expected[0]}`);
    expect(fixed.stdout).toContain(`reloaded by the vpncp at ${server.url}`);
    expect(fixed.stdout.trim().split("\n").at(-1)).toBe("no differences: the system matches storage");
    expect((await vpncp(["doctor", ...where])).code).toBe(0);
    expect(await statusOf(server, (status) => status === "OK")).toBe("OK");
    // repaired in the kernel, not only in vpncp's view
    expect(ns.exec("wg", ["show", iface, "peers"])).toContain(alice.publicKey);
  });
});
