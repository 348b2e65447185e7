/**
 * The namespace helpers of the drivers' real-tool tests (packages/drivers/test/netns.ts),
 * loaded from their TypeScript source, and the check whether real-tool parts can run.
 */
import { existsSync } from "node:fs";
import { createJiti } from "jiti";

const jiti = createJiti(import.meta.url);

/** createNamespace, linkNamespaces, uniqueName (see netns.ts). */
export async function netnsHelpers() {
  return jiti.import("../../packages/drivers/test/netns.ts");
}

const TOOLS = ["ip", "wg", "wireguard-go", "nft", "tc", "iperf3"];

/** Why the real-tool parts cannot run here, or null. */
export function realToolsSkipReason(tools = TOOLS) {
  if (process.platform !== "linux") return "not Linux";
  if (typeof process.getuid === "function" && process.getuid() !== 0) return "not root (network namespaces need root)";
  const path = (process.env.PATH ?? "").split(":").concat(["/usr/sbin", "/sbin", "/usr/bin", "/bin"]);
  const missing = tools.filter((tool) => !path.some((dir) => existsSync(`${dir}/${tool}`)));
  return missing.length > 0 ? `missing tools: ${missing.join(", ")}` : null;
}
