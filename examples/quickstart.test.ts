import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { expect, test } from "vitest";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");

test("the quickstart example runs from plain Node: prints a config and writes the QR PNG", async () => {
  if (!existsSync(join(root, "packages/drivers/dist/index.js")) || !existsSync(join(root, "packages/core/dist/index.js"))) {
    execFileSync("npm", ["run", "build"], { cwd: root, stdio: "inherit" });
  }
  const out = await mkdtemp(join(tmpdir(), "vpncp-example-"));
  try {
    const stdout = execFileSync(process.execPath, [join(root, "examples/quickstart.mjs"), out], { cwd: root, encoding: "utf8" });
    expect(stdout).toMatch(/\[Interface\]\nPrivateKey = [A-Za-z0-9+/]{43}=\nAddress = 10\.0\.1\.2\/24/);
    expect(stdout).toContain("Endpoint = 203.0.113.10:51820");
    expect(stdout).toContain("peers on wg0: 2");
    const png = await readFile(join(out, "alice.png"));
    expect(png.subarray(0, 8).toString("hex")).toBe("89504e470d0a1a0a");
    // the PNG decodes to exactly the printed config when zbarimg is there
    const config = stdout.slice(stdout.indexOf("[Interface]"), stdout.indexOf("\nQR code written")).trimEnd();
    let decoded: string | null = null;
    try {
      decoded = execFileSync("zbarimg", ["--raw", "-q", join(out, "alice.png")], { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] });
    } catch (error) {
      if (process.env.CI === "true") throw error;
    }
    if (decoded !== null) expect(decoded.trimEnd()).toBe(config);
  } finally {
    await rm(out, { recursive: true, force: true });
  }
});
