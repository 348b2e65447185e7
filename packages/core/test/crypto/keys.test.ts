import { describe, expect, test } from "vitest";
import { assertKeyPair, checkKeyPair, derivePublicKey, generateKeyPair, isValidKey } from "../../src/crypto/keys.js";
import { VpncpError } from "../../src/errors.js";
import { INVALID_KEYS } from "./invalid-keys.js";

const hexToB64 = (hex: string) => Buffer.from(hex, "hex").toString("base64");

describe("WireGuard keys", () => {
  test("derives the RFC 7748 test vector (X25519 base point multiplication)", () => {
    // RFC 7748 §6.1, Alice's key pair.
    const alicePrivate = hexToB64("77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a");
    const alicePublic = hexToB64("8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a");
    expect(derivePublicKey(alicePrivate)).toBe(alicePublic);
    expect(checkKeyPair(alicePrivate, alicePublic)).toBe(true);
  });

  test("derives the key pair of the API page's account example", () => {
    // Account peer_10 of the accounts page shows this pair.
    expect(derivePublicKey("GNuP0siryMimPSuF7Hnmw0D7gY7FXzoY6IgUmt1uuXc=")).toBe("7C5u5vZk051iA5W2zfbxjlZDgAdm7HdRFRgarI8nBw4=");
  });

  test("generates distinct, valid, clamped key pairs", () => {
    const pairs = Array.from({ length: 50 }, () => generateKeyPair());
    for (const { privateKey, publicKey } of pairs) {
      expect(isValidKey(privateKey)).toBe(true);
      expect(isValidKey(publicKey)).toBe(true);
      expect(derivePublicKey(privateKey)).toBe(publicKey);
      const raw = Buffer.from(privateKey, "base64");
      expect(raw[0]! & 7).toBe(0);
      expect(raw[31]! & 0xc0).toBe(0x40);
    }
    expect(new Set(pairs.map((p) => p.privateKey)).size).toBe(50);
  });

  test.each(Object.entries(INVALID_KEYS))("rejects a malformed key: %s", (_label, key) => {
    expect(isValidKey(key)).toBe(false);
    expect(() => derivePublicKey(key)).toThrow("Keys are invalid");
    expect(checkKeyPair(key, generateKeyPair().publicKey)).toBe(false);
  });

  test("rejects a mismatched pair with KEYS_INVALID", () => {
    const a = generateKeyPair();
    const b = generateKeyPair();
    expect(checkKeyPair(a.privateKey, b.publicKey)).toBe(false);
    expect(() => assertKeyPair(a.privateKey, b.publicKey)).toThrow(VpncpError);
    expect(() => assertKeyPair(a.privateKey, b.publicKey)).toThrow(expect.objectContaining({ code: "KEYS_INVALID", status: 400 }));
    expect(() => assertKeyPair(a.privateKey, a.publicKey)).not.toThrow();
  });
});
