/**
 * `vpncp doctor [--fix]`: compares what the kernel (and charon) holds with storage and names
 * each difference on its own line (`--json` for scripts); exit 0 when there is none, 1 when
 * there is drift. `--fix` applies the plan — a reload, by the running vpncp when its URL and
 * access hash are known (so its daemons and caches stay its own), else from this process —
 * and checks again.
 */
import "reflect-metadata";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createVpncp, Doctor, type Drift } from "@vpncp/core";
import { systemDriversModule } from "@vpncp/drivers";
import { defineCommand } from "citty";
import { VpncpClient } from "../client/index.js";
import { readOnlyStorage, resolveSystemSettings, type SystemSettings, systemArgs } from "./plan.js";

/** The system drivers as `vpncp serve` has them, reaching its charon over its vici socket; `run` gets a vpncp on them. */
async function withSystem<T>(settings: SystemSettings, options: { reload: boolean }, run: (doctor: Doctor) => Promise<T>): Promise<T> {
  // the drivers' own runtime files go to a scratch directory: serve's stay as they are
  const scratch = await mkdtemp(join(tmpdir(), "vpncp-doctor-"));
  try {
    const vpncp = await createVpncp({
      drivers: systemDriversModule({
        netns: settings.netns,
        firewall: settings.firewall,
        stateDir: scratch,
        ikev2Mode: "external",
        viciUri: `unix://${join(settings.stateDir, "strongswan", "charon.vici")}`,
      }),
      storage: await readOnlyStorage(settings),
      wanInterface: settings.wanInterface,
      reload: options.reload,
    });
    try {
      return await run(vpncp.container.get(Doctor));
    } finally {
      await vpncp.close();
    }
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}

/** Every difference between storage and the system (each seen by two reads in a row). */
export function checkSystem(settings: SystemSettings): Promise<Drift[]> {
  return withSystem(settings, { reload: false }, (doctor) => doctor.check({ confirm: true }));
}

/** Applies the stored state: through the running vpncp when it can be reached, else here. */
async function fixSystem(settings: SystemSettings): Promise<string> {
  if (settings.url) {
    if (!settings.accessHash) throw new Error("--fix through a running vpncp needs its access hash (--hash or VPNCP_ACCESS_HASH)");
    await new VpncpClient({ baseUrl: settings.url, accessHash: settings.accessHash, timeoutMs: 300_000 }).systemReload();
    return `reloaded by the vpncp at ${settings.url}`;
  }
  await withSystem(settings, { reload: true }, async () => undefined);
  return "reloaded from this process (no --url: daemons it starts, wireguard-go and charon, end with it; vpncp serve starts its own)";
}

function formatDrift(drift: readonly Drift[]): string {
  return drift.length === 0 ? "no differences: the system matches storage\n" : `${drift.map((d) => d.message).join("\n")}\n`;
}

export const doctorCommand = defineCommand({
  meta: {
    name: "doctor",
    description: "Compare the kernel's state (interfaces, peers, marks, NAT, classes, EAP secrets) with storage; exit 1 on drift",
  },
  args: {
    ...systemArgs,
    fix: { type: "boolean", description: "Apply the plan (a reload) and check again" },
    url: { type: "string", description: "URL of the running vpncp that --fix asks to reload (env VPNCP_URL; config url)" },
    // the same flag as the operator commands (`vpncp account … --hash`)
    hash: { type: "string", alias: ["access-hash"], description: "Its access hash (env VPNCP_ACCESS_HASH; config accessHash)" },
  },
  async run({ args }) {
    const settings = await resolveSystemSettings(args);
    const before = await checkSystem(settings);
    if (!args.fix || before.length === 0) {
      process.stdout.write(args.json ? `${JSON.stringify({ clean: before.length === 0, drift: before }, null, 2)}\n` : formatDrift(before));
      process.exitCode = before.length === 0 ? 0 : 1;
      return;
    }
    const how = await fixSystem(settings);
    const after = await checkSystem(settings);
    if (args.json) {
      process.stdout.write(`${JSON.stringify({ clean: after.length === 0, drift: after, fixed: before, how }, null, 2)}\n`);
    } else {
      process.stdout.write(`${before.map((d) => `found: ${d.message}`).join("\n")}\n${how}\n${formatDrift(after)}`);
    }
    process.exitCode = after.length === 0 ? 0 : 1;
  },
});
