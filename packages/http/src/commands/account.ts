import { qrErrorCorrectionLevelFor } from "@vpncp/core";
import { defineCommand } from "citty";
import QRCode from "qrcode";
import type { Account, AccountCreate, AccountUpdate } from "../client/index.js";
import { apiFields, EXIT_CODES_HELP, required, targetArgs, UsageError, withOperator } from "./operator-context.js";
import { commandGroup, print, printJson, printRecord, table } from "./operator-output.js";

const nameArg = { name: { type: "positional", description: "Account name", required: false } } as const;

/** Fields of ADD and EDIT, named as the API names them (with dashes). */
const accountFields = {
  server: { type: "string", description: "WireGuard server of the account (wg_name)" },
  ip: { type: "string", description: "IPv4 address in the server's subnet (allowed_IPs; default: the first free one)" },
  ipv6: { type: "string", description: "IPv6 address (allowed_IPs_ipv6; default: derived from the IPv4 when the server has IPv6)" },
  username: { type: "string", description: "IKEv2 username (default user_N)" },
  password: { type: "string", description: "IKEv2 password (default: generated; a flag is visible to other local users in ps)" },
  "public-key": {
    type: "string",
    description: "The client's WireGuard public key, when it keeps its private key (default: a generated pair)",
  },
  download: { type: "string", description: "Download limit in Mbit/s, 0 = the server's default (b_download)" },
  upload: { type: "string", description: "Upload limit in Mbit/s, 0 = the server's default (b_upload)" },
  status: { type: "string", description: "enable or disable" },
} as const;

type FieldArgs = { [K in keyof typeof accountFields]?: string | undefined };

const API_NAMES: Record<keyof FieldArgs, string> = {
  server: "wg_name",
  ip: "allowed_IPs",
  ipv6: "allowed_IPs_ipv6",
  username: "username",
  password: "password",
  "public-key": "public_key",
  download: "b_download",
  upload: "b_upload",
  status: "status",
};

function accountInput(args: FieldArgs): AccountUpdate {
  return apiFields(args, API_NAMES) as AccountUpdate;
}

const ROW_HEAD = ["name", "server", "IPv4", "IPv6", "status", "down Mbit/s", "up Mbit/s", "username", "mark"];
const row = (a: Account) => [
  a.name,
  a.wg_name,
  a.allowed_IPs,
  a.allowed_IPs_ipv6,
  a.status,
  a.b_download,
  a.b_upload,
  a.username,
  a.mangle,
];

const list = defineCommand({
  meta: { name: "list", description: "List accounts (a page with --limit/--offset)" },
  args: {
    ...targetArgs,
    limit: { type: "string", description: "At most this many" },
    offset: { type: "string", description: "Skip this many first" },
  },
  run: ({ args }) =>
    withOperator(args, { write: false }, async ({ client }) => {
      const page = (value: string | undefined, flag: string) => {
        if (value === undefined) return undefined;
        if (!/^\d{1,9}$/.test(value)) throw new UsageError(`--${flag} must be a whole number, got ${JSON.stringify(value)}`);
        return Number(value);
      };
      const accounts = await client.listAccounts({ limit: page(args.limit, "limit"), offset: page(args.offset, "offset") });
      if (args.json) printJson(accounts);
      else print(accounts.length === 0 ? "no accounts" : table(ROW_HEAD, accounts.map(row)));
    }),
});

const show = defineCommand({
  meta: { name: "show", description: "Show one account (every field the API shows, keys and password included)" },
  args: { ...targetArgs, ...nameArg },
  run: ({ args }) =>
    withOperator(args, { write: false }, async ({ client }) => {
      printRecord(await client.getAccount(required(args.name, "the account NAME")), args.json);
    }),
});

const add = defineCommand({
  meta: { name: "add", description: "Add an account (--server is required; anything else left out is generated)" },
  args: { ...targetArgs, name: { type: "string", description: "Account name (default peer_N)" }, ...accountFields },
  run: ({ args }) =>
    withOperator(args, { write: true }, async ({ client }) => {
      const input = { ...accountInput(args), wg_name: required(args.server, "--server (the account's WireGuard server)") };
      const create: AccountCreate = typeof args.name === "string" ? { ...input, name: args.name } : input;
      printRecord(await client.createAccount(create), args.json);
    }),
});

const edit = defineCommand({
  meta: { name: "edit", description: "Change an account's fields (the name never changes)" },
  args: { ...targetArgs, ...nameArg, ...accountFields },
  run: ({ args }) =>
    withOperator(args, { write: true }, async ({ client }) => {
      const name = required(args.name, "the account NAME");
      const update = accountInput(args);
      if (Object.keys(update).length === 0) throw new UsageError("nothing to change: give at least one field (see --help)");
      printRecord(await client.updateAccount(name, update), args.json);
    }),
});

const remove = defineCommand({
  meta: { name: "delete", description: "Delete an account" },
  args: { ...targetArgs, ...nameArg },
  run: ({ args }) =>
    withOperator(args, { write: true }, async ({ client }) => {
      const name = required(args.name, "the account NAME");
      const result = await client.deleteAccount(name);
      if (args.json) printJson(result);
      else print(`deleted account ${name}`);
    }),
});

const config = defineCommand({
  meta: { name: "config", description: "Print the account's WireGuard client configuration (a .conf file)" },
  args: { ...targetArgs, ...nameArg },
  run: ({ args }) =>
    withOperator(args, { write: false }, async ({ client }) => {
      const text = await client.accountConfigText(required(args.name, "the account NAME"));
      if (args.json) printJson(text);
      else print(text);
    }),
});

const qr = defineCommand({
  meta: {
    name: "qr",
    description: "Draw the account's WireGuard configuration as a QR code in the terminal (--json: the API's PNG, base64)",
  },
  args: { ...targetArgs, ...nameArg },
  run: ({ args }) =>
    withOperator(args, { write: false }, async ({ client }) => {
      const name = required(args.name, "the account NAME");
      if (args.json) {
        printJson(await client.accountConfigQr(name));
        return;
      }
      const text = await client.accountConfigText(name);
      // the level the API's PNG uses: long configurations only fit at a lower one
      const level = qrErrorCorrectionLevelFor(text) ?? "L";
      print(await QRCode.toString(text, { type: "terminal", small: true, errorCorrectionLevel: level }));
    }),
});

const otl = defineCommand({
  meta: { name: "otl", description: "Create a one-time link to the account's configuration (shown once at that URL)" },
  args: { ...targetArgs, ...nameArg },
  run: ({ args }) =>
    withOperator(args, { write: true }, async ({ client }) => {
      const link = await client.accountOneTimeLink(required(args.name, "the account NAME"));
      if (args.json) printJson(link);
      else print(link);
    }),
});

export const accountCommand = commandGroup(
  {
    name: "account",
    description: `Accounts of a running vpncp (--url/--hash) or of a data directory (--data-dir). ${EXIT_CODES_HELP}`,
  },
  { list, show, add, edit, delete: remove, config, qr, otl },
);
