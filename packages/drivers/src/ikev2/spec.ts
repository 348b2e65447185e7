/**
 * What both IKEv2 drivers (strongSwan and the fake) accept, so that they refuse the same
 * input the same way: names charon can carry in connection and pool names, passwords
 * without control characters, plain addresses. Errors never quote a password.
 */
import { isIP } from "node:net";
import type { Ikev2ConnectionSpec, Ikev2State, Ikev2UserSpec } from "@vpncp/core";

/** Account usernames and server names: letters, digits, '_' and '-' (what the API allows). */
const NAME = /^[A-Za-z0-9_-]{1,64}$/;
// Printable characters only: a newline would end a swanctl.conf value early.
const CONTROL = /[\u0000-\u001f\u007f]/;

function fail(message: string): never {
  throw new Error(`[vpncp] [ikev2] ${message}`);
}

/** "10.0.105.18" or "10.0.105.18/32" (a single address) → "10.0.105.18"; null when not one address. */
export function singleAddress(value: string, family: 4 | 6): string | null {
  const [address = "", prefix] = value.trim().split("/");
  if (isIP(address) !== family) return null;
  if (prefix !== undefined && Number(prefix) !== (family === 4 ? 32 : 128)) return null;
  return address;
}

export function checkConnectionSpec(spec: Ikev2ConnectionSpec): void {
  if (!NAME.test(spec.name)) fail(`invalid connection name: ${JSON.stringify(spec.name)}`);
  if (spec.serverId.trim() === "" || CONTROL.test(spec.serverId)) fail(`connection ${spec.name}: invalid server id`);
  for (const address of spec.localAddrs)
    if (isIP(address) === 0) fail(`connection ${spec.name}: invalid local address ${JSON.stringify(address)}`);
  for (const dns of spec.dns) if (isIP(dns) === 0) fail(`connection ${spec.name}: invalid DNS server ${JSON.stringify(dns)}`);
  for (const ts of spec.localTs)
    if (!/^[0-9A-Fa-f.:]+(\/\d{1,3})?$/.test(ts)) fail(`connection ${spec.name}: invalid traffic selector ${JSON.stringify(ts)}`);
  if (spec.localTs.length === 0) fail(`connection ${spec.name}: no traffic selectors`);
  for (const pem of [spec.serverCertificatePem, spec.caCertificatePem]) {
    if (!pem.includes("-----BEGIN CERTIFICATE-----")) fail(`connection ${spec.name}: not a PEM certificate`);
  }
  // The key itself is never quoted.
  if (!/-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(spec.serverPrivateKeyPem)) fail(`connection ${spec.name}: not a PEM private key`);
}

export function checkUserSpec(user: Ikev2UserSpec): void {
  if (!NAME.test(user.username)) fail(`invalid username: ${JSON.stringify(user.username)}`);
  if (!NAME.test(user.connection)) fail(`user ${user.username}: invalid connection name`);
  if (user.password.length === 0) fail(`user ${user.username}: empty password`);
  if (CONTROL.test(user.password)) fail(`user ${user.username}: the password contains a control character`);
  if (Buffer.byteLength(user.password) > 255) fail(`user ${user.username}: the password is longer than 255 bytes`);
  if (singleAddress(user.ipv4, 4) === null) fail(`user ${user.username}: invalid IPv4 address ${JSON.stringify(user.ipv4)}`);
  if (user.ipv6 !== undefined && user.ipv6 !== "" && singleAddress(user.ipv6, 6) === null) {
    fail(`user ${user.username}: invalid IPv6 address ${JSON.stringify(user.ipv6)}`);
  }
}

/**
 * Checks a whole state: valid specs, unique connection names, users of known connections,
 * one entry per username (charon looks EAP secrets up by identity alone, so a username can
 * only have one password, and so one connection).
 */
export function checkIkev2State(state: Ikev2State): void {
  const connections = new Set<string>();
  for (const spec of state.connections) {
    checkConnectionSpec(spec);
    if (connections.has(spec.name)) fail(`duplicate connection: ${spec.name}`);
    connections.add(spec.name);
  }
  const usernames = new Set<string>();
  for (const user of state.users) {
    checkUserSpec(user);
    if (!connections.has(user.connection)) fail(`user ${user.username}: unknown connection ${user.connection}`);
    if (usernames.has(user.username)) fail(`duplicate username: ${user.username}`);
    usernames.add(user.username);
  }
}
