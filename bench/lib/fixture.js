/**
 * Stored state for the benchmarks, written straight into storage (creating 10,000
 * accounts through the API would make the fixture, not vpncp, the thing measured).
 * Records have the shape AccountService/ServerService store; keys are random 32-byte
 * strings (the tools accept any as a peer key), server keys real key pairs.
 */
import { randomBytes, randomUUID } from "node:crypto";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { FIRST_MARK, generateKeyPair } from "@vpncp/core";

export const ACCOUNT_PREFIX = "accounts";
export const SERVER_PREFIX = "servers";

/** "wg<pid><n>": unique on the machine (wireguard-go sockets are shared by every namespace), ≤ 15 chars. */
export function interfaceNames(tag) {
  let n = 0;
  return () => {
    n += 1;
    const name = `wg${process.pid}${tag}${n}`;
    if (name.length > 15) throw new Error(`interface name too long: ${name}`);
    return name;
  };
}

/** One server per /16 (10.<octet>.0.0/16), so any count up to 65,000 accounts fits one server. */
export function serverRecord(index, interfaceName, options = {}) {
  const keys = generateKeyPair();
  const octet = 100 + index;
  return {
    name: `bench_${index}`,
    interfaceName,
    listenPort: 40000 + index,
    address: `10.${octet}.0.1/16`,
    ipv6: false,
    addressIpv6: "",
    privateKey: keys.privateKey,
    publicKey: keys.publicKey,
    externalIp: options.externalIp ?? "192.0.2.1",
    endpoint: options.endpoint ?? "",
    dns1: "8.8.8.8",
    dns2: "1.1.1.1",
    dns1Ipv6: "",
    dns2Ipv6: "",
    mtu: 0,
    keepAlive: 25,
    allowedIps: "0.0.0.0/0",
    internalTraffic: false,
    ikev2: false,
    bDownload: options.bDownload ?? 0,
    bUpload: options.bUpload ?? 0,
    createdAt: new Date(Date.UTC(2026, 0, 1, 0, 0, index)).toISOString(),
  };
}

/** The j-th host address of a server's /16 (from .2; .1 is the server). */
export function hostAddress(server, j) {
  const octet = Number(server.address.split(".")[1]);
  const offset = j + 2;
  return `10.${octet}.${offset >> 8}.${offset & 255}`;
}

export function accountRecord(server, j, mark) {
  return {
    name: `acc_${server.name.slice(6)}_${j}`,
    username: `user_${server.name.slice(6)}_${j}`,
    password: "bench-password-1",
    privateKey: randomBytes(32).toString("base64"),
    publicKey: randomBytes(32).toString("base64"),
    status: "enable",
    wgName: server.name,
    allowedIp: hostAddress(server, j),
    allowedIpv6: "",
    // every account shaped, as on a host that sells plans
    bDownload: 100,
    bUpload: 50,
    mangle: mark,
    uuid: randomUUID(),
    createdAt: new Date(Date.UTC(2026, 0, 2, 0, 0, 0, mark)).toISOString(),
  };
}

/** `servers` servers with `perServer` accounts each; marks from FIRST_MARK up. */
export function makeState({ servers, perServer, nextInterface, serverOptions }) {
  const serverRecords = [];
  const accountRecords = [];
  let mark = FIRST_MARK;
  for (let s = 0; s < servers; s += 1) {
    const server = serverRecord(s, nextInterface(), serverOptions);
    serverRecords.push(server);
    for (let j = 0; j < perServer; j += 1) accountRecords.push(accountRecord(server, j, mark++));
  }
  return { servers: serverRecords, accounts: accountRecords };
}

/** Into an unstorage instance (memory), one record per key as the Inventory writes them. */
export async function writeToStorage(storage, state) {
  await Promise.all([
    ...state.servers.map((s) => storage.setItem(`${SERVER_PREFIX}:${s.name}`, s)),
    ...state.accounts.map((a) => storage.setItem(`${ACCOUNT_PREFIX}:${a.name}`, a)),
  ]);
}

/** Into a data directory in the fs-atomic layout (key "accounts:NAME" → base/accounts/NAME). */
export function writeToDirectory(base, state) {
  mkdirSync(join(base, SERVER_PREFIX), { recursive: true, mode: 0o700 });
  mkdirSync(join(base, ACCOUNT_PREFIX), { recursive: true, mode: 0o700 });
  for (const s of state.servers) writeFileSync(join(base, SERVER_PREFIX, s.name), JSON.stringify(s), { mode: 0o600 });
  for (const a of state.accounts) writeFileSync(join(base, ACCOUNT_PREFIX, a.name), JSON.stringify(a), { mode: 0o600 });
}
