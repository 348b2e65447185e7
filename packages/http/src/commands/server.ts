import { defineCommand } from "citty";
import type { WireguardServerCreate, WireguardServerUpdate } from "../client/index.js";
import { apiFields, EXIT_CODES_HELP, required, targetArgs, UsageError, withOperator } from "./operator-context.js";
import { commandGroup, print, printJson, printRecord, table } from "./operator-output.js";

const nameArg = { name: { type: "positional", description: "Server name", required: false } } as const;

/** Fields PUT may change, named as the API names them (with dashes). */
const serverFields = {
  port: { type: "string", description: "UDP listen port (listen_port; default: the first free from 51820)" },
  address: { type: "string", description: "Server address with prefix, e.g. 10.0.110.1/24 (default: a free /24 of 10.0.0.0/8)" },
  ipv6: { type: "string", description: "1/0: give accounts IPv6 addresses too" },
  "address-ipv6": { type: "string", description: "Server IPv6 address with prefix (default: a free /64 of fd00::/48)" },
  "external-ip": { type: "string", description: "Address NAT and client configurations use (default: the host's)" },
  endpoint: { type: "string", description: "What clients dial instead of the external IP (address or domain)" },
  dns1: { type: "string", description: "First DNS server of client configurations" },
  dns2: { type: "string", description: "Second DNS server" },
  "dns1-ipv6": { type: "string", description: "First IPv6 DNS server" },
  "dns2-ipv6": { type: "string", description: "Second IPv6 DNS server" },
  mtu: { type: "string", description: "MTU of client configurations, 1280–9000 (0: the tools' default)" },
  "keep-alive": { type: "string", description: "PersistentKeepalive seconds of client configurations (0: off)" },
  "allowed-ips": { type: "string", description: "Comma-separated CIDRs clients route through the tunnel (default 0.0.0.0/0)" },
  "internal-traffic": { type: "string", description: "1/0: let accounts of this server reach each other" },
  ikev2: { type: "string", description: "1/0: accept IKEv2 logins of this server's accounts" },
  download: { type: "string", description: "Default download limit of its accounts in Mbit/s (0: none)" },
  upload: { type: "string", description: "Default upload limit of its accounts in Mbit/s (0: none)" },
} as const;

type FieldArgs = { [K in keyof typeof serverFields]?: string | undefined };

const API_NAMES: Record<keyof FieldArgs, string> = {
  port: "listen_port",
  address: "address",
  ipv6: "ipv6",
  "address-ipv6": "address_ipv6",
  "external-ip": "external_ip",
  endpoint: "endpoint",
  dns1: "dns_1",
  dns2: "dns_2",
  "dns1-ipv6": "dns_1_ipv6",
  "dns2-ipv6": "dns_2_ipv6",
  mtu: "mtu",
  "keep-alive": "keep_alive",
  "allowed-ips": "allowed_ips",
  "internal-traffic": "internal_traffic",
  ikev2: "ikev2",
  download: "b_download",
  upload: "b_upload",
};

function serverInput(args: FieldArgs): WireguardServerUpdate {
  return apiFields(args, API_NAMES) as WireguardServerUpdate;
}

const list = defineCommand({
  meta: { name: "list", description: "List WireGuard servers (--json: the API's object keyed by name)" },
  args: { ...targetArgs },
  run: ({ args }) =>
    withOperator(args, { write: false }, async ({ client }) => {
      const servers = await client.listWireguardServers();
      if (args.json) {
        printJson(servers);
        return;
      }
      const rows = Object.values(servers).map((s) => [
        s.name,
        s.interface_name,
        s.listen_port,
        s.address,
        s.address_ipv6,
        s.endpoint,
        s.ikev2 ? "yes" : "no",
        s.b_download,
        s.b_upload,
      ]);
      print(
        rows.length === 0
          ? "no servers"
          : table(["name", "interface", "port", "address", "IPv6 address", "endpoint", "IKEv2", "down Mbit/s", "up Mbit/s"], rows),
      );
    }),
});

const show = defineCommand({
  meta: { name: "show", description: "Show one WireGuard server (private key included)" },
  args: { ...targetArgs, ...nameArg },
  run: ({ args }) =>
    withOperator(args, { write: false }, async ({ client }) => {
      printRecord(await client.getWireguardServer(required(args.name, "the server NAME")), args.json);
    }),
});

const add = defineCommand({
  meta: { name: "add", description: "Add a WireGuard server (every field optional; what is left out is generated unique)" },
  args: {
    ...targetArgs,
    name: { type: "string", description: "Server name (default: its interface name)" },
    interface: { type: "string", description: "Interface name wgN (default: the first free)" },
    ...serverFields,
  },
  run: ({ args }) =>
    withOperator(args, { write: true }, async ({ client }) => {
      const input: WireguardServerCreate = {
        ...serverInput(args),
        ...(typeof args.name === "string" && { name: args.name }),
        ...(typeof args.interface === "string" && { interface_name: args.interface }),
      };
      printRecord(await client.createWireguardServer(input), args.json);
    }),
});

const edit = defineCommand({
  meta: { name: "edit", description: "Change a WireGuard server (name, interface and keys stay)" },
  args: { ...targetArgs, ...nameArg, ...serverFields },
  run: ({ args }) =>
    withOperator(args, { write: true }, async ({ client }) => {
      const name = required(args.name, "the server NAME");
      const update = serverInput(args);
      if (Object.keys(update).length === 0) throw new UsageError("nothing to change: give at least one field (see --help)");
      printRecord(await client.updateWireguardServer(name, update), args.json);
    }),
});

const remove = defineCommand({
  meta: { name: "delete", description: "Delete a WireGuard server (refused while it has accounts)" },
  args: { ...targetArgs, ...nameArg },
  run: ({ args }) =>
    withOperator(args, { write: true }, async ({ client }) => {
      const name = required(args.name, "the server NAME");
      const result = await client.deleteWireguardServer(name);
      if (args.json) printJson(result);
      else print(`deleted server ${name}`);
    }),
});

export const serverCommand = commandGroup(
  {
    name: "server",
    description: `WireGuard servers of a running vpncp (--url/--hash) or of a data directory (--data-dir). ${EXIT_CODES_HELP}`,
  },
  { list, show, add, edit, delete: remove },
);
