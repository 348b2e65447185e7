/** Secrets made from the operating system's random source (node:crypto). */
import { randomBytes, randomInt, randomUUID } from "node:crypto";

const LOWER = "abcdefghijklmnopqrstuvwxyz";
const UPPER = "ABCDEFGHIJKLMNOPQRSTUVWXYZ";
const DIGITS = "0123456789";
/**
 * Symbols that stay as they are when form-encoded (curl -d, PHP, URLSearchParams)
 * and need no escaping in quoted swanctl.conf strings, shells, URLs and XML:
 * no quote, backslash, space, "$", "%", "&", "+", "#" or "~" (tilde expansion).
 */
const SYMBOLS = "-_.";
const ALPHABET = LOWER + UPPER + DIGITS + SYMBOLS;

export const DEFAULT_PASSWORD_LENGTH = 20;

function pick(chars: string): string {
  // randomInt is uniform (rejection sampling), unlike a byte modulo the length.
  return chars[randomInt(chars.length)]!;
}

/**
 * A strong password (default 20 characters, about 120 bits) for EAP-MSCHAPv2:
 * letters, digits and a few symbols, at least one of each kind so it passes
 * the usual client password rules.
 */
export function generatePassword(length = DEFAULT_PASSWORD_LENGTH): string {
  if (!Number.isInteger(length) || length < 16 || length > 128) {
    throw new RangeError("password length must be 16 to 128");
  }
  const chars = [pick(LOWER), pick(UPPER), pick(DIGITS), pick(SYMBOLS)];
  while (chars.length < length) chars.push(pick(ALPHABET));
  // Fisher-Yates, so the guaranteed kinds are not always in front.
  for (let i = chars.length - 1; i > 0; i -= 1) {
    const j = randomInt(i + 1);
    [chars[i], chars[j]] = [chars[j]!, chars[i]!];
  }
  return chars.join("");
}

/** A one-time-link key: 80 lowercase hex characters (40 random bytes), as the API shows. */
export function generateOtlKey(): string {
  return randomBytes(40).toString("hex");
}

/** A random (v4) UUID, e.g. for an account's .sswan profile. */
export function generateUuid(): string {
  return randomUUID();
}
