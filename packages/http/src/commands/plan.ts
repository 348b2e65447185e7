/**
 * `vpncp plan`: the exact commands (nft/tc/ip batches, wg, vici messages) the system drivers
 * would run to make the kernel match storage, without changing anything. It runs the real
 * drivers' reload — what `vpncp serve` does at every start — against a RecordingRunner:
 * read-only queries see the live system (in --netns), everything else is recorded. Secrets
 * are printed as labels ("<private key of server s1>").
 *
 * Also the settings and the read-only storage that `vpncp doctor` shares.
 */
import "reflect-metadata";
import { existsSync, readFileSync } from "node:fs";
import { mkdir, mkdtemp, rm } from "node:fs/promises";
import { createServer, type Server } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import {
  type CommandRunner,
  createVpncp,
  createVpncpStorage,
  type DriverSet,
  Ikev2Settings,
  Inventory,
  parseStorageSpec,
  type Vpncp,
} from "@vpncp/core";
import {
  charonAnswers,
  connectVici,
  ExecaRunner,
  formatPlannedStep,
  IptablesFirewall,
  NftablesFirewall,
  type PlannedStep,
  RecordingRunner,
  StrongSwanDriver,
  TcShaper,
  WireGuardToolsDriver,
} from "@vpncp/drivers";
import { defineCommand } from "citty";
import { createStorage, type Storage } from "unstorage";
import { envNameOf, loadConfig, resolveSetting } from "../config/index.js";

/** The flags that say where storage and the system are, as `vpncp serve` has them. */
export const systemArgs = {
  config: { type: "string", description: "Configuration file (env VPNCP_CONFIG; default ./vpncp.config.{json,ts,js} when present)" },
  "data-dir": { type: "string", description: "Data directory (env VPNCP_DATA_DIR; default .vpncp)" },
  storage: {
    type: "string",
    description: 'Any unstorage driver instead of files, e.g. "redis:redis://127.0.0.1:6379" (env VPNCP_STORAGE)',
  },
  netns: { type: "string", description: "Network namespace the system commands run in (env VPNCP_NETNS)" },
  firewall: { type: "string", description: "nftables (default) or iptables (env VPNCP_FIREWALL)" },
  "state-dir": {
    type: "string",
    description: "Runtime directory of vpncp serve's system drivers (env VPNCP_STATE_DIR; default <data-dir>/run)",
  },
  "wan-interface": { type: "string", description: "Uplink interface for NAT (env VPNCP_WAN_INTERFACE)" },
  json: { type: "boolean", description: "Print JSON (for scripts)" },
} as const;

export interface SystemSettings {
  readonly dataDir: string;
  readonly storage: string | undefined;
  readonly netns: string | undefined;
  readonly firewall: "nftables" | "iptables";
  readonly stateDir: string;
  readonly wanInterface: string | undefined;
  /** Where a running vpncp answers (config `url`, VPNCP_URL), and its access hash. */
  readonly url: string | undefined;
  readonly accessHash: string | undefined;
}

type SystemArgs = { [K in keyof typeof systemArgs]?: unknown };

/** Flag > environment > configuration file > default, as `vpncp serve` resolves them. */
export async function resolveSystemSettings(args: SystemArgs & { url?: unknown; hash?: unknown }): Promise<SystemSettings> {
  const configPath = resolveSetting(args.config, "VPNCP_CONFIG", undefined);
  const { config } = await loadConfig({ configPath });
  const setting = (flag: unknown, key: keyof typeof config, fallback?: string) =>
    resolveSetting(flag, envNameOf(key), config[key] as string | undefined, fallback);
  const dataDir = resolve(setting(args["data-dir"], "dataDir", ".vpncp")!);
  const firewall = setting(args.firewall, "firewall", "nftables");
  if (firewall !== "nftables" && firewall !== "iptables") throw new Error(`--firewall must be nftables or iptables, got ${firewall}`);
  return {
    dataDir,
    storage: setting(args.storage, "storage"),
    netns: setting(args.netns, "netns"),
    firewall,
    stateDir: resolve(setting(args["state-dir"], "stateDir", `${dataDir}/run`)!),
    wanInterface: setting(args["wan-interface"], "wanInterface"),
    url: setting(args.url, "url"),
    accessHash: setting(args.hash, "accessHash"),
  };
}

/** Storage whose writes stay in memory: planning and checking never change what is stored. */
export async function readOnlyStorage(settings: SystemSettings): Promise<Storage> {
  if (!settings.storage && !existsSync(settings.dataDir)) throw new Error(`no data directory at ${settings.dataDir}`);
  const base = await createVpncpStorage(
    settings.storage ? parseStorageSpec(settings.storage) : { driver: "fs", options: { base: settings.dataDir } },
  );
  const written = new Map<string, unknown>();
  return createStorage({
    driver: {
      name: "read-only",
      hasItem: async (key) => (written.has(key) ? written.get(key) !== null : base.hasItem(key)),
      getItem: async (key) => (written.has(key) ? written.get(key) : base.getItem(key)),
      setItem: async (key, value) => {
        written.set(key, value);
      },
      removeItem: async (key) => {
        written.set(key, null);
      },
      getKeys: async (prefix) => {
        const keys = new Set(await base.getKeys(prefix));
        for (const [key, value] of written) {
          if (value === null) keys.delete(key);
          else if (!prefix || key.startsWith(prefix)) keys.add(key);
        }
        return [...keys];
      },
      clear: async () => {},
      dispose: () => base.dispose(),
    },
  });
}

/** Labels for every secret in storage, so none is printed. */
function secretsOf(vpncp: Vpncp): Map<string, string> {
  const secrets = new Map<string, string>();
  const inventory = vpncp.container.get(Inventory);
  for (const server of inventory.servers()) secrets.set(server.privateKey, `<private key of server ${server.name}>`);
  for (const account of inventory.accounts()) {
    secrets.set(account.privateKey, `<private key of account ${account.name}>`);
    if (account.password) secrets.set(account.password, `<EAP password of ${account.username}>`);
  }
  const certificates = vpncp.container.get(Ikev2Settings).certificates();
  if (certificates) {
    secrets.set(certificates.serverPrivateKeyPem.trim(), "<private key of the IKEv2 server certificate>");
    secrets.set(certificates.serverCertificatePem.trim(), "<IKEv2 server certificate>");
    secrets.set(certificates.caCertificatePem.trim(), "<IKEv2 CA certificate>");
  }
  return secrets;
}

/** The TUN device charon's kernel-libipsec made, from the log of the charon vpncp serve started. */
function tunnelFromLog(stateDir: string): string | null {
  try {
    const text = readFileSync(join(stateDir, "strongswan", "charon.log"), "utf8");
    return [...text.matchAll(/created TUN device: ([A-Za-z0-9_.-]{1,15})$/gm)].at(-1)?.[1] ?? null;
  } catch {
    return null;
  }
}

export interface Plan {
  readonly netns: string | null;
  /** Whether vpncp serve's charon answers (else the plan starts one, as serve would). */
  readonly charonRunning: boolean;
  readonly steps: readonly PlannedStep[];
}

/** Records what a reload would run; changes nothing (driver state goes to temporary directories). */
export async function recordPlan(settings: SystemSettings, options: { reader?: CommandRunner } = {}): Promise<Plan> {
  const storage = await readOnlyStorage(settings);
  const scratch = await mkdtemp(join(tmpdir(), "vpncp-plan-"));
  const sockets: Server[] = [];
  const viciUri = `unix://${join(settings.stateDir, "strongswan", "charon.vici")}`;
  const charonRunning = await charonAnswers(viciUri);
  const tunnel = charonRunning ? tunnelFromLog(settings.stateDir) : "ipsec0";
  const socketDir = join(scratch, "wireguard");
  const runner = new RecordingRunner({
    reader: options.reader ?? new ExecaRunner({ netns: settings.netns ?? null }),
    ...(tunnel ? { assumeLinks: [tunnel] } : {}),
    // a new wireguard-go is waited for on its UAPI socket: one stands in for it
    onSpawn: (file, args) => {
      if (!file.endsWith("wireguard-go") || !args[0]) return;
      const server = createServer((socket) => socket.destroy()).listen(join(socketDir, `${args[0]}.sock`));
      sockets.push(server);
    },
  });
  const ikev2Runner = runner.forDriver("ikev2");
  if (!charonRunning) {
    // vpncp serve starts its own charon before it loads anything into it
    ikev2Runner.spawn("/usr/sbin/charon-systemd", [], {
      env: { STRONGSWAN_CONF: join(settings.stateDir, "strongswan", "strongswan.conf") },
    });
  }
  await mkdir(socketDir, { recursive: true });
  const drivers: DriverSet = {
    wireguard: new WireGuardToolsDriver({
      runner: runner.forDriver("wireguard"),
      implementation: existsSync("/sys/module/wireguard") ? "kernel" : "userspace",
      socketDir,
      tempDir: scratch,
    }),
    firewall:
      settings.firewall === "iptables"
        ? new IptablesFirewall({ runner: runner.forDriver("firewall"), variant: "nft" })
        : new NftablesFirewall({ runner: runner.forDriver("firewall") }),
    shaper: new TcShaper({ runner: runner.forDriver("shaper") }),
    ikev2: new StrongSwanDriver({
      runner: ikev2Runner,
      stateDir: join(scratch, "strongswan"),
      mode: "external",
      viciUri,
      connectVici: ikev2Runner.viciConnector(charonRunning ? connectVici : undefined),
      ...(tunnel ? { tunnelInterface: tunnel } : {}),
    }),
  };
  let vpncp: Vpncp | null = null;
  try {
    vpncp = await createVpncp({ drivers, storage, wanInterface: settings.wanInterface, reload: false });
    runner.setSecrets(secretsOf(vpncp));
    await vpncp.reload();
    return { netns: runner.netns, charonRunning, steps: [...runner.steps] };
  } finally {
    await vpncp?.close();
    for (const server of sockets) server.close();
    await rm(scratch, { recursive: true, force: true });
  }
}

export function formatPlan(plan: Plan): string {
  const out = [
    `# vpncp plan: what a reload would run${plan.netns ? ` in network namespace ${plan.netns} (ip netns exec ${plan.netns} …)` : ""}`,
    "# secrets are shown as <labels>; nothing has been changed",
  ];
  let driver = "";
  for (const step of plan.steps) {
    if (step.driver !== driver) {
      driver = step.driver;
      out.push("", `# ${driver}`);
    }
    out.push(formatPlannedStep(step));
  }
  if (plan.steps.length === 0) out.push("", "# nothing to run");
  return `${out.join("\n")}\n`;
}

export const planCommand = defineCommand({
  meta: { name: "plan", description: "Print the commands the system drivers would run to make the kernel match storage (changes nothing)" },
  args: { ...systemArgs },
  async run({ args }) {
    const plan = await recordPlan(await resolveSystemSettings(args));
    process.stdout.write(args.json ? `${JSON.stringify(plan, null, 2)}\n` : formatPlan(plan));
  },
});
