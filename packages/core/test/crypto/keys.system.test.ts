/** The keys against the real `wg`: same public keys, same verdict on malformed keys. */
import { spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { describe, expect, test } from "vitest";
import { realToolsUnavailable } from "../../../drivers/test/netns.js";
import { derivePublicKey, generateKeyPair, isValidKey } from "../../src/crypto/keys.js";
import { INVALID_KEYS } from "./invalid-keys.js";

const skip = realToolsUnavailable(["wg"]);

/** `wg pubkey` with the private key on stdin, never on the command line. */
function wgPubkey(privateKey: string): { status: number | null; stdout: string } {
  const result = spawnSync("wg", ["pubkey"], { input: privateKey, encoding: "utf8" });
  return { status: result.status, stdout: result.stdout };
}

describe.skipIf(skip)("keys against wg", () => {
  test("derived public keys equal `wg pubkey` for generated and raw random keys", () => {
    const privateKeys = [
      ...Array.from({ length: 20 }, () => generateKeyPair().privateKey),
      // Unclamped random bytes: wg clamps when it computes, so must we.
      ...Array.from({ length: 20 }, () => randomBytes(32).toString("base64")),
    ];
    for (const privateKey of privateKeys) {
      const wg = wgPubkey(`${privateKey}\n`);
      expect(wg.status).toBe(0);
      expect(derivePublicKey(privateKey)).toBe(wg.stdout.trim());
    }
  });

  test("`wg genkey` output is a valid key and derives like `wg pubkey`", () => {
    const genkey = spawnSync("wg", ["genkey"], { encoding: "utf8" });
    const privateKey = genkey.stdout.trim();
    expect(isValidKey(privateKey)).toBe(true);
    expect(derivePublicKey(privateKey)).toBe(wgPubkey(privateKey).stdout.trim());
  });

  test.each(Object.entries(INVALID_KEYS).filter(([label]) => label !== "trailing newline"))(
    "wg also rejects what isValidKey rejects: %s",
    (_label, key) => {
      expect(isValidKey(key)).toBe(false);
      // wg reads one line; the newline only terminates it.
      expect(wgPubkey(`${key}\n`).status).not.toBe(0);
    },
  );
});
