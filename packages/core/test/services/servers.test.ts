import { generateKeyPair } from "@vpncp/core";
import { afterEach, beforeEach, describe, expect, test } from "vitest";
import type { ErrorCode } from "../../src/errors.js";
import { expectError, type Harness, startHarness } from "./harness.js";

let h: Harness;
beforeEach(async () => {
  h = await startHarness();
});
afterEach(async () => {
  await h.close();
});

describe("WireGuard servers", () => {
  test("everything not given is generated unique: name, interface, port, subnet, keys", async () => {
    const a = await h.vpncp.servers.create({});
    const b = await h.vpncp.servers.create({});
    expect(a).toMatchObject({ name: "wg0", interfaceName: "wg0", listenPort: 51820, address: "10.0.1.1/24", externalIp: "203.0.113.10" });
    expect(b).toMatchObject({ name: "wg1", interfaceName: "wg1", listenPort: 51821, address: "10.0.2.1/24" });
    expect(a.publicKey).not.toBe(b.publicKey);
    const iface = h.drivers.wireguard.interfaces().get("wg0")!;
    expect(iface.listenPort).toBe(51820);
    expect(iface.addresses).toEqual(["10.0.1.1/24"]);
    expect(h.drivers.firewall.servers.map((s) => s.subnet4)).toEqual(["10.0.1.0/24", "10.0.2.0/24"]);
  });

  test("generation skips what is taken, including interfaces the host already has", async () => {
    await h.vpncp.servers.create({ interfaceName: "wg0", listenPort: 51821, address: "10.0.1.1/24" });
    const next = await h.vpncp.servers.create({});
    expect(next).toMatchObject({ interfaceName: "wg1", listenPort: 51820, address: "10.0.2.1/24" });
  });

  test("IPv6 on: an address is generated and clients get one at the same host offset", async () => {
    const s = await h.vpncp.servers.create({ ipv6: "true" });
    expect(s.addressIpv6).toBe("fd00:0:0:1::1/64");
    const a = await h.vpncp.accounts.create({ wgName: s.name, allowedIp: "10.0.1.18" });
    expect(a.allowedIpv6).toBe("fd00:0:0:1::12");
  });

  test("every documented error, word for word, and nothing is created", async () => {
    const existing = await h.vpncp.servers.create({ name: "taken", interfaceName: "wg7", listenPort: 51900, address: "10.50.0.1/24" });
    const cases: [Record<string, unknown>, ErrorCode][] = [
      [{ name: "taken" }, "NAME_IN_USE"],
      [{ name: "bad name!" }, "WRONG_NAME"],
      [{ interfaceName: "eth0" }, "WRONG_INTERFACE"],
      [{ interfaceName: "wg7" }, "INTERFACE_IN_USE"],
      [{ listenPort: "51900" }, "PORT_IN_USE"],
      [{ listenPort: "70000" }, "WRONG_PORT"],
      [{ listenPort: "abc" }, "WRONG_PORT"],
      [{ address: "10.50.0.129/25" }, "SUBNET_IN_USE"],
      [{ address: "10.0.0.1/8" }, "SUBNET_IN_USE"],
      [{ address: "10.0.0.0/8" }, "WRONG_IP"],
      [{ address: "10.60.0.0/24" }, "WRONG_IP"],
      [{ address: "nonsense" }, "WRONG_IP"],
      [{ privateKey: "xyz" }, "KEYS_INVALID"],
      [{ privateKey: generateKeyPair().privateKey, publicKey: existing.publicKey }, "KEYS_INVALID"],
      [{ externalIp: "1.2.3" }, "WRONG_EXTERNAL_IP"],
      [{ dns1: "8.8.8" }, "WRONG_DNS1"],
      [{ dns2: "dns.google" }, "WRONG_DNS2"],
      [{ mtu: "100" }, "WRONG_MTU"],
      [{ internalTraffic: "maybe" }, "WRONG_BOOLEAN"],
    ];
    for (const [input, code] of cases) await expectError(h.vpncp.servers.create(input), code);
    expect(h.vpncp.servers.list()).toHaveLength(1);
    expect([...h.drivers.wireguard.interfaces().keys()]).toEqual(["wg7"]);
  });

  test("edit applies to the interface; delete is refused while accounts exist", async () => {
    const s = await h.vpncp.servers.create({ name: "s" });
    const a = await h.vpncp.accounts.create({ wgName: "s" });
    const edited = await h.vpncp.servers.update("s", { listenPort: "51999", mtu: "1380", internalTraffic: "1" });
    expect(edited).toMatchObject({ listenPort: 51999, mtu: 1380, internalTraffic: true });
    const iface = h.drivers.wireguard.interfaces().get(s.interfaceName)!;
    expect(iface.listenPort).toBe(51999);
    expect(iface.peers.has(a.publicKey)).toBe(true);
    expect(h.drivers.firewall.servers[0]?.internalTraffic).toBe(true);
    await expectError(h.vpncp.servers.remove("s"), "SERVER_HAS_PEERS");
    await expectError(h.vpncp.servers.update("ghost", {}), "SERVER_NOT_FOUND");
    await expectError(h.vpncp.servers.update("s", { address: "10.0.9.1/24" }), "IP_OUT_OF_RANGE");
    await h.vpncp.accounts.remove(a.name);
    await h.vpncp.servers.remove("s");
    expect(h.drivers.wireguard.interfaces().size).toBe(0);
    expect(h.drivers.shaper.interfaces).toEqual([]);
  });

  test("available_ips lists the free addresses of the subnet", async () => {
    await h.vpncp.servers.create({ name: "s", address: "10.0.8.1/29" });
    await h.vpncp.accounts.create({ wgName: "s" });
    expect(h.vpncp.servers.availableIps("s")).toEqual(["10.0.8.3", "10.0.8.4", "10.0.8.5", "10.0.8.6"]);
  });

  test("set_bandwidth applies the pair to every account of the server", async () => {
    await h.vpncp.servers.create({ name: "s" });
    const a = await h.vpncp.accounts.create({ wgName: "s" });
    const b = await h.vpncp.accounts.create({ wgName: "s", bDownload: 3 });
    await h.vpncp.accounts.setBandwidth("s", "40", "4");
    expect(h.drivers.shaper.rateOf("wg0", a.mangle)).toEqual({ downloadMbit: 40, uploadMbit: 4 });
    expect(h.drivers.shaper.rateOf("wg0", b.mangle)).toEqual({ downloadMbit: 40, uploadMbit: 4 });
  });
});
