import { renderClientConfig } from "../../src/render/client-config.js";
import { ACCOUNT, SERVER } from "./fixtures.js";

/** A client config routing `count` /24 networks: long enough, it only fits a QR code at a lower error-correction level. */
export function configWithNetworks(count: number): string {
  const networks = Array.from({ length: count }, (_, i) => `10.${Math.floor(i / 256)}.${i % 256}.0/24`).join(",");
  return renderClientConfig({ ...SERVER, allowedIps: networks, keepAlive: 25 }, ACCOUNT);
}
