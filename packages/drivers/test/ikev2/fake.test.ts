import type { Ikev2ConnectionSpec } from "@vpncp/core";
import { describe, expect, test } from "vitest";
import { FakeIkev2, FakeIkev2LoginError } from "../../src/ikev2/fake.js";
import { type Ikev2ContractContext, testIkev2Driver } from "../contract/ikev2.js";

const PEM_CERT = "-----BEGIN CERTIFICATE-----\nMIIBfake\n-----END CERTIFICATE-----\n";
const PEM_KEY = "-----BEGIN PRIVATE KEY-----\nMIIBfake\n-----END PRIVATE KEY-----\n";

export const FAKE_CONNECTION: Ikev2ConnectionSpec = {
  name: "wg105",
  localAddrs: [],
  serverId: "vpn.example.test",
  serverCertificatePem: PEM_CERT,
  serverPrivateKeyPem: PEM_KEY,
  caCertificatePem: PEM_CERT,
  subnet4: "10.0.105.0/24",
  subnet6: "fd00:105::/64",
  localTs: ["0.0.0.0/0", "::/0"],
  dns: ["10.0.105.1", "fd00:105::1"],
};

interface FakeContext extends Ikev2ContractContext {
  readonly driver: FakeIkev2;
}

testIkev2Driver<FakeContext>({
  name: "fake",
  create: async () => ({
    driver: new FakeIkev2({ tunnelInterface: "ipsec0" }),
    connection: FAKE_CONNECTION,
    clientHost: "192.0.2.2",
    dispose: async () => {},
  }),
  tunnel: { name: "ipsec0" },
  login: async (context, username, password) => {
    try {
      return { ok: true, virtualIps: context.driver.simulateLogin(username, password).virtualIps };
    } catch (error) {
      if (error instanceof FakeIkev2LoginError) return { ok: false, virtualIps: [] };
      throw error;
    }
  },
  logout: async (context, username) => {
    context.driver.simulateLogout(username);
  },
});

describe("FakeIkev2 test controls", () => {
  const alice = { connection: "wg105", username: "alice", password: "pw-alice", ipv4: "10.0.105.18" };

  test("a login before apply fails, info says stopped", async () => {
    const fake = new FakeIkev2();
    expect((await fake.info()).state).toBe("stopped");
    expect(() => fake.simulateLogin("alice", "pw-alice")).toThrow(FakeIkev2LoginError);
  });

  test("simulated traffic and time show in listSas; a second login replaces the first", async () => {
    let now = 1_000_000;
    const fake = new FakeIkev2({ now: () => now });
    await fake.apply({ connections: [{ ...FAKE_CONNECTION, subnet6: undefined }], users: [alice] });
    const first = fake.simulateLogin("alice", "pw-alice", { remoteHost: "198.51.100.7", remotePort: 4500, bytesIn: 10, bytesOut: 20 });
    expect(first.virtualIps).toEqual(["10.0.105.18"]);
    now += 65_000;
    expect(fake.simulateTraffic("alice", 100, 1000)).toBe(1);
    expect(await fake.listSas()).toEqual([
      {
        uniqueId: first.uniqueId,
        connection: "wg105",
        username: "alice",
        remoteHost: "198.51.100.7",
        remotePort: 4500,
        virtualIps: ["10.0.105.18"],
        establishedSeconds: 65,
        bytesIn: 110,
        bytesOut: 1020,
      },
    ]);
    const second = fake.simulateLogin("alice", "pw-alice");
    expect(fake.sessions.map((s) => s.uniqueId)).toEqual([second.uniqueId]);
  });

  test("read-only views show what was applied; dispose stops it", async () => {
    const fake = new FakeIkev2();
    await fake.apply({ connections: [FAKE_CONNECTION], users: [alice] });
    expect(fake.connections.map((c) => c.name)).toEqual(["wg105"]);
    expect(fake.users).toEqual([alice]);
    expect(fake.running).toBe(true);
    await fake.dispose();
    expect((await fake.info()).state).toBe("stopped");
  });

  test("without a tunnel device (kernel ESP) it reports none", async () => {
    const fake = new FakeIkev2();
    await fake.apply({ connections: [FAKE_CONNECTION], users: [alice] });
    expect(fake.tunnelInterface()).toBeNull();
  });

  test("simulateRestart ends the sessions and tells the listeners, under the device's new name when given", async () => {
    const fake = new FakeIkev2({ tunnelInterface: "ipsec0" });
    const heard: (string | null)[] = [];
    fake.onTunnelRecreated(() => heard.push(fake.tunnelInterface()));
    fake.simulateRestart();
    expect(heard).toEqual([]);
    await fake.apply({ connections: [FAKE_CONNECTION], users: [alice] });
    fake.simulateLogin("alice", "pw-alice");
    fake.simulateRestart();
    fake.simulateRestart("ipsec1");
    expect(heard).toEqual(["ipsec0", "ipsec1"]);
    expect(fake.sessions).toEqual([]);
    expect(fake.users).toEqual([alice]);
  });

  test("a user of an unknown connection is refused by updateUsers", async () => {
    const fake = new FakeIkev2();
    await fake.apply({ connections: [FAKE_CONNECTION], users: [] });
    await expect(fake.updateUsers({ upsert: [{ ...alice, connection: "nope" }], remove: [] })).rejects.toThrow(/unknown connection/);
  });
});
