import { readFile } from "node:fs/promises";
import { dirname, isAbsolute, resolve } from "node:path";
import { parseStorageSpec, type StorageConfig } from "@vpncp/core";
import type { WhmcsBridgeOptions } from "./bridge.js";
import type { BridgeNode } from "./nodes.js";

/**
 * The bridge's JSON config file:
 * {
 *   "token": "…" | "tokenFile": "token.txt",
 *   "nodes": [{ "id": "fra-1", "url": "https://vpn1.example.com", "accessHash": "…" | "accessHashFile": "…",
 *               "region": "eu", "servers": ["Default_106"], "drain": false }],
 *   "storage": "redis:redis://127.0.0.1:6379" | { "driver": "fs", "options": { "base": "data" } },
 *   "listen": { "host": "127.0.0.1", "port": 8099 },
 *   "tls": { "cert": "cert.pem", "key": "key.pem" },
 *   "accountPrefix": "whmcs_", "regionField": "Region", "billedDirection": "total", "timeZone": "UTC",
 *   "timeoutMs": 10000, "retries": 2, "probeTimeoutMs": 3000
 * }
 * Relative paths are relative to the file. Files are read as given (trailing newline trimmed).
 */
export interface BridgeConfig {
  readonly token: string;
  readonly bridge: WhmcsBridgeOptions;
  readonly listen: { readonly host?: string | undefined; readonly port?: number | undefined };
  readonly tls?: { readonly cert: string; readonly key: string } | undefined;
}

type Json = Record<string, unknown>;

function fail(message: string): never {
  throw new Error(`bridge config: ${message}`);
}

const isObject = (value: unknown): value is Json => value !== null && typeof value === "object" && !Array.isArray(value);

function optionalString(object: Json, key: string, where: string): string | undefined {
  const value = object[key];
  if (value === undefined) return undefined;
  if (typeof value !== "string") fail(`${where}${key} must be a string`);
  return value;
}

function optionalNumber(object: Json, key: string): number | undefined {
  const value = object[key];
  if (value === undefined) return undefined;
  if (typeof value !== "number" || !Number.isFinite(value) || value < 0) fail(`${key} must be a number ≥ 0`);
  return value;
}

async function secret(object: Json, key: string, where: string, base: string): Promise<string | undefined> {
  const inline = optionalString(object, key, where);
  if (inline !== undefined) return inline;
  const file = optionalString(object, `${key}File`, where);
  if (file === undefined) return undefined;
  return (await readFile(isAbsolute(file) ? file : resolve(base, file), "utf8")).replace(/\r?\n$/, "");
}

/** Reads and checks the config file; the environment's VPNCP_BRIDGE_TOKEN wins over the file's token. */
export async function loadBridgeConfig(path: string, env: NodeJS.ProcessEnv = process.env): Promise<BridgeConfig> {
  const file = resolve(path);
  const base = dirname(file);
  let raw: unknown;
  try {
    raw = JSON.parse(await readFile(file, "utf8"));
  } catch (error) {
    fail(`cannot read ${file}: ${error instanceof Error ? error.message : String(error)}`);
  }
  if (!isObject(raw)) fail("the file must hold a JSON object");

  const token = env.VPNCP_BRIDGE_TOKEN || (await secret(raw, "token", "", base));
  if (!token || token.length < 16) fail("token (or tokenFile, or VPNCP_BRIDGE_TOKEN) of at least 16 characters is required");

  if (!Array.isArray(raw.nodes) || raw.nodes.length === 0) fail("nodes must list at least one vpncp node");
  const nodes: BridgeNode[] = [];
  for (const [index, entry] of raw.nodes.entries()) {
    const where = `nodes[${index}].`;
    if (!isObject(entry)) fail(`${where.slice(0, -1)} must be an object`);
    const id = optionalString(entry, "id", where);
    const url = optionalString(entry, "url", where);
    const accessHash = await secret(entry, "accessHash", where, base);
    if (!id || !url || !accessHash) fail(`${where}id, url and accessHash (or accessHashFile) are required`);
    const servers = entry.servers;
    if (servers !== undefined && (!Array.isArray(servers) || servers.some((s) => typeof s !== "string")))
      fail(`${where}servers must be a list of server names`);
    nodes.push({
      id,
      url,
      accessHash,
      region: optionalString(entry, "region", where),
      servers: servers as string[] | undefined,
      drain: entry.drain === true,
    });
  }

  let storage: StorageConfig;
  if (raw.storage === undefined) storage = { driver: "fs", options: { base: resolve(base, ".vpncp-bridge") } };
  else if (typeof raw.storage === "string") storage = parseStorageSpec(raw.storage);
  else if (isObject(raw.storage) && typeof raw.storage.driver === "string")
    storage = { driver: raw.storage.driver, options: isObject(raw.storage.options) ? raw.storage.options : {} };
  else fail('storage must be a spec string ("redis:redis://host:6379") or { "driver": …, "options": … }');
  if ((storage.driver === "fs" || storage.driver === "fs-atomic") && typeof storage.options?.base === "string")
    storage = { ...storage, options: { ...storage.options, base: resolve(base, storage.options.base) } };

  const billed = optionalString(raw, "billedDirection", "");
  if (billed !== undefined && billed !== "total" && billed !== "download" && billed !== "upload")
    fail("billedDirection must be total, download or upload");

  const listen = isObject(raw.listen) ? raw.listen : {};
  let tls: BridgeConfig["tls"];
  if (raw.tls !== undefined) {
    if (!isObject(raw.tls) || typeof raw.tls.cert !== "string" || typeof raw.tls.key !== "string")
      fail("tls must be { cert, key } (PEM file paths)");
    tls = { cert: resolve(base, raw.tls.cert), key: resolve(base, raw.tls.key) };
  }

  return {
    token,
    listen: { host: optionalString(listen, "host", "listen."), port: optionalNumber(listen, "port") },
    tls,
    bridge: {
      nodes,
      storage,
      accountPrefix: optionalString(raw, "accountPrefix", ""),
      regionField: optionalString(raw, "regionField", ""),
      billedDirection: billed as WhmcsBridgeOptions["billedDirection"],
      timeZone: optionalString(raw, "timeZone", ""),
      timeoutMs: optionalNumber(raw, "timeoutMs"),
      retries: optionalNumber(raw, "retries"),
      retryDelayMs: optionalNumber(raw, "retryDelayMs"),
      probeTimeoutMs: optionalNumber(raw, "probeTimeoutMs"),
    },
  };
}
