import QRCode from "qrcode";
import { describe, expect, test } from "vitest";
import { renderClientConfig } from "../../src/render/client-config.js";
import { qrErrorCorrectionLevelFor, renderQrPng } from "../../src/render/qr.js";
import { ACCOUNT, SERVER } from "./fixtures.js";
import { configWithNetworks } from "./long-configs.js";

function fitsAt(text: string, level: "Q" | "M" | "L"): boolean {
  try {
    QRCode.create(text, { errorCorrectionLevel: level });
    return true;
  } catch {
    return false;
  }
}

/** Width and height from the PNG's IHDR chunk. */
function pngSize(base64: string): { width: number; height: number } {
  const png = Buffer.from(base64, "base64");
  expect(png.subarray(0, 8).equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]))).toBe(true);
  expect(png.subarray(12, 16).toString("latin1")).toBe("IHDR");
  return { width: png.readUInt32BE(16), height: png.readUInt32BE(20) };
}

describe("renderQrPng", () => {
  test("a normal config gets level Q and a 500 × 500 PNG in bare base64, like the API page", async () => {
    const text = renderClientConfig(SERVER, ACCOUNT);
    expect(qrErrorCorrectionLevelFor(text)).toBe("Q");
    const png = await renderQrPng(text);
    expect(png).toMatch(/^iVBORw0KGgo[A-Za-z0-9+/]+=*$/);
    expect(pngSize(png)).toEqual({ width: 500, height: 500 });
  });

  test("falls back to M, then L, as the config grows", async () => {
    const medium = configWithNetworks(110);
    expect(fitsAt(medium, "Q")).toBe(false);
    expect(qrErrorCorrectionLevelFor(medium)).toBe("M");
    const long = configWithNetworks(160);
    expect(fitsAt(long, "M")).toBe(false);
    expect(qrErrorCorrectionLevelFor(long)).toBe("L");
    await expect(renderQrPng(long)).resolves.toMatch(/^iVBORw0KGgo/);
  });

  test("refuses text that fits no QR code", async () => {
    const tooLong = configWithNetworks(220);
    expect(qrErrorCorrectionLevelFor(tooLong)).toBeNull();
    await expect(renderQrPng(tooLong)).rejects.toThrow(RangeError);
  });
});
