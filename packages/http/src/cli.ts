import "reflect-metadata";
import { resolve } from "node:path";
import { AccessHashService, createVpncpStorage, parseStorageSpec, systemClock } from "@vpncp/core";
import { fakeDriversModule, systemDriversModule } from "@vpncp/drivers";
import { defineCommand, runMain } from "citty";
import { accountCommand } from "./commands/account.js";
import { doctorCommand } from "./commands/doctor.js";
import { planCommand } from "./commands/plan.js";
import { reloadCommand } from "./commands/reload.js";
import { serverCommand } from "./commands/server.js";
import { exportCommand, importCommand } from "./commands/snapshot.js";
import { statsCommand } from "./commands/stats.js";
import { parseTrustedProxies } from "./client-address.js";
import { jsonLogger } from "./logger.js";
import { startServer } from "./serve.js";

const env = process.env;

/** A flag's value, else the environment variable of the same meaning, else the default. */
function pick(flag: unknown, name: string, fallback?: string): string | undefined {
  if (typeof flag === "string" && flag !== "") return flag;
  const fromEnv = env[name];
  return fromEnv !== undefined && fromEnv !== "" ? fromEnv : fallback;
}

function integer(value: string | undefined, what: string): number | undefined {
  if (value === undefined) return undefined;
  if (!/^\d+$/.test(value)) throw new Error(`${what} must be a number, got ${JSON.stringify(value)}`);
  return Number(value);
}

/** `--trust-proxy` / VPNCP_TRUST_PROXY; a bare `--trust-proxy` is "true" (loopback only). */
function trustProxySetting(flag: unknown): string | undefined {
  const value = flag === true || flag === "" ? "true" : pick(flag, "VPNCP_TRUST_PROXY");
  if (value !== undefined) parseTrustedProxies(value);
  return value;
}

const storageArgs = {
  "data-dir": { type: "string", description: "Data directory for the default file storage (env VPNCP_DATA_DIR; default .vpncp)" },
  storage: {
    type: "string",
    description: 'Any unstorage driver instead of files: "redis:redis://127.0.0.1:6379" or "redis:url=…,base=vpncp" (env VPNCP_STORAGE)',
  },
} as const;

async function hashStore(args: { "data-dir"?: string; storage?: string }): Promise<AccessHashService> {
  const spec = pick(args.storage, "VPNCP_STORAGE");
  const storage = await createVpncpStorage(
    spec ? parseStorageSpec(spec) : { driver: "fs", options: { base: resolve(pick(args["data-dir"], "VPNCP_DATA_DIR", ".vpncp")!) } },
  );
  return new AccessHashService(storage, systemClock);
}

const serve = defineCommand({
  meta: { name: "serve", description: "Run the vpncp API server (the PUQVPN control-panel API v1)" },
  args: {
    port: { type: "string", description: "Port to listen on (env VPNCP_PORT; default 8098)" },
    host: { type: "string", description: "Address to listen on (env VPNCP_HOST; default 127.0.0.1)" },
    ...storageArgs,
    drivers: {
      type: "string",
      description:
        "fake: in-memory drivers, nothing touches the system (default); system: wg, nftables/iptables, tc, strongSwan (env VPNCP_DRIVERS)",
    },
    "public-url": { type: "string", description: "Base URL of one-time links, e.g. https://vpn.example.com (env VPNCP_PUBLIC_URL)" },
    "access-hash": {
      type: "string",
      description: "Make sure this 80-hex access hash exists, valid from any address; for automation (env VPNCP_ACCESS_HASH)",
    },
    "account-limit": {
      type: "string",
      description: "Maximum number of accounts (env VPNCP_ACCOUNT_LIMIT; default: what the machine can hold)",
    },
    netns: { type: "string", description: "Run every system command inside this network namespace (env VPNCP_NETNS)" },
    "wan-interface": { type: "string", description: "Uplink interface for NAT (env VPNCP_WAN_INTERFACE; default: any non-VPN interface)" },
    firewall: { type: "string", description: "Firewall driver with --drivers system: nftables (default) or iptables (env VPNCP_FIREWALL)" },
    "state-dir": { type: "string", description: "Runtime directory of the system drivers (env VPNCP_STATE_DIR; default <data-dir>/run)" },
    timezone: { type: "string", description: "IANA timezone of traffic statistics days (env VPNCP_TIMEZONE; default the host's)" },
    "trust-proxy": {
      type: "string",
      description:
        'Proxies whose X-Forwarded-For gives the client address, e.g. "127.0.0.1,10.0.0.0/8"; "1" or "true": loopback only. From other peers the header is ignored (env VPNCP_TRUST_PROXY)',
    },
    "metrics-token": { type: "string", description: "Bearer token for GET /metrics besides access hashes (env VPNCP_METRICS_TOKEN)" },
  },
  async run({ args }) {
    const logger = jsonLogger();
    const dataDir = resolve(pick(args["data-dir"], "VPNCP_DATA_DIR", ".vpncp")!);
    const driversName = pick(args.drivers, "VPNCP_DRIVERS", "fake");
    const firewall = pick(args.firewall, "VPNCP_FIREWALL", "nftables");
    if (driversName !== "fake" && driversName !== "system") throw new Error(`--drivers must be fake or system, got ${driversName}`);
    if (firewall !== "nftables" && firewall !== "iptables") throw new Error(`--firewall must be nftables or iptables, got ${firewall}`);
    const wanInterface = pick(args["wan-interface"], "VPNCP_WAN_INTERFACE");
    const drivers =
      driversName === "fake"
        ? fakeDriversModule()
        : systemDriversModule({
            netns: pick(args.netns, "VPNCP_NETNS"),
            firewall,
            stateDir: resolve(pick(args["state-dir"], "VPNCP_STATE_DIR", `${dataDir}/run`)!),
            logger,
          });
    const server = await startServer({
      port: integer(pick(args.port, "VPNCP_PORT", "8098"), "--port")!,
      host: pick(args.host, "VPNCP_HOST", "127.0.0.1")!,
      dataDir,
      storage: pick(args.storage, "VPNCP_STORAGE"),
      drivers,
      publicUrl: pick(args["public-url"], "VPNCP_PUBLIC_URL"),
      accessHash: pick(args["access-hash"], "VPNCP_ACCESS_HASH"),
      accountLimit: integer(pick(args["account-limit"], "VPNCP_ACCOUNT_LIMIT"), "--account-limit"),
      wanInterface,
      timezone: pick(args.timezone, "VPNCP_TIMEZONE"),
      // checked here, so a typo stops the start instead of trusting nobody (or everybody)
      trustProxy: trustProxySetting(args["trust-proxy"]),
      metricsToken: pick(args["metrics-token"], "VPNCP_METRICS_TOKEN"),
      logger,
    });
    let stopping = false;
    const stop = async (signal: string) => {
      if (stopping) return;
      stopping = true;
      logger.info("shutting down", { signal });
      await server.close();
      process.exit(0);
    };
    process.on("SIGTERM", () => void stop("SIGTERM"));
    process.on("SIGINT", () => void stop("SIGINT"));
    // announced only once a stop signal is handled: a supervisor may stop it right after this line
    process.stdout.write(`vpncp: listening on ${server.url} (drivers: ${driversName}, data: ${dataDir})\n`);
  },
});

const hash = defineCommand({
  meta: { name: "hash", description: "Manage access hashes (the access_hash cookie) offline" },
  subCommands: {
    create: defineCommand({
      meta: { name: "create", description: "Create an access hash and print it once" },
      args: { ...storageArgs, ip: { type: "string", description: "Client address the hash is valid from (default: any)" } },
      async run({ args }) {
        const store = await hashStore(args);
        const { hash: value, entry } = await store.create({ ip: args.ip ?? null });
        process.stdout.write(`${value}\n`);
        process.stderr.write(`id ${entry.id}, valid from ${entry.ip ?? "any address"}\n`);
      },
    }),
    list: defineCommand({
      meta: { name: "list", description: "List access hashes (ids and addresses; the hashes themselves are not stored)" },
      args: { ...storageArgs },
      async run({ args }) {
        const store = await hashStore(args);
        for (const entry of await store.list()) process.stdout.write(`${entry.id}\t${entry.ip ?? "any"}\t${entry.createdAt}\n`);
      },
    }),
    delete: defineCommand({
      meta: { name: "delete", description: "Delete an access hash by its id (from `hash list`)" },
      args: { ...storageArgs, id: { type: "positional", description: "The id shown by `hash list`", required: true } },
      async run({ args }) {
        const store = await hashStore(args);
        const removed = await store.delete(String(args.id));
        if (removed === 0) {
          process.stderr.write(`no access hash with id ${args.id}\n`);
          process.exitCode = 1;
        } else process.stdout.write(`deleted ${removed}\n`);
      },
    }),
  },
});

// loaded lazily: @vpncp/whmcs-bridge depends on this package, so a static import would be circular
const bridge = () => import("@vpncp/whmcs-bridge" as string).then((m) => m.bridgeCommand);

const main = defineCommand({
  meta: {
    name: "vpncp",
    version: "0.1.0",
    description: "vpncp: a VPN control panel (WireGuard + IKEv2) speaking the PUQVPN control-panel API v1",
  },
  subCommands: {
    serve,
    hash,
    bridge,
    plan: planCommand,
    doctor: doctorCommand,
    account: accountCommand,
    server: serverCommand,
    stats: statsCommand,
    reload: reloadCommand,
    export: exportCommand,
    import: importCommand,
  },
});

runMain(main);
