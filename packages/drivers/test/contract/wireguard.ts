/**
 * What every WireGuardPort driver promises, checked through the port only. Run by the
 * fake's test file always and by the wireguard-tools system test in a network namespace.
 */
import { createPrivateKey, createPublicKey, randomBytes } from "node:crypto";
import type { WgInterfaceSpec, WgInterfaceState, WgPeerSpec, WgPeerState, WireGuardPort } from "@vpncp/core";
import { afterEach, beforeEach, describe, expect, test, vi } from "vitest";

export interface WireGuardContractHost {
  readonly driver: WireGuardPort;
  /** A fresh interface name, unique on the machine. */
  interfaceName(): string;
  /**
   * Gives a peer a session: a handshake, an endpoint and traffic. Optional: without it the
   * "sessions survive" checks still run, on peers that never had traffic.
   */
  readonly simulateTraffic?: (iface: string, publicKey: string) => Promise<void>;
  /**
   * Makes the interface's daemon die (wireguard-go killed by PID) so that the driver starts it
   * again by itself; false when the driver has no daemon (kernel WireGuard). Optional: without
   * it only "not for the driver's own applies" is checked.
   */
  readonly killDaemon?: (iface: string) => Promise<boolean>;
  cleanup(): Promise<void>;
}

export interface WireGuardContractOptions {
  readonly name: string;
  readonly create: () => Promise<WireGuardContractHost>;
  /** A reason to skip (e.g. from realToolsUnavailable()), or false. */
  readonly skip?: string | false;
  /** More tests for this driver, sharing the suite's host. */
  readonly additionalTests?: (host: () => WireGuardContractHost) => void;
}

const X25519_PKCS8_PREFIX = Buffer.from("302e020100300506032b656e04220420", "hex");

/** A WireGuard key pair like `wg genkey | wg pubkey` (clamped private key, base64). */
export function generateWgKeyPair(): { privateKey: string; publicKey: string } {
  const secret = randomBytes(32);
  secret[0]! &= 248;
  secret[31] = (secret[31]! & 127) | 64;
  const key = createPrivateKey({ key: Buffer.concat([X25519_PKCS8_PREFIX, secret]), format: "der", type: "pkcs8" });
  const { x } = createPublicKey(key).export({ format: "jwk" });
  return { privateKey: secret.toString("base64"), publicKey: Buffer.from(x ?? "", "base64url").toString("base64") };
}

/** Like `wg genpsk`. */
export function generatePresharedKey(): string {
  return randomBytes(32).toString("base64");
}

function peerOf(state: WgInterfaceState | null, publicKey: string): WgPeerState {
  const peer = state?.peers.find((p) => p.publicKey === publicKey);
  if (!peer) throw new Error(`peer ${publicKey} not in the dump`);
  return peer;
}

/** A dump with peers and allowed IPs in a stable order (their order is the tool's business). */
function sorted(state: WgInterfaceState | null): WgInterfaceState | null {
  if (!state) return state;
  return {
    ...state,
    peers: [...state.peers]
      .sort((a, b) => a.publicKey.localeCompare(b.publicKey))
      .map((p) => ({ ...p, allowedIps: [...p.allowedIps].sort() })),
  };
}

function session(peer: WgPeerState): Pick<WgPeerState, "endpoint" | "latestHandshake" | "rxBytes" | "txBytes"> {
  return { endpoint: peer.endpoint, latestHandshake: peer.latestHandshake, rxBytes: peer.rxBytes, txBytes: peer.txBytes };
}

export function testWireGuardDriver(options: WireGuardContractOptions): void {
  describe.skipIf(Boolean(options.skip))(`WireGuardPort contract: ${options.name}`, () => {
    let current: WireGuardContractHost | undefined;
    const host = (): WireGuardContractHost => {
      if (!current) throw new Error("no host");
      return current;
    };

    beforeEach(async () => {
      current = await options.create();
    });
    afterEach(async () => {
      await current?.cleanup();
      current = undefined;
    });

    const server = generateWgKeyPair();
    const alice = generateWgKeyPair();
    const bob = generateWgKeyPair();
    const carol = generateWgKeyPair();
    const dave = generateWgKeyPair();
    const specOf = (name: string, patch: Partial<WgInterfaceSpec> = {}): WgInterfaceSpec => ({
      name,
      privateKey: server.privateKey,
      listenPort: 51820,
      addresses: ["10.0.105.1/24", "fd00:105::1/64"],
      ...patch,
    });
    const alicePeer: WgPeerSpec = {
      publicKey: alice.publicKey,
      allowedIps: ["10.0.105.18/32", "fd00:105::12/128"],
      presharedKey: generatePresharedKey(),
    };
    const bobPeer: WgPeerSpec = { publicKey: bob.publicKey, allowedIps: ["10.0.105.19/32"], persistentKeepalive: 25 };
    const carolPeer: WgPeerSpec = { publicKey: carol.publicKey, allowedIps: ["10.0.105.20/32"] };

    /** Gives the peer a session when the host can, and returns its state afterwards. */
    async function withSession(name: string, publicKey: string): Promise<WgPeerState> {
      await host().simulateTraffic?.(name, publicKey);
      return peerOf(await host().driver.dump(name), publicKey);
    }

    test("applyInterface creates the interface; dump shows port, public key and peers, never the private key", async () => {
      const { driver, interfaceName } = host();
      const name = interfaceName();
      expect(await driver.dump(name)).toBeNull();
      await driver.applyInterface(specOf(name), [alicePeer, bobPeer]);
      const state = await driver.dump(name);
      expect(sorted(state)).toEqual(
        sorted({
          name,
          publicKey: server.publicKey,
          listenPort: 51820,
          fwmark: null,
          peers: [
            {
              publicKey: alice.publicKey,
              hasPresharedKey: true,
              endpoint: null,
              allowedIps: ["10.0.105.18/32", "fd00:105::12/128"],
              latestHandshake: 0,
              rxBytes: 0,
              txBytes: 0,
              persistentKeepalive: null,
            },
            {
              publicKey: bob.publicKey,
              hasPresharedKey: false,
              endpoint: null,
              allowedIps: ["10.0.105.19/32"],
              latestHandshake: 0,
              rxBytes: 0,
              txBytes: 0,
              persistentKeepalive: 25,
            },
          ],
        }),
      );
      const text = JSON.stringify(state);
      expect(text).not.toContain(server.privateKey);
      expect(text).not.toContain(alicePeer.presharedKey);
    });

    test("applying the same interface twice is idempotent", async () => {
      const { driver, interfaceName } = host();
      const name = interfaceName();
      await driver.applyInterface(specOf(name), [alicePeer, bobPeer]);
      const first = await driver.dump(name);
      await driver.applyInterface(specOf(name), [alicePeer, bobPeer]);
      expect(sorted(await driver.dump(name))).toEqual(sorted(first));
      expect(await driver.listInterfaces()).toEqual([name]);
    });

    test("re-applying with a changed peer set adds and removes peers, and keeps the sessions of the others", async () => {
      const { driver, interfaceName } = host();
      const name = interfaceName();
      await driver.applyInterface(specOf(name), [alicePeer, bobPeer]);
      const aliceBefore = await withSession(name, alice.publicKey);
      await driver.applyInterface(specOf(name, { listenPort: 51821 }), [alicePeer, carolPeer]);
      const state = await driver.dump(name);
      expect(state?.listenPort).toBe(51821);
      expect(state?.peers.map((p) => p.publicKey).sort()).toEqual([alice.publicKey, carol.publicKey].sort());
      const aliceAfter = peerOf(state, alice.publicKey);
      expect(session(aliceAfter)).toEqual(session(aliceBefore));
      expect(aliceAfter.hasPresharedKey).toBe(true);
      expect(session(peerOf(state, carol.publicKey))).toEqual({ endpoint: null, latestHandshake: 0, rxBytes: 0, txBytes: 0 });
    });

    test("re-applying changes a kept peer's allowed IPs, keepalive and preshared key, keeping its session", async () => {
      const { driver, interfaceName } = host();
      const name = interfaceName();
      await driver.applyInterface(specOf(name), [alicePeer, bobPeer]);
      const aliceBefore = await withSession(name, alice.publicKey);
      const changed: WgPeerSpec = { publicKey: alice.publicKey, allowedIps: ["10.0.105.30/32"], persistentKeepalive: 15 };
      await driver.applyInterface(specOf(name), [
        changed,
        { ...bobPeer, persistentKeepalive: undefined, presharedKey: generatePresharedKey() },
      ]);
      const state = await driver.dump(name);
      const aliceAfter = peerOf(state, alice.publicKey);
      expect(aliceAfter).toEqual({
        ...session(aliceBefore),
        publicKey: alice.publicKey,
        allowedIps: ["10.0.105.30/32"],
        persistentKeepalive: 15,
        hasPresharedKey: false,
      });
      expect(peerOf(state, bob.publicKey)).toMatchObject({ persistentKeepalive: null, hasPresharedKey: true });
    });

    test("allowed IPs are read back canonical: IPv6 compressed and lower-case, host bits cleared", async () => {
      const { driver, interfaceName } = host();
      const name = interfaceName();
      await driver.applyInterface(specOf(name), [
        { publicKey: alice.publicKey, allowedIps: ["FD00:0105:0:0::12/128", "10.0.105.19/24", "fd00:105:0:1::7/64"] },
      ]);
      const peer = peerOf(await driver.dump(name), alice.publicKey);
      expect([...peer.allowedIps].sort()).toEqual(["10.0.105.0/24", "fd00:105:0:1::/64", "fd00:105::12/128"]);
    });

    test("updatePeers adds, changes and removes only the given peers", async () => {
      const { driver, interfaceName } = host();
      const name = interfaceName();
      await driver.applyInterface(specOf(name), [alicePeer, bobPeer, carolPeer]);
      const aliceBefore = await withSession(name, alice.publicKey);
      const bobBefore = await withSession(name, bob.publicKey);
      const davePeer: WgPeerSpec = {
        publicKey: dave.publicKey,
        allowedIps: ["10.0.105.21/32", "fd00:105::15/128"],
        presharedKey: generatePresharedKey(),
        persistentKeepalive: 10,
      };
      await driver.updatePeers(name, {
        upsert: [
          { publicKey: bob.publicKey, allowedIps: ["10.0.105.19/32", "fd00:105::13/128"], presharedKey: generatePresharedKey() },
          davePeer,
        ],
        remove: [carol.publicKey],
      });
      const state = await driver.dump(name);
      expect(state?.peers.map((p) => p.publicKey).sort()).toEqual([alice.publicKey, bob.publicKey, dave.publicKey].sort());
      expect(peerOf(state, alice.publicKey)).toEqual(aliceBefore);
      const bobAfter = peerOf(state, bob.publicKey);
      expect(session(bobAfter)).toEqual(session(bobBefore));
      expect({ ...bobAfter, allowedIps: [...bobAfter.allowedIps].sort() }).toMatchObject({
        allowedIps: ["10.0.105.19/32", "fd00:105::13/128"],
        hasPresharedKey: true,
        persistentKeepalive: null,
      });
      expect(peerOf(state, dave.publicKey)).toMatchObject({
        hasPresharedKey: true,
        persistentKeepalive: 10,
        endpoint: null,
        rxBytes: 0,
        txBytes: 0,
      });
      expect([...peerOf(state, dave.publicKey).allowedIps].sort()).toEqual(["10.0.105.21/32", "fd00:105::15/128"]);
    });

    test("updatePeers can take a preshared key away and move an allowed IP to another peer", async () => {
      const { driver, interfaceName } = host();
      const name = interfaceName();
      await driver.applyInterface(specOf(name), [alicePeer, bobPeer]);
      await driver.updatePeers(name, {
        upsert: [{ publicKey: alice.publicKey, allowedIps: ["10.0.105.18/32", "10.0.105.19/32"] }],
        remove: [],
      });
      const state = await driver.dump(name);
      const aliceAfter = peerOf(state, alice.publicKey);
      expect(aliceAfter.hasPresharedKey).toBe(false);
      expect([...aliceAfter.allowedIps].sort()).toEqual(["10.0.105.18/32", "10.0.105.19/32"]);
      expect(peerOf(state, bob.publicKey).allowedIps).toEqual([]);
    });

    test("updatePeers with an empty change is a no-op, even for a missing interface", async () => {
      const { driver, interfaceName } = host();
      const name = interfaceName();
      await driver.applyInterface(specOf(name), [alicePeer, bobPeer]);
      const before = await driver.dump(name);
      await driver.updatePeers(name, { upsert: [], remove: [] });
      expect(sorted(await driver.dump(name))).toEqual(sorted(before));
      await expect(driver.updatePeers(interfaceName(), { upsert: [], remove: [] })).resolves.toBeUndefined();
    });

    test("updatePeers removing a peer that is not there leaves the others alone", async () => {
      const { driver, interfaceName } = host();
      const name = interfaceName();
      await driver.applyInterface(specOf(name), [alicePeer]);
      await driver.updatePeers(name, { upsert: [], remove: [carol.publicKey] });
      expect((await driver.dump(name))?.peers.map((p) => p.publicKey)).toEqual([alice.publicKey]);
    });

    test("updatePeers on a missing interface rejects", async () => {
      const { driver, interfaceName } = host();
      await expect(driver.updatePeers(interfaceName(), { upsert: [carolPeer], remove: [] })).rejects.toThrow();
    });

    test("removeInterface removes it; removing a missing one is fine; a re-created one starts from zero", async () => {
      const { driver, interfaceName } = host();
      const name = interfaceName();
      await driver.applyInterface(specOf(name), [alicePeer]);
      await withSession(name, alice.publicKey);
      await driver.removeInterface(name);
      expect(await driver.dump(name)).toBeNull();
      expect(await driver.listInterfaces()).toEqual([]);
      await expect(driver.removeInterface(name)).resolves.toBeUndefined();
      await driver.applyInterface(specOf(name), [alicePeer]);
      expect(session(peerOf(await driver.dump(name), alice.publicKey))).toEqual({
        endpoint: null,
        latestHandshake: 0,
        rxBytes: 0,
        txBytes: 0,
      });
    });

    test("listInterfaces lists the interfaces that exist", async () => {
      const { driver, interfaceName } = host();
      expect(await driver.listInterfaces()).toEqual([]);
      const a = interfaceName();
      const b = interfaceName();
      await driver.applyInterface(specOf(a), []);
      await driver.applyInterface(
        { ...specOf(b, { listenPort: 51822, addresses: ["10.0.106.1/24"] }), privateKey: generateWgKeyPair().privateKey },
        [carolPeer],
      );
      expect(await driver.listInterfaces()).toEqual([a, b].sort());
      await driver.removeInterface(a);
      expect(await driver.listInterfaces()).toEqual([b]);
    });

    test("a malformed private key or preshared key is rejected without being quoted", async () => {
      const { driver, interfaceName } = host();
      const name = interfaceName();
      const badKey = "SECRETSECRET-not-a-key";
      const error = await driver.applyInterface(specOf(name, { privateKey: badKey }), []).then(
        () => null,
        (e: unknown) => e as Error,
      );
      expect(error).toBeInstanceOf(Error);
      expect(`${error?.message} ${JSON.stringify(error)}`).not.toContain("SECRETSECRET");
      expect(await driver.dump(name)).toBeNull();

      await driver.applyInterface(specOf(name), [alicePeer]);
      const badPsk = "PSKSECRET-not-a-key";
      const pskError = await driver.updatePeers(name, { upsert: [{ ...carolPeer, presharedKey: badPsk }], remove: [] }).then(
        () => null,
        (e: unknown) => e as Error,
      );
      expect(pskError).toBeInstanceOf(Error);
      expect(`${pskError?.message} ${JSON.stringify(pskError)}`).not.toContain("PSKSECRET");
      expect((await driver.dump(name))?.peers.map((p) => p.publicKey)).toEqual([alice.publicKey]);
    });

    test("a malformed peer public key is rejected", async () => {
      const { driver, interfaceName } = host();
      const name = interfaceName();
      await driver.applyInterface(specOf(name), []);
      await expect(driver.updatePeers(name, { upsert: [{ publicKey: "not-a-key", allowedIps: [] }], remove: [] })).rejects.toThrow();
      await expect(driver.applyInterface(specOf(name), [{ publicKey: "not-a-key", allowedIps: [] }])).rejects.toThrow();
    });

    test("onInterfaceRecreated: never for applies, peer changes or removals; after a daemon restart, once, with its peers back", async () => {
      const { driver, interfaceName, killDaemon } = host();
      const name = interfaceName();
      const other = interfaceName();
      const heard: string[] = [];
      driver.onInterfaceRecreated((iface) => heard.push(iface));
      await driver.applyInterface(specOf(name), [alicePeer]);
      await driver.applyInterface(specOf(other, { listenPort: 51822, addresses: ["10.0.106.1/24"] }), [carolPeer]);
      await driver.updatePeers(name, { upsert: [bobPeer], remove: [] });
      await driver.applyInterface(specOf(name), [alicePeer, bobPeer]);
      await driver.removeInterface(other);
      expect(heard).toEqual([]);

      if (!(await killDaemon?.(name))) return;
      // bounded: a first restart is immediate, wireguard-go opens its socket within a second here
      await vi.waitFor(() => expect(heard).toEqual([name]), { timeout: 15_000, interval: 50 });
      // heard once the peers are back, so the listener can rely on the interface as applied
      const peers = (await driver.dump(name))?.peers.map((p) => p.publicKey).sort();
      expect(peers).toEqual([alice.publicKey, bob.publicKey].sort());
      await driver.removeInterface(name);
      expect(heard).toEqual([name]);
    });

    test("info names the tools in use", async () => {
      const info = await host().driver.info();
      expect(Object.keys(info)).toEqual(expect.arrayContaining(["wireguard-tools", "implementation"]));
      for (const value of Object.values(info)) expect(value).toMatch(/\S/);
    });

    options.additionalTests?.(host);
  });
}
