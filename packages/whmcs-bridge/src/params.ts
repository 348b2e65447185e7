/**
 * The `$params` array WHMCS hands every server-module function, as the PHP module forwards it
 * (json_encode). Names are WHMCS's own. PHP encodes an empty array as `[]`, so the maps
 * (configoptions, customfields, clientsdetails) may arrive as arrays.
 */
export interface WhmcsParams {
  readonly serviceid?: number | string;
  readonly userid?: number | string;
  readonly username?: string;
  readonly password?: string;
  readonly domain?: string;
  readonly pid?: number | string;
  readonly serverid?: number | string;
  /** Product module settings, in the order vpncp_ConfigOptions declares them. */
  readonly configoption1?: string | number;
  readonly configoption2?: string | number;
  readonly configoption3?: string | number;
  /** Configurable options of the order: option name → chosen value. */
  readonly configoptions?: Readonly<Record<string, unknown>> | readonly unknown[];
  /** Custom fields of the product: field name → value. */
  readonly customfields?: Readonly<Record<string, unknown>> | readonly unknown[];
  readonly clientsdetails?: Readonly<Record<string, unknown>> | readonly unknown[];
  readonly serverhostname?: string;
  readonly serverip?: string;
  readonly serverusername?: string;
  readonly serverpassword?: string;
  readonly serveraccesshash?: string;
  readonly serversecure?: boolean | string | number;
  readonly [key: string]: unknown;
}

/** What a WHMCS function answers: "success" or the sentence WHMCS shows the admin. */
export type WhmcsResult = "success" | (string & {});

/** A data function's answer (client area, admin tab, usage). */
export interface BridgeAnswer<T = unknown> {
  readonly result: WhmcsResult;
  readonly data?: T;
}

/** A sentence for WHMCS: thrown inside the bridge, returned as the function's answer. */
export class WhmcsError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "WhmcsError";
  }
}

/** The bandwidth options of the product, Mbit; 0 = the VPN server's default. */
export const BANDWIDTH_DOWNLOAD = "Bandwidth Download";
export const BANDWIDTH_UPLOAD = "Bandwidth Upload";
export const REGION = "Region";

function asMap(value: unknown): Readonly<Record<string, unknown>> {
  return value !== null && typeof value === "object" && !Array.isArray(value) ? (value as Record<string, unknown>) : {};
}

function given(value: unknown): string | undefined {
  if (value === undefined || value === null) return undefined;
  const text = String(value).trim();
  return text === "" ? undefined : text;
}

/** The service id: a positive whole number, as WHMCS numbers services. */
export function serviceIdOf(params: WhmcsParams): string {
  const id = given(params.serviceid);
  if (id === undefined || !/^[1-9]\d{0,18}$/.test(id)) throw new WhmcsError("The service has no valid id (serviceid)");
  return id;
}

/**
 * Mbit from the configurable option of that name, else the product setting (configoptionN),
 * else 0. Dropdown options may read "100" or "100 Mbit" (the value part of "100|100 Mbit"):
 * the leading number counts. Empty means 0, the server default.
 */
export function bandwidthOf(params: WhmcsParams, option: string, setting: "configoption1" | "configoption2"): number {
  const raw = given(asMap(params.configoptions)[option]) ?? given(params[setting]);
  if (raw === undefined) return 0;
  const match = /^(\d{1,9})(\s*(mbit(\/s)?|mbps|m))?$/i.exec(raw);
  if (!match) throw new WhmcsError(`${option} must be a whole number of Mbit (0 = the server default), got "${raw}"`);
  return Number(match[1]);
}

/** The region asked for: a configurable option, else a custom field, else the product setting (configoption3). */
export function regionOf(params: WhmcsParams, field: string = REGION): string | undefined {
  return given(asMap(params.configoptions)[field]) ?? given(asMap(params.customfields)[field]) ?? given(params.configoption3);
}

/** The service's password when WHMCS has one (the node generates one otherwise). */
export function passwordOf(params: WhmcsParams): string | undefined {
  return typeof params.password === "string" && params.password !== "" ? params.password : undefined;
}

/** The current month of an instant, as the statistics endpoint takes it. */
export function monthOf(now: Date, timeZone = "UTC"): { year: number; month: number } {
  const parts = new Intl.DateTimeFormat("en-CA", { timeZone, year: "numeric", month: "2-digit" }).formatToParts(now);
  const get = (type: string) => Number(parts.find((p) => p.type === type)?.value ?? "0");
  return { year: get("year"), month: get("month") };
}
