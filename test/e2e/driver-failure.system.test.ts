/**
 * Issue 8, point 3 with the real tools in a network namespace: the system changes behind
 * vpncp's back (its wireguard-go killed by PID, its nftables table deleted, a qdisc removed),
 * the next change that needs the missing piece fails with the documented answer, the change is
 * kept, /system/status shows the failing tool, and PUT /api/v1/system/reload repairs the system.
 * A restarted wireguard-go is the exception: its driver tells vpncp, which shapes it again at once.
 * vpncp runs in this process (the system drivers, every command in the namespace) and is driven
 * through its HTTP app.
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createVpncp, ERRORS, TYPES, type Vpncp } from "@vpncp/core";
import { systemDriversModule, type WireGuardToolsDriver } from "@vpncp/drivers";
import type { H3 } from "h3";
import { afterAll, beforeAll, describe, expect, test, vi } from "vitest";
import { createNamespace, realToolsUnavailable, type TestNamespace, uniqueName } from "../../packages/drivers/test/netns.js";
import { createHttpApp } from "../../packages/http/src/app.js";
import { uniqueWgInterface } from "./lab.js";

const skip = realToolsUnavailable(["wg", "wireguard-go", "nft", "tc"]) || (existsSync("/dev/net/tun") ? false : "no /dev/net/tun");

type Json = Record<string, unknown>;

describe.skipIf(Boolean(skip))("driver failure with the system drivers in a namespace", () => {
  let ns: TestNamespace;
  let vpncp: Vpncp;
  let app: H3;
  let hash: string;
  let dataDir: string;
  const iface = uniqueWgInterface();
  const marks: Record<string, string> = {};

  const api = async (method: string, path: string, body?: Record<string, string | number>) => {
    const init: RequestInit = { method, headers: { cookie: `access_hash=${hash}` } };
    if (body) {
      init.body = new URLSearchParams(Object.entries(body).map(([k, v]) => [k, String(v)])).toString();
      (init.headers as Record<string, string>)["content-type"] = "application/x-www-form-urlencoded";
    }
    const response = await app.request(path, init);
    return { status: response.status, body: (await response.json()) as { error: string; msg: Json; status: string } };
  };
  const status = async () => String((await api("GET", "/api/v1/system/status")).body.msg.status);
  const classes = () => ns.exec("tc", ["class", "show", "dev", iface]);
  const expectRepairedByReload = async () => {
    const reload = await api("PUT", "/api/v1/system/reload");
    expect(reload.body).toEqual({ error: "", msg: "success", status: "success" });
    expect(await status()).toBe("OK");
  };

  beforeAll(async () => {
    ns = createNamespace();
    const wan = uniqueName("wn");
    // an uplink for NAT: one end of a veth pair inside the namespace (no dummy module everywhere)
    ns.exec("ip", ["link", "add", wan, "type", "veth", "peer", "name", uniqueName("wp")]);
    ns.exec("ip", ["link", "set", wan, "up"]);
    dataDir = mkdtempSync(join(tmpdir(), "vpncp-e2e-failure-"));
    vpncp = await createVpncp({
      drivers: systemDriversModule({ netns: ns.name, stateDir: join(dataDir, "run"), wireguardImplementation: "userspace" }),
      storage: { driver: "fs", options: { base: join(dataDir, "data") } },
      wanInterface: wan,
      timezone: "UTC",
    });
    hash = (await vpncp.accessHashes.create()).hash;
    app = createHttpApp(vpncp);
    const server = await api("POST", "/api/v1/wireguard", { name: "main", interface_name: iface, address: "10.81.0.1/24" });
    expect(server.body.status).toBe("success");
    for (const [name, rate] of [
      ["alice", 30],
      ["bob", 20],
    ] as const) {
      const created = await api("POST", "/api/v1/account", { wg_name: "main", name, b_download: rate, b_upload: 10 });
      expect(created.body.status).toBe("success");
      marks[name] = Number(created.body.msg.mangle).toString(16);
    }
    expect(classes()).toMatch(new RegExp(`class htb 1:${marks.alice} .*rate 30Mbit`));
  }, 60_000);

  afterAll(async () => {
    await vpncp?.close();
    ns?.dispose();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  test("wireguard-go killed by PID: its supervisor brings the peers back, and vpncp shapes the new device again by itself", async () => {
    const driver = vpncp.container.get(TYPES.WireGuard) as WireGuardToolsDriver;
    // the daemon as an operator finds it: the wireguard-go process in the namespace
    const pids = ns.exec("ip", ["netns", "pids", ns.name]).split(/\s+/).filter(Boolean).map(Number);
    const daemon = pids.find((pid) => readFileSync(`/proc/${pid}/comm`, "utf8").trim() === "wireguard-go");
    expect(daemon).toBeDefined();
    expect(driver.daemonPid(iface)).toBe(daemon);
    const ifindex = () => ns.exec("ip", ["-o", "link", "show", "dev", iface]).split(":")[0];
    const before = ifindex();
    process.kill(daemon ?? 0, "SIGKILL");

    // a new wireguard-go with the stored peers (the driver restarts its daemon by itself), and the
    // qdiscs the kernel dropped with the old device are back, without any API call: the driver told
    // vpncp (onInterfaceRecreated), which shaped that interface again from storage
    await vi.waitFor(
      () => {
        const pid = driver.daemonPid(iface);
        expect(pid).not.toBe(daemon);
        expect(pid).not.toBeNull();
        expect(ns.exec("wg", ["show", iface, "allowed-ips"])).toMatch(/10\.81\.0\.3\/32/);
        expect(classes()).toMatch(new RegExp(`class htb 1:${marks.alice} .*rate 30Mbit`));
        expect(classes()).toMatch(new RegExp(`class htb 1:${marks.bob} .*rate 20Mbit`));
      },
      { timeout: 20_000, interval: 100 },
    );
    // a new device indeed (the old one went with its daemon)
    expect(ifindex()).not.toBe(before);
    // upload shaping too: the new device's ingress qdisc redirects to the IFB twin again
    expect(ns.exec("tc", ["qdisc", "show", "dev", iface])).toMatch(/qdisc ingress ffff:/);
    expect(ns.exec("tc", ["filter", "show", "dev", iface, "parent", "ffff:"])).toContain("mirred");
    expect(await status()).toBe("OK");

    // and the next rate change is a plain one
    const edit = await api("PUT", "/api/v1/account/alice", { b_download: 40 });
    expect(edit.body.status).toBe("success");
    expect(classes()).toMatch(new RegExp(`class htb 1:${marks.alice} .*rate 40Mbit`));
    expect(await status()).toBe("OK");
  }, 60_000);

  test("vpncp's nftables table deleted: the next account fails in nft, is kept, and reload brings table and account back", async () => {
    ns.exec("nft", ["delete", "table", "inet", "vpncp"]);
    const created = await api("POST", "/api/v1/account", { wg_name: "main", name: "carol", b_download: 5 });
    expect(created.status).toBe(500);
    expect(created.body).toEqual({ error: ERRORS.DRIVER_FAILED.message, msg: "", status: "error" });
    expect(await status()).toMatch(/^Error \(firewall updateAccounts: nft /);
    const carol = (await api("GET", "/api/v1/account/carol")).body.msg;
    expect(carol.name).toBe("carol");

    await expectRepairedByReload();
    const ruleset = ns.exec("nft", ["list", "table", "inet", "vpncp"]);
    for (const ip of ["10.81.0.2", "10.81.0.3", String(carol.allowed_IPs)]) expect(ruleset).toContain(ip);
    expect(ns.exec("wg", ["show", iface, "allowed-ips"])).toContain(`${carol.allowed_IPs}/32`);
  }, 60_000);

  test("the interface's root qdisc removed: a rate change fails in tc, and reload restores the classes", async () => {
    ns.exec("tc", ["qdisc", "del", "dev", iface, "root"]);
    const edit = await api("PUT", "/api/v1/account/bob", { b_download: 25 });
    expect(edit.body).toEqual({ error: ERRORS.DRIVER_FAILED.message, msg: "", status: "error" });
    expect(await status()).toMatch(/^Error \(shaper updateAccounts: .*tc -batch failed .*No such file or directory/);

    await expectRepairedByReload();
    expect(classes()).toMatch(new RegExp(`class htb 1:${marks.bob} .*rate 25Mbit`));
    expect(classes()).toMatch(new RegExp(`class htb 1:${marks.alice} .*rate 40Mbit`));
  }, 60_000);

  test("a reload while `tc` exits non-zero answers `PUQVPNCP status not OK`; once tc works, reload repairs", async () => {
    // a tc that fails, first on this process's PATH: what vpncp runs (inside `ip netns exec`) is found there
    const bin = join(dataDir, "failing-bin");
    mkdirSync(bin, { recursive: true });
    writeFileSync(join(bin, "tc"), "#!/bin/sh\necho 'RTNETLINK answers: Device or resource busy' >&2\nexit 2\n", { mode: 0o755 });
    const path = process.env.PATH;
    process.env.PATH = `${bin}:${path}`;
    try {
      const reload = await api("PUT", "/api/v1/system/reload");
      expect(reload).toEqual({ status: 503, body: { error: ERRORS.STATUS_NOT_OK.message, msg: "", status: "error" } });
      expect(await status()).toMatch(/^Error \(shaper .*Device or resource busy/);
      // a change meanwhile is kept, and answered as such
      const edit = await api("PUT", "/api/v1/account/carol", { b_download: 6 });
      expect(edit.body.error).toBe(ERRORS.DRIVER_FAILED.message);
    } finally {
      process.env.PATH = path;
    }
    await expectRepairedByReload();
    expect(classes()).toMatch(/rate 6Mbit/);
  }, 60_000);
});
