import { derivePublicKey, generateKeyPair } from "@vpncp/core";
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

describe("account ADD", () => {
  test("with only wg_name, every other field is generated unique, and the system holds the account", async () => {
    const server = await h.vpncp.servers.create({});
    const a = await h.vpncp.accounts.create({ wgName: server.name });
    const b = await h.vpncp.accounts.create({ wgName: server.name });
    expect(a).toMatchObject({
      name: "peer_1",
      username: "user_1",
      allowedIp: "10.0.1.2",
      mangle: 100,
      status: "enable",
      wgName: server.name,
    });
    expect(b).toMatchObject({ name: "peer_2", username: "user_2", allowedIp: "10.0.1.3", mangle: 101 });
    expect(a.password).not.toBe(b.password);
    expect(a.password.length).toBeGreaterThanOrEqual(16);
    expect(derivePublicKey(a.privateKey)).toBe(a.publicKey);

    const iface = h.drivers.wireguard.interfaces().get(server.interfaceName)!;
    expect([...iface.peers.values()].map((p) => [p.publicKey, p.allowedIps])).toEqual([
      [a.publicKey, ["10.0.1.2/32"]],
      [b.publicKey, ["10.0.1.3/32"]],
    ]);
    expect(h.drivers.firewall.accounts.map((x) => [x.mark, x.ipv4])).toEqual([
      [100, "10.0.1.2"],
      [101, "10.0.1.3"],
    ]);
    expect(h.drivers.shaper.rateOf(server.interfaceName, 100)).toEqual({ downloadMbit: 0, uploadMbit: 0 });
  });

  test("takes the page's example fields as given", async () => {
    await h.vpncp.servers.create({ name: "77_87_125_209", address: "10.0.110.1/24" });
    const account = await h.vpncp.accounts.create({
      wgName: "77_87_125_209",
      allowedIp: "10.0.110.52",
      bDownload: "100",
      bUpload: "100",
      name: "NAME111",
      password: "PASSWORD",
      status: "disable",
      username: "USERNAME111",
    });
    expect(account).toMatchObject({
      allowedIp: "10.0.110.52",
      bDownload: 100,
      bUpload: 100,
      name: "NAME111",
      password: "PASSWORD",
      status: "disable",
    });
    // disabled: stored, but nothing on the system
    expect(h.drivers.wireguard.interfaces().get("wg0")!.peers.size).toBe(0);
    expect(h.drivers.firewall.accounts).toEqual([]);
    expect(h.drivers.shaper.rateOf("wg0", account.mangle)).toBeUndefined();
  });

  test("a missing allowed_IPs gets the first free address; a /32 CIDR is accepted", async () => {
    await h.vpncp.servers.create({ name: "s", address: "10.0.110.1/24" });
    await h.vpncp.accounts.create({ wgName: "s", allowedIp: "10.0.110.2/32" });
    const next = await h.vpncp.accounts.create({ wgName: "s" });
    expect(next.allowedIp).toBe("10.0.110.3");
  });

  test("every documented error, word for word, and nothing changes", async () => {
    await h.vpncp.servers.create({ name: "s", address: "10.0.110.1/24" });
    const taken = await h.vpncp.accounts.create({ wgName: "s", name: "taken", username: "taken_user", allowedIp: "10.0.110.10" });
    const other = generateKeyPair();
    const cases: [Record<string, unknown>, ErrorCode][] = [
      [{}, "SERVER_NOT_VALID"],
      [{ wgName: "nope" }, "SERVER_NOT_VALID"],
      [{ wgName: "s", name: "bad name" }, "WRONG_NAME"],
      [{ wgName: "s", name: "bad/../name" }, "WRONG_NAME"],
      [{ wgName: "s", name: "taken" }, "NAME_IN_USE"],
      [{ wgName: "s", username: "a;b" }, "WRONG_USERNAME"],
      [{ wgName: "s", username: "taken_user" }, "USERNAME_IN_USE"],
      [{ wgName: "s", allowedIp: "10.0.110" }, "WRONG_IP"],
      [{ wgName: "s", allowedIp: "10.0.110.5/24" }, "WRONG_IP"],
      [{ wgName: "s", allowedIp: "fd00::5" }, "WRONG_IP"],
      [{ wgName: "s", allowedIp: "10.0.110.10" }, "IP_IN_USE"],
      [{ wgName: "s", allowedIp: "10.0.111.5" }, "IP_OUT_OF_RANGE"],
      [{ wgName: "s", allowedIp: "10.0.110.0" }, "IP_OUT_OF_RANGE"],
      [{ wgName: "s", allowedIp: "10.0.110.1" }, "IP_OUT_OF_RANGE"],
      [{ wgName: "s", allowedIp: "10.0.110.255" }, "IP_OUT_OF_RANGE"],
      [{ wgName: "s", privateKey: "short" }, "KEYS_INVALID"],
      [{ wgName: "s", privateKey: Buffer.alloc(31, 1).toString("base64") }, "KEYS_INVALID"],
      [{ wgName: "s", privateKey: other.privateKey, publicKey: generateKeyPair().publicKey }, "KEYS_INVALID"],
      [{ wgName: "s", publicKey: taken.publicKey }, "KEYS_INVALID"],
      [{ wgName: "s", bDownload: "10001" }, "WRONG_DOWNLOAD"],
      [{ wgName: "s", bUpload: "-1" }, "WRONG_UPLOAD"],
      [{ wgName: "s", bUpload: "1.5" }, "WRONG_UPLOAD"],
      [{ wgName: "s", status: "on" }, "WRONG_STATUS"],
      [{ wgName: "s", password: "has space" }, "WRONG_PASSWORD"],
      [{ wgName: "s", password: 'quote"' }, "WRONG_PASSWORD"],
    ];
    for (const [input, code] of cases) {
      await expectError(h.vpncp.accounts.create(input), code);
    }
    expect(h.vpncp.accounts.count).toBe(1);
    expect(h.drivers.wireguard.interfaces().get("wg0")!.peers.size).toBe(1);
    // the failed creates took no address and no mark
    expect((await h.vpncp.accounts.create({ wgName: "s" })).allowedIp).toBe("10.0.110.2");
    expect(h.vpncp.accounts.get("peer_2").mangle).toBe(101);
  });

  test("a given key pair is checked; a private key alone derives its public key", async () => {
    await h.vpncp.servers.create({ name: "s" });
    const keys = generateKeyPair();
    const a = await h.vpncp.accounts.create({ wgName: "s", privateKey: keys.privateKey, publicKey: keys.publicKey });
    expect(a.publicKey).toBe(keys.publicKey);
    const other = generateKeyPair();
    const b = await h.vpncp.accounts.create({ wgName: "s", privateKey: other.privateKey });
    expect(b.publicKey).toBe(other.publicKey);
  });

  test("the account limit is enforced with the documented sentence", async () => {
    const limited = await startHarness({ accountLimit: 2 });
    try {
      await limited.vpncp.servers.create({ name: "s" });
      await limited.vpncp.accounts.create({ wgName: "s" });
      await limited.vpncp.accounts.create({ wgName: "s" });
      await expectError(limited.vpncp.accounts.create({ wgName: "s" }), "ACCOUNT_LIMIT");
      expect(limited.vpncp.system.status().countAccountsAvailable).toBe(2);
    } finally {
      await limited.close();
    }
  });

  test("with no limit configured, the limit is what marks (HTB classes) can hold", () => {
    expect(h.vpncp.system.status().countAccountsAvailable).toBe(0xfffd - 100 + 1);
  });

  test("concurrent creates never share a name, address or mark", async () => {
    await h.vpncp.servers.create({ name: "s", address: "10.20.0.1/22" });
    const created = await Promise.all(Array.from({ length: 60 }, () => h.vpncp.accounts.create({ wgName: "s" })));
    expect(new Set(created.map((a) => a.name)).size).toBe(60);
    expect(new Set(created.map((a) => a.username)).size).toBe(60);
    expect(new Set(created.map((a) => a.allowedIp)).size).toBe(60);
    expect(new Set(created.map((a) => a.mangle)).size).toBe(60);
    expect(h.drivers.wireguard.interfaces().get("wg0")!.peers.size).toBe(60);
  });
});

describe("account EDIT and DELETE", () => {
  test("disable removes the peer, the marks and the classes but keeps the account; enable restores them", async () => {
    await h.vpncp.servers.create({ name: "s", bDownload: 20, bUpload: 10 });
    const a = await h.vpncp.accounts.create({ wgName: "s" });
    await h.vpncp.accounts.update(a.name, { status: "disable" });
    expect(h.vpncp.accounts.get(a.name).status).toBe("disable");
    expect(h.drivers.wireguard.interfaces().get("wg0")!.peers.size).toBe(0);
    expect(h.drivers.firewall.accounts).toEqual([]);
    expect(h.drivers.shaper.rateOf("wg0", a.mangle)).toBeUndefined();
    await h.vpncp.accounts.update(a.name, { status: "enable" });
    expect(h.drivers.wireguard.interfaces().get("wg0")!.peers.has(a.publicKey)).toBe(true);
    expect(h.drivers.shaper.rateOf("wg0", a.mangle)).toEqual({ downloadMbit: 20, uploadMbit: 10 });
  });

  test("the page's EDIT example: address, bandwidth, password and status change; mangle stays", async () => {
    await h.vpncp.servers.create({ name: "77_87_125_209", address: "10.0.110.1/24" });
    await h.vpncp.accounts.create({ wgName: "77_87_125_209", allowedIp: "10.0.110.52", name: "NAME111", status: "disable" });
    const edited = await h.vpncp.accounts.update("NAME111", {
      allowedIp: "10.0.110.60",
      bDownload: "11",
      bUpload: "11",
      password: "PASSWORD111122223333",
      status: "enable",
    });
    expect(edited).toMatchObject({
      allowedIp: "10.0.110.60",
      bDownload: 11,
      bUpload: 11,
      password: "PASSWORD111122223333",
      status: "enable",
      mangle: 100,
    });
    const peer = h.drivers.wireguard.interfaces().get("wg0")!.peers.get(edited.publicKey)!;
    expect(peer.allowedIps).toEqual(["10.0.110.60/32"]);
    expect(h.drivers.shaper.rateOf("wg0", 100)).toEqual({ downloadMbit: 11, uploadMbit: 11 });
    expect(h.drivers.firewall.accounts).toEqual([{ mark: 100, interface: "wg0", ipv4: "10.0.110.60" }]);
    // the old address is free again
    expect((await h.vpncp.accounts.create({ wgName: "77_87_125_209", allowedIp: "10.0.110.52" })).allowedIp).toBe("10.0.110.52");
  });

  test("EDIT errors, word for word, and nothing changes", async () => {
    await h.vpncp.servers.create({ name: "s", address: "10.0.110.1/24" });
    await h.vpncp.accounts.create({ wgName: "s", name: "a", allowedIp: "10.0.110.5" });
    await h.vpncp.accounts.create({ wgName: "s", name: "b", allowedIp: "10.0.110.6" });
    await expectError(h.vpncp.accounts.update("ghost", { status: "enable" }), "ACCOUNT_NOT_FOUND");
    await expectError(h.vpncp.accounts.update("a", { wgName: "ghost" }), "SERVER_NOT_VALID");
    await expectError(h.vpncp.accounts.update("a", { allowedIp: "not-an-ip" }), "WRONG_EXTERNAL_IP");
    await expectError(h.vpncp.accounts.update("a", { allowedIp: "10.0.110.6" }), "IP_IN_USE");
    await expectError(h.vpncp.accounts.update("a", { allowedIp: "10.9.9.9" }), "IP_OUT_OF_RANGE");
    await expectError(h.vpncp.accounts.update("a", { bDownload: "abc" }), "WRONG_DOWNLOAD");
    expect(h.vpncp.accounts.get("a").allowedIp).toBe("10.0.110.5");
    // setting the same address again is fine
    expect((await h.vpncp.accounts.update("a", { allowedIp: "10.0.110.5" })).allowedIp).toBe("10.0.110.5");
  });

  test("delete leaves no peer, mark or class, and the mark is reused safely", async () => {
    await h.vpncp.servers.create({ name: "s" });
    const a = await h.vpncp.accounts.create({ wgName: "s" });
    await h.vpncp.accounts.create({ wgName: "s" });
    await h.vpncp.accounts.remove(a.name);
    await expectError(h.vpncp.accounts.remove(a.name), "ACCOUNT_NOT_FOUND");
    expect(h.drivers.wireguard.interfaces().get("wg0")!.peers.has(a.publicKey)).toBe(false);
    expect(h.drivers.firewall.accounts.map((x) => x.mark)).toEqual([101]);
    expect(h.drivers.shaper.rateOf("wg0", a.mangle)).toBeUndefined();
    const c = await h.vpncp.accounts.create({ wgName: "s" });
    expect(c.mangle).toBe(100);
    expect(h.drivers.shaper.rateOf("wg0", 100)).toBeDefined();
  });

  test("0 bandwidth means the server's default, applied to the class", async () => {
    await h.vpncp.servers.create({ name: "s", bDownload: 50, bUpload: 5 });
    const a = await h.vpncp.accounts.create({ wgName: "s", bDownload: 0, bUpload: 7 });
    expect(h.drivers.shaper.rateOf("wg0", a.mangle)).toEqual({ downloadMbit: 50, uploadMbit: 7 });
    await h.vpncp.servers.update("s", { bDownload: 60 });
    expect(h.drivers.shaper.rateOf("wg0", a.mangle)).toEqual({ downloadMbit: 60, uploadMbit: 7 });
  });
});

describe("restart", () => {
  test("a new instance on the same data reloads every interface, peer, mark and class into empty drivers", async () => {
    await h.vpncp.servers.create({ name: "s1" });
    await h.vpncp.servers.create({ name: "s2", ipv6: "1" });
    const a = await h.vpncp.accounts.create({ wgName: "s1", bDownload: 30, bUpload: 20 });
    const b = await h.vpncp.accounts.create({ wgName: "s2" });
    await h.vpncp.accounts.create({ wgName: "s2", status: "disable" });
    const restarted = await h.restart();
    try {
      const wg = restarted.drivers.wireguard.interfaces();
      expect([...wg.keys()].sort()).toEqual(["wg0", "wg1"]);
      expect([...wg.get("wg0")!.peers.keys()]).toEqual([a.publicKey]);
      expect([...wg.get("wg1")!.peers.keys()]).toEqual([b.publicKey]);
      expect(wg.get("wg1")!.peers.get(b.publicKey)!.allowedIps).toEqual(["10.0.2.2/32", "fd00:0:0:1::2/128"]);
      expect(restarted.drivers.firewall.accounts.map((x) => x.mark).sort()).toEqual([a.mangle, b.mangle].sort());
      expect(restarted.drivers.shaper.rateOf("wg0", a.mangle)).toEqual({ downloadMbit: 30, uploadMbit: 20 });
      expect(restarted.vpncp.accounts.count).toBe(3);
      // allocation continues where it was
      expect((await restarted.vpncp.accounts.create({ wgName: "s1" })).mangle).toBe(103);
    } finally {
      await restarted.close();
    }
  });
});
