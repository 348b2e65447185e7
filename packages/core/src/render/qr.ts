/** QR codes of client configurations, for phones' WireGuard apps to scan. */
import QRCode from "qrcode";

/**
 * Error-correction levels tried in order: Q survives a smudged or glare-struck
 * screen; long configs (many AllowedIPs) only fit at M or L, which still scan
 * fine from a screen.
 */
export const QR_ERROR_CORRECTION_LEVELS = ["Q", "M", "L"] as const;
export type QrErrorCorrectionLevel = (typeof QR_ERROR_CORRECTION_LEVELS)[number];

/** The API page's example is 500 × 500 pixels. */
const WIDTH = 500;

/** The highest level in QR_ERROR_CORRECTION_LEVELS at which the text fits in a QR code (version ≤ 40), or null. */
export function qrErrorCorrectionLevelFor(text: string): QrErrorCorrectionLevel | null {
  for (const level of QR_ERROR_CORRECTION_LEVELS) {
    try {
      QRCode.create(text, { errorCorrectionLevel: level });
      return level;
    } catch {
      // too long at this level: try a lower one
    }
  }
  return null;
}

/**
 * The text as a QR code PNG, base64 without a `data:` prefix (as the API page
 * shows it). Throws a RangeError when the text does not fit even at level L
 * (about 2.9 kB).
 */
export async function renderQrPng(text: string): Promise<string> {
  const level = qrErrorCorrectionLevelFor(text);
  if (level === null) throw new RangeError(`text of ${Buffer.byteLength(text)} bytes is too long for a QR code`);
  const png = await QRCode.toBuffer(text, { type: "png", errorCorrectionLevel: level, margin: 4, width: WIDTH });
  return png.toString("base64");
}
