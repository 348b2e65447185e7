import { describe, expect, test } from "vitest";
import { FakeCommandRunner } from "../../src/command-runner/fake.js";
import { formatPlannedStep, isReadOnlyCommand, RecordingRunner } from "../../src/command-runner/recording.js";
import { TcShaper } from "../../src/shaper/tc.js";
import { WireGuardToolsDriver } from "../../src/wireguard/wireguard-tools.js";

const SERVER_KEY = "kP3vBd/8pdz5KjFpBAGjdhYdvVMmPLDWh0f/V9x2sXY=";
const PEER = "Zh6LbJa+2WvzMM1qknzp9Kj1rvX6IlJDTpnxp6r8FBY=";

describe("RecordingRunner", () => {
  test("read-only queries are an allowlist; what changes the system is not on it", () => {
    for (const [file, args] of [
      ["wg", ["show", "wg0", "dump"]],
      ["ip", ["-o", "link", "show"]],
      ["ip", ["-j", "address", "show", "dev", "wg0"]],
      ["tc", ["-s", "class", "show", "dev", "wg0"]],
      ["nft", ["-j", "list", "map", "inet", "vpncp", "mark_down4"]],
      ["swanctl", ["--list-sas", "--uri", "unix:///x", "--raw"]],
      ["iptables-save", ["-c", "-t", "mangle"]],
      ["iptables", ["-w", "-t", "mangle", "-C", "FORWARD", "-j", "VPNCP_MARK"]],
      ["nft", ["--version"]],
    ] as const) {
      expect(isReadOnlyCommand(file, args), `${file} ${args.join(" ")}`).toBe(true);
    }
    for (const [file, args] of [
      ["wg", ["set", "wg0", "peer", PEER, "remove"]],
      ["wg", ["syncconf", "wg0", "/tmp/x"]],
      ["wg", ["showconf", "wg0"]],
      ["ip", ["link", "add", "dev", "wg0", "type", "wireguard"]],
      ["ip", ["-batch", "-"]],
      ["tc", ["-batch", "-"]],
      ["nft", ["-f", "-"]],
      ["sysctl", ["-q", "-w", "net.ipv4.ip_forward=1"]],
      ["swanctl", ["--terminate", "--uri", "unix:///x", "--ike", "a@b"]],
      ["iptables-restore", ["-w", "--noflush"]],
      ["charon-systemd", []],
    ] as const) {
      expect(isReadOnlyCommand(file, args), `${file} ${args.join(" ")}`).toBe(false);
    }
  });

  test("the real drivers on an empty system: their changes are recorded with secrets redacted, and tc finds the link wg made", async () => {
    const reader = new FakeCommandRunner({ netns: "ns1" });
    // an empty namespace: no wg0, only the loopback
    reader.respond((file, args) =>
      file === "ip" && args.includes("dev") ? { exitCode: 1, stderr: 'Device "wg0" does not exist.\n' } : undefined,
    );
    reader.respond((file, args) =>
      file === "ip" && args.join(" ") === "-o link show" ? { stdout: "1: lo: <LOOPBACK,UP> mtu 65536\n" } : undefined,
    );
    const runner = new RecordingRunner({ reader });
    runner.setSecrets(new Map([[SERVER_KEY, "<private key of server s1>"]]));
    expect(runner.netns).toBe("ns1");
    const wg = new WireGuardToolsDriver({ runner: runner.forDriver("wireguard"), implementation: "kernel" });
    const tc = new TcShaper({ runner: runner.forDriver("shaper") });

    await wg.applyInterface({ name: "wg0", privateKey: SERVER_KEY, listenPort: 51820, addresses: ["10.0.9.1/24"] }, [
      { publicKey: PEER, allowedIps: ["10.0.9.2/32"] },
    ]);
    await tc.applyInterfaces([
      { interface: "wg0", subnets: ["10.0.9.0/24"], accounts: [{ mark: 200, ipv4: "10.0.9.2", downloadMbit: 20, uploadMbit: 10 }] },
    ]);

    // nothing that changes the system reached the real runner
    expect(reader.commands.filter((c) => !isReadOnlyCommand(c.file, c.args))).toEqual([]);
    const text = runner.steps.map(formatPlannedStep).join("\n");
    expect(text).not.toContain(SERVER_KEY);
    expect(runner.steps.map((s) => `${s.driver}: ${s.kind === "vici" ? s.command : s.argv.slice(0, 3).join(" ")}`)).toEqual([
      "wireguard: ip link add",
      "wireguard: wg syncconf wg0",
      "wireguard: ip address add",
      "wireguard: ip link set",
      "shaper: ip -batch -",
      "shaper: tc -batch -",
    ]);
    expect(text).toContain("PrivateKey = <private key of server s1>");
    expect(text).toContain(`PublicKey = ${PEER}`);
    expect(text).toMatch(/^tc -batch - <<'EOF'\nqdisc (add|replace) dev wg0 root handle 1: htb/m);
    expect(text).toContain("class add dev wg0 parent 1:1 classid 1:c8 htb rate 20mbit");
  });

  test("vici: queries go to the running charon (when there is one), changes are recorded with secrets redacted", async () => {
    const runner = new RecordingRunner({ reader: new FakeCommandRunner() });
    runner.setSecrets(new Map([["s3cret-password", "<EAP password of bob>"]]));
    const asked: string[] = [];
    const live = async () => ({
      request: async (command: string) => {
        asked.push(command);
        return { conns: ["@srv"] };
      },
      command: async () => ({}),
      close: () => {},
    });
    const vici = await runner.forDriver("ikev2").viciConnector(live)("unix:///x", 1000);
    expect(await vici.request("get-conns")).toEqual({ conns: ["@srv"] });
    expect(await vici.command("load-shared", { id: "eap-bob@srv", type: "EAP", data: "s3cret-password", owners: ["bob"] })).toEqual({
      success: "yes",
    });
    expect(asked).toEqual(["get-conns"]);
    expect(runner.steps).toEqual([
      {
        driver: "ikev2",
        kind: "vici",
        command: "load-shared",
        message: { id: "eap-bob@srv", type: "EAP", data: "<EAP password of bob>", owners: ["bob"] },
      },
    ]);
  });
});
