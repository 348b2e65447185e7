/**
 * The rendered client config through the real tools: `wg-quick strip` accepts
 * the file, and the stripped text is what `wg setconf` loads into a live
 * (wireguard-go) interface in a network namespace, read back with `wg showconf`;
 * the Address entries go onto that interface with `ip address add`, as wg-quick does.
 */
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { createNamespace, realToolsUnavailable, type TestNamespace, uniqueName } from "../../../drivers/test/netns.js";
import { renderClientConfig } from "../../src/render/client-config.js";
import { ACCOUNT, ACCOUNT_V6, SERVER, SERVER_V6 } from "./fixtures.js";

const skip = realToolsUnavailable(["wg", "wg-quick", "wireguard-go"]);

let dir = "";
let ns: TestNamespace | undefined;
const daemons: ChildProcess[] = [];

const CASES = {
  "IPv4 only": renderClientConfig(SERVER, ACCOUNT),
  "IPv6, MTU and keep-alive": renderClientConfig({ ...SERVER_V6, mtu: 1380, keepAlive: 25 }, ACCOUNT_V6),
  "IPv6 endpoint, split tunnel": renderClientConfig(
    { ...SERVER_V6, externalIp: "2001:db8::77", allowedIps: "10.0.0.0/8,fd00::/8" },
    ACCOUNT_V6,
  ),
  "domain endpoint": renderClientConfig({ ...SERVER, endpoint: "vpn.example.com" }, ACCOUNT),
};

/** wg-quick wants the file named after the interface and not world-readable. */
function writeConfig(iface: string, text: string): string {
  const path = join(dir, `${iface}.conf`);
  writeFileSync(path, text, { mode: 0o600 });
  return path;
}

function wgQuickStrip(path: string): string {
  const result = spawnSync("wg-quick", ["strip", path], { encoding: "utf8" });
  expect(result.status, result.stderr).toBe(0);
  // A 0600 file gives no "world accessible" warning.
  expect(result.stderr).toBe("");
  return result.stdout;
}

/** The "[Section]\nKey = value" pairs of a config, in order. */
function entries(text: string): string[] {
  return text
    .split("\n")
    .map((line) => line.trim())
    .filter((line) => line !== "");
}

async function startWireguardGo(namespace: TestNamespace, iface: string): Promise<void> {
  // `ip netns exec` execs wireguard-go, so the child's PID is the daemon's; foreground keeps it our child.
  const daemon = spawn("ip", ["netns", "exec", namespace.name, "wireguard-go", iface], {
    env: { ...process.env, WG_PROCESS_FOREGROUND: "1", LOG_LEVEL: "error" },
    stdio: "ignore",
  });
  daemons.push(daemon);
  const socket = `/var/run/wireguard/${iface}.sock`;
  for (let i = 0; i < 100 && !existsSync(socket); i += 1) await new Promise((resolve) => setTimeout(resolve, 50));
  expect(existsSync(socket)).toBe(true);
}

describe.skipIf(skip)("client config with wg-quick and wg", () => {
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), "vpncp-wgconf-"));
    ns = createNamespace();
  });

  afterAll(async () => {
    for (const daemon of daemons) {
      if (daemon.exitCode === null && daemon.pid) {
        const exited = new Promise((resolve) => daemon.once("exit", resolve));
        process.kill(daemon.pid, "SIGTERM");
        await exited;
      }
    }
    ns?.dispose();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  test.each(Object.entries(CASES))("wg-quick strip keeps exactly the wg part: %s", (_label, text) => {
    const stripped = wgQuickStrip(writeConfig(uniqueName("wc"), text));
    const wgQuickOnly = /^(Address|DNS|MTU) = /;
    expect(entries(stripped)).toEqual(entries(text).filter((line) => !wgQuickOnly.test(line)));
  });

  test.each(Object.entries(CASES).filter(([label]) => label !== "domain endpoint"))(
    "wg setconf loads the stripped config into a live interface: %s",
    async (_label, text) => {
      const namespace = ns!;
      const iface = uniqueName("wc");
      const stripped = wgQuickStrip(writeConfig(iface, text));
      await startWireguardGo(namespace, iface);
      const strippedPath = join(dir, `${iface}.stripped`);
      writeFileSync(strippedPath, stripped, { mode: 0o600 });
      namespace.exec("wg", ["setconf", iface, strippedPath]);
      const shown = namespace.exec("wg", ["showconf", iface]);
      // showconf prints what the interface holds: same keys, networks, endpoint and keep-alive.
      expect(entries(shown).filter((line) => !line.startsWith("ListenPort"))).toEqual(entries(stripped));

      // The Address entries are valid for the kernel on that interface, as wg-quick adds them.
      const addresses = /^Address = (.*)$/m.exec(text)![1]!.split(", ");
      for (const address of addresses) {
        namespace.exec("ip", [address.includes(":") ? "-6" : "-4", "address", "add", address, "dev", iface]);
      }
      const mtu = /^MTU = (\d+)$/m.exec(text)?.[1];
      if (mtu) namespace.exec("ip", ["link", "set", "mtu", mtu, "up", "dev", iface]);
      const shownAddresses = namespace.exec("ip", ["-o", "address", "show", "dev", iface]);
      for (const address of addresses) expect(shownAddresses).toContain(` ${address} `);
      if (mtu) expect(namespace.exec("ip", ["-o", "link", "show", "dev", iface])).toContain(` mtu ${mtu} `);
    },
  );
});
