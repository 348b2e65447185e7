import "reflect-metadata";
import { resolve } from "node:path";
import { AccessHashService, createVpncpStorage, parseStorageSpec, systemClock } from "@vpncp/core";
import { defineCommand, runMain } from "citty";
import { accountCommand } from "./commands/account.js";
import { doctorCommand } from "./commands/doctor.js";
import { planCommand } from "./commands/plan.js";
import { withPluginCommands } from "./commands/plugin-commands.js";
import { reloadCommand } from "./commands/reload.js";
import { runServe } from "./commands/serve.js";
import { serverCommand } from "./commands/server.js";
import { exportCommand, importCommand } from "./commands/snapshot.js";
import { statsCommand } from "./commands/stats.js";
import { resolveSetting } from "./config/index.js";

const storageArgs = {
  "data-dir": { type: "string", description: "Data directory for the default file storage (env VPNCP_DATA_DIR; default .vpncp)" },
  storage: {
    type: "string",
    description: 'Any unstorage driver instead of files: "redis:redis://127.0.0.1:6379" or "redis:url=…,base=vpncp" (env VPNCP_STORAGE)',
  },
} as const;

async function hashStore(args: { "data-dir"?: string; storage?: string }): Promise<AccessHashService> {
  const spec = resolveSetting(args.storage, "VPNCP_STORAGE", undefined);
  const storage = await createVpncpStorage(
    spec
      ? parseStorageSpec(spec)
      : { driver: "fs", options: { base: resolve(resolveSetting(args["data-dir"], "VPNCP_DATA_DIR", undefined, ".vpncp")) } },
  );
  return new AccessHashService(storage, systemClock);
}

/** The environment variable of each serve setting: VPNCP_<KEY in UPPER_SNAKE>. */
const SERVE_ENV = {
  config: "VPNCP_CONFIG",
  port: "VPNCP_PORT",
  host: "VPNCP_HOST",
  dataDir: "VPNCP_DATA_DIR",
  storage: "VPNCP_STORAGE",
  drivers: "VPNCP_DRIVERS",
  publicUrl: "VPNCP_PUBLIC_URL",
  accessHash: "VPNCP_ACCESS_HASH",
  accountLimit: "VPNCP_ACCOUNT_LIMIT",
  netns: "VPNCP_NETNS",
  wanInterface: "VPNCP_WAN_INTERFACE",
  firewall: "VPNCP_FIREWALL",
  stateDir: "VPNCP_STATE_DIR",
  timezone: "VPNCP_TIMEZONE",
  trustProxy: "VPNCP_TRUST_PROXY",
  metricsToken: "VPNCP_METRICS_TOKEN",
} as const;

const serve = defineCommand({
  meta: { name: "serve", description: "Run the vpncp API server (the PUQVPN control-panel API v1)" },
  args: {
    config: {
      type: "string",
      description:
        "Configuration file: settings (the flags below in camelCase) and plugins (env VPNCP_CONFIG; default ./vpncp.config.{json,ts,js} when present). Flags and environment override it",
    },
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
    await runServe(args, SERVE_ENV);
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

runMain(withPluginCommands(main, SERVE_ENV));
