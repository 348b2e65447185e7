import { readdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, test } from "vitest";

// The tree shows the architecture: one folder per port, one file per implementation,
// each real driver beside a fake, every implementation with its own test file, and
// one contract suite per port.
const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const PORTS = ["command-runner", "firewall", "ikev2", "shaper", "wireguard"];
const HELPERS = new Set(["vici.ts", "spec.ts", "checks.ts"]);

describe("driver files", () => {
  test("one folder per port under src/", () => {
    const folders = readdirSync(join(root, "src"), { withFileTypes: true })
      .filter((e) => e.isDirectory())
      .map((e) => e.name)
      .sort();
    expect(folders).toEqual(PORTS);
  });

  for (const port of PORTS) {
    test(`${port}: a fake beside the real implementation(s), each with a test file`, () => {
      const files = readdirSync(join(root, "src", port)).filter((f) => f.endsWith(".ts") && !HELPERS.has(f));
      expect(files).toContain("fake.ts");
      expect(files.length).toBeGreaterThanOrEqual(2);
      const tests = readdirSync(join(root, "test", port));
      for (const file of files) {
        const base = file.replace(/\.ts$/, "");
        expect(
          tests.some((t) => t === `${base}.test.ts` || t === `${base}.system.test.ts`),
          `${port}/${file} has a test`,
        ).toBe(true);
      }
    });
  }

  test("one contract suite per port", () => {
    const suites = readdirSync(join(root, "test", "contract")).sort();
    expect(suites).toEqual(["firewall.ts", "ikev2.ts", "shaper.ts", "wireguard.ts"]);
  });
});
