/**
 * WireGuard keys: X25519 as `wg genkey` / `wg pubkey` compute them, in pure
 * TypeScript (tweetnacl), so keys are made and checked without spawning a tool
 * and a private key never leaves the process.
 */
import { randomBytes } from "node:crypto";
import nacl from "tweetnacl";
import { VpncpError } from "../errors.js";

const KEY_BYTES = 32;

/**
 * Canonical base64 of 32 bytes: 43 characters and one "=". The last character
 * before "=" carries 4 bits of key and 2 zero bits, so only every fourth letter
 * of the alphabet is allowed there (wg rejects the others, too).
 */
const CANONICAL_KEY = /^[A-Za-z0-9+/]{42}[AEIMQUYcgkosw048]=$/;

export interface WireguardKeyPair {
  /** Base64, as `wg genkey` prints it. */
  readonly privateKey: string;
  /** Base64, as `wg pubkey` prints it. */
  readonly publicKey: string;
}

/** Whether the text is a WireGuard key: exactly 32 bytes in canonical base64 (44 characters). */
export function isValidKey(key: string): boolean {
  return typeof key === "string" && CANONICAL_KEY.test(key);
}

function decodeKey(key: string): Uint8Array {
  if (!isValidKey(key)) throw new VpncpError("KEYS_INVALID");
  return new Uint8Array(Buffer.from(key, "base64"));
}

/** The public key of a private key, as `wg pubkey` computes it. Throws KEYS_INVALID on a malformed key. */
export function derivePublicKey(privateKey: string): string {
  // scalarMult clamps the scalar itself, as wg pubkey does, so unclamped private keys work too.
  return Buffer.from(nacl.scalarMult.base(decodeKey(privateKey))).toString("base64");
}

/** A fresh key pair, the private key clamped as `wg genkey` stores it. */
export function generateKeyPair(): WireguardKeyPair {
  const secret = new Uint8Array(randomBytes(KEY_BYTES));
  secret[0] = secret[0]! & 248;
  secret[31] = (secret[31]! & 127) | 64;
  const privateKey = Buffer.from(secret).toString("base64");
  return { privateKey, publicKey: derivePublicKey(privateKey) };
}

/** Whether both keys are well-formed and the public key belongs to the private key. */
export function checkKeyPair(privateKey: string, publicKey: string): boolean {
  if (!isValidKey(privateKey) || !isValidKey(publicKey)) return false;
  return derivePublicKey(privateKey) === publicKey;
}

/** Throws KEYS_INVALID ("Keys are invalid") unless checkKeyPair holds. */
export function assertKeyPair(privateKey: string, publicKey: string): void {
  if (!checkKeyPair(privateKey, publicKey)) throw new VpncpError("KEYS_INVALID");
}
