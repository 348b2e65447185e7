/** The QR codes as a scanner reads them: zbarimg decodes each PNG to exactly the config text. */
import { spawnSync } from "node:child_process";
import { describe, expect, test } from "vitest";
import { realToolsUnavailable } from "../../../drivers/test/netns.js";
import { renderClientConfig } from "../../src/render/client-config.js";
import { qrErrorCorrectionLevelFor, renderQrPng } from "../../src/render/qr.js";
import { ACCOUNT_V6, SERVER_V6 } from "./fixtures.js";
import { configWithNetworks } from "./long-configs.js";

const skip = realToolsUnavailable(["zbarimg"]);

/** zbarimg reads the PNG from stdin; --raw prints the payload plus one newline. */
function scan(pngBase64: string): string {
  const result = spawnSync("zbarimg", ["--raw", "-q", "-"], { input: Buffer.from(pngBase64, "base64"), encoding: "utf8" });
  expect(result.status, result.stderr).toBe(0);
  return result.stdout;
}

describe.skipIf(skip)("QR codes with zbarimg", () => {
  test.each([
    ["a short config (level Q)", renderClientConfig({ ...SERVER_V6, mtu: 1380, keepAlive: 25 }, ACCOUNT_V6), "Q"],
    ["a config with many AllowedIPs (level M)", configWithNetworks(110), "M"],
    ["a config that only fits at level L", configWithNetworks(160), "L"],
  ] as const)("decodes %s to exactly its text", async (_label, text, level) => {
    expect(qrErrorCorrectionLevelFor(text)).toBe(level);
    expect(scan(await renderQrPng(text))).toBe(`${text}\n`);
  });
});
