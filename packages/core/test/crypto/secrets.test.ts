import { describe, expect, test } from "vitest";
import { generateOtlKey, generatePassword, generateUuid } from "../../src/crypto/secrets.js";

describe("secrets", () => {
  test("passwords are long, mixed, and only use characters safe in quoted configs, URLs and shells", () => {
    const passwords = Array.from({ length: 2000 }, () => generatePassword());
    for (const password of passwords) {
      expect(password).toHaveLength(20);
      expect(password).toMatch(/^[A-Za-z0-9._-]+$/);
      expect(password).toMatch(/[a-z]/);
      expect(password).toMatch(/[A-Z]/);
      expect(password).toMatch(/[0-9]/);
      expect(password).toMatch(/[._-]/);
      // The API's password rule: printable, no spaces or quotes.
      expect(password).not.toMatch(/[\s"'`\\$]/);
      // Form-encoding leaves it unchanged, so it survives curl -d without escaping.
      expect(new URLSearchParams({ p: password }).toString()).toBe(`p=${password}`);
    }
    expect(new Set(passwords).size).toBe(passwords.length);
  });

  test("every allowed character shows up (the choice is not biased to a subset)", () => {
    const seen = new Set(Array.from({ length: 500 }, () => generatePassword()).join(""));
    expect(seen.size).toBe(26 + 26 + 10 + 3);
  });

  test("password length can be raised, not lowered below 16", () => {
    expect(generatePassword(64)).toHaveLength(64);
    expect(() => generatePassword(8)).toThrow(RangeError);
  });

  test("one-time-link keys are 80 lowercase hex characters and unique", () => {
    const keys = Array.from({ length: 1000 }, () => generateOtlKey());
    for (const key of keys) expect(key).toMatch(/^[0-9a-f]{80}$/);
    expect(new Set(keys).size).toBe(keys.length);
  });

  test("uuids are random (version 4)", () => {
    expect(generateUuid()).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(generateUuid()).not.toBe(generateUuid());
  });
});
