import { type ErrorCode, VpncpError } from "../errors.js";
import type { AccountStatus } from "../model/records.js";

/** A value as it arrives from a form, JSON or a library call. */
export type InputValue = string | number | boolean | null | undefined;

const NAME_RE = /^[A-Za-z0-9_-]{1,64}$/;
// Printable ASCII without space, quotes (" and ') and backslash: safe in swanctl.conf, URLs and shells when quoted.
const PASSWORD_RE = /^[!#-&(-[\]-~]{1,128}$/;

export function isGiven(value: InputValue): value is string | number | boolean {
  return value !== undefined && value !== null && !(typeof value === "string" && value.trim() === "");
}

export function text(value: InputValue): string {
  return typeof value === "string" ? value.trim() : String(value ?? "");
}

/** A server, account or user name as the pages allow it. */
export function isName(value: string): boolean {
  return NAME_RE.test(value);
}

export function isPassword(value: string): boolean {
  return PASSWORD_RE.test(value);
}

export function checkName(value: InputValue, code: ErrorCode): string {
  const name = text(value);
  if (!isName(name)) throw new VpncpError(code);
  return name;
}

export function checkPassword(value: InputValue): string {
  // not trimmed: a password is what was given, byte for byte
  const password = typeof value === "string" ? value : String(value ?? "");
  if (!isPassword(password)) throw new VpncpError("WRONG_PASSWORD");
  return password;
}

export function checkInteger(value: InputValue, min: number, max: number, code: ErrorCode): number {
  const raw = typeof value === "number" ? String(value) : text(value);
  if (!/^-?\d{1,16}$/.test(raw)) throw new VpncpError(code);
  const number = Number(raw);
  if (!Number.isSafeInteger(number) || number < min || number > max) throw new VpncpError(code);
  return number;
}

export function checkBandwidth(value: InputValue, code: "WRONG_DOWNLOAD" | "WRONG_UPLOAD"): number {
  return checkInteger(value, 0, 10_000, code);
}

export function checkStatus(value: InputValue): AccountStatus {
  const status = text(value);
  if (status !== "enable" && status !== "disable") throw new VpncpError("WRONG_STATUS");
  return status;
}

const TRUE = new Set(["1", "true", "on", "yes", "enable", "enabled"]);
const FALSE = new Set(["0", "false", "off", "no", "disable", "disabled"]);

export function checkBoolean(value: InputValue): boolean {
  if (typeof value === "boolean") return value;
  const word = text(value).toLowerCase();
  if (TRUE.has(word)) return true;
  if (FALSE.has(word)) return false;
  throw new VpncpError("WRONG_BOOLEAN");
}

const HOSTNAME_RE = /^(?=.{1,253}$)([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*\.?$/;

export function isHostname(value: string): boolean {
  return HOSTNAME_RE.test(value);
}
