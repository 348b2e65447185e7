import { describe, expect, test } from "vitest";
import { FakeWireGuardDriver } from "../../src/wireguard/fake.js";
import { generatePresharedKey, generateWgKeyPair, testWireGuardDriver } from "../contract/wireguard.js";

testWireGuardDriver({
  name: "fake",
  async create() {
    const driver = new FakeWireGuardDriver();
    let names = 0;
    return {
      driver,
      interfaceName: () => {
        names += 1;
        return `wgf${names}`;
      },
      async simulateTraffic(iface, publicKey) {
        driver.simulateTraffic(iface, publicKey, {
          rxBytes: 692,
          txBytes: 604,
          latestHandshake: 1_795_433_554,
          endpoint: "192.0.2.2:38446",
        });
      },
      async killDaemon(iface) {
        driver.simulateRestart(iface);
        return true;
      },
      cleanup: () => driver.dispose(),
    };
  },
});

describe("FakeWireGuardDriver controls", () => {
  const server = generateWgKeyPair();
  const alice = generateWgKeyPair();
  const spec = { name: "wg0", privateKey: server.privateKey, listenPort: 51820, addresses: ["10.0.105.1/24", "fd00:105::1/64"], mtu: 1380 };

  test("simulateTraffic adds to the counters and sets handshake and endpoint", async () => {
    const driver = new FakeWireGuardDriver();
    await driver.applyInterface(spec, [{ publicKey: alice.publicKey, allowedIps: ["10.0.105.18/32"] }]);
    driver.simulateTraffic("wg0", alice.publicKey, { rxBytes: 100, txBytes: 40, latestHandshake: 1000, endpoint: "192.0.2.2:38446" });
    driver.simulateTraffic("wg0", alice.publicKey, { rxBytes: 5, txBytes: 2 });
    expect((await driver.dump("wg0"))?.peers[0]).toMatchObject({
      rxBytes: 105,
      txBytes: 42,
      latestHandshake: 1000,
      endpoint: "192.0.2.2:38446",
    });
    driver.simulateTraffic("wg0", alice.publicKey, { latestHandshake: 2000, endpoint: "192.0.2.3:1" });
    expect((await driver.dump("wg0"))?.peers[0]).toMatchObject({
      rxBytes: 105,
      txBytes: 42,
      latestHandshake: 2000,
      endpoint: "192.0.2.3:1",
    });
  });

  test("simulateTraffic on an unknown interface or peer throws", async () => {
    const driver = new FakeWireGuardDriver();
    expect(() => driver.simulateTraffic("wg0", alice.publicKey, { rxBytes: 1 })).toThrow(/no peer/);
    await driver.applyInterface(spec, []);
    expect(() => driver.simulateTraffic("wg0", alice.publicKey, { rxBytes: 1 })).toThrow(/no peer/);
  });

  test("interfaces() shows addresses, MTU and the applied preshared key; it is a snapshot", async () => {
    const driver = new FakeWireGuardDriver();
    const psk = generatePresharedKey();
    await driver.applyInterface(spec, [{ publicKey: alice.publicKey, allowedIps: ["10.0.105.18/32"], presharedKey: psk }]);
    const snapshot = driver.interfaces();
    const wg0 = snapshot.get("wg0");
    expect(wg0).toMatchObject({
      name: "wg0",
      publicKey: server.publicKey,
      listenPort: 51820,
      addresses: ["10.0.105.1/24", "fd00:105::1/64"],
      mtu: 1380,
      up: true,
    });
    expect(wg0?.peers.get(alice.publicKey)).toMatchObject({ presharedKey: psk, hasPresharedKey: true });
    await driver.removeInterface("wg0");
    expect(snapshot.has("wg0")).toBe(true);
    expect(driver.interfaces().size).toBe(0);
  });

  test("MTU: 1420 by default, kept when a later apply leaves it out", async () => {
    const driver = new FakeWireGuardDriver();
    await driver.applyInterface({ ...spec, mtu: undefined }, []);
    expect(driver.interfaces().get("wg0")?.mtu).toBe(1420);
    await driver.applyInterface(spec, []);
    await driver.applyInterface({ ...spec, mtu: undefined }, []);
    expect(driver.interfaces().get("wg0")?.mtu).toBe(1380);
  });

  test("info reports the configured implementation", async () => {
    expect(await new FakeWireGuardDriver({ implementation: "fake-userspace" }).info()).toEqual({
      "wireguard-tools": "fake",
      implementation: "fake-userspace",
    });
  });
});
