/**
 * Issue 8 point 1 (concurrency): many creates at once over real HTTP on loopback never
 * hand two accounts the same name, username, address or mark, and storage and the
 * drivers hold exactly what the API shows; concurrent edits and deletes of one account
 * never leave storage and the drivers apart.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type AccountRecord, createVpncp, generateKeyPair, type Logger } from "@vpncp/core";
import { createFakeDrivers, type FakeDrivers, fakeDriversModule } from "@vpncp/drivers";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { type RunningServer, startServer } from "../../src/serve.js";
import { duplicates, expectedDriverState, fakeDriverState, readDataDir } from "./state.js";

const HASH = "c0ffee".repeat(14).slice(0, 80);
const quiet: Logger = { info() {}, warn() {}, error() {} };

type ApiAccount = Record<string, string>;
interface Answer<T = unknown> {
  status: number;
  body: { error: string; msg: T; status: string };
}

interface Node {
  readonly running: RunningServer;
  readonly drivers: FakeDrivers;
  api<T = unknown>(method: string, path: string, fields?: Record<string, string | number>): Promise<Answer<T>>;
}

async function startNode(dataDir: string): Promise<Node> {
  const drivers = createFakeDrivers();
  const running = await startServer({
    port: 0,
    host: "127.0.0.1",
    dataDir,
    drivers: fakeDriversModule(drivers),
    accessHash: HASH,
    timezone: "UTC",
    logger: quiet,
    announce: () => {},
  });
  return {
    running,
    drivers,
    async api(method, path, fields) {
      const init: RequestInit = { method, headers: { cookie: `access_hash=${HASH}` } };
      if (fields) {
        init.body = new URLSearchParams(Object.entries(fields).map(([k, v]) => [k, String(v)])).toString();
        (init.headers as Record<string, string>)["content-type"] = "application/x-www-form-urlencoded";
      }
      const response = await fetch(`${running.url}${path}`, init);
      return { status: response.status, body: (await response.json()) as never };
    },
  };
}

/** Storage, the drivers and the API agree: the API's accounts are the stored ones and the drivers hold what they say. */
async function expectConsistent(node: Node, dataDir: string): Promise<ApiAccount[]> {
  const listed = (await node.api<ApiAccount[]>("GET", "/api/v1/account")).body.msg;
  const vpncp = node.running.vpncp;
  expect(fakeDriverState(node.drivers)).toEqual(expectedDriverState(vpncp.servers.list(), vpncp.accounts.list()));
  const stored = readDataDir(dataDir);
  const storedAccounts = Object.entries(stored)
    .filter(([key]) => key.startsWith("accounts:"))
    .map(([, record]) => record as AccountRecord);
  expect(storedAccounts.map((a) => [a.name, a.allowedIp, a.allowedIpv6, a.mangle, a.publicKey, a.status, a.bDownload]).sort()).toEqual(
    vpncp.accounts
      .list()
      .map((a) => [a.name, a.allowedIp, a.allowedIpv6, a.mangle, a.publicKey, a.status, a.bDownload])
      .sort(),
  );
  expect(listed.map((a) => a.name).sort()).toEqual(storedAccounts.map((a) => a.name).sort());
  return listed;
}

describe("concurrency: creates at once over HTTP (fake drivers, file storage)", () => {
  let dataDir: string;
  let node: Node;

  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), "vpncp-concurrency-"));
    node = await startNode(dataDir);
    for (const [name, address, ipv6] of [
      ["big", "10.60.0.1/22", "fd60::1/64"],
      ["left", "10.61.0.1/24", "fd61::1/64"],
      ["right", "10.62.0.1/24", "fd62::1/64"],
    ] as const) {
      const made = await node.api("POST", "/api/v1/wireguard", { name, address, ipv6: 1, address_ipv6: ipv6 });
      expect(made.body.error).toBe("");
    }
  });

  afterAll(async () => {
    await node?.running.close();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  test("500 concurrent creates on one server: 500 accounts, every name, username, address and mark distinct", async () => {
    const answers = await Promise.all(
      Array.from({ length: 500 }, () => node.api<ApiAccount>("POST", "/api/v1/account", { wg_name: "big" })),
    );
    expect(answers.filter((a) => a.status !== 200).map((a) => a.body.error)).toEqual([]);
    const made = answers.map((a) => a.body.msg);
    for (const key of ["name", "username", "allowed_IPs", "allowed_IPs_ipv6", "mangle", "public_key", "private_key"]) {
      expect(
        duplicates(made, (a) => a[key]!),
        key,
      ).toEqual([]);
    }
    expect(made.every((a) => a.allowed_IPs_ipv6 !== "")).toBe(true);
    const listed = await expectConsistent(node, dataDir);
    expect(listed).toHaveLength(500);
    // what each create answered is what is listed
    const byName = new Map(listed.map((a) => [a.name, a]));
    for (const account of made) expect(byName.get(account.name)).toEqual(account);
  });

  test("200 concurrent creates across two servers (names given by half the clients): marks distinct installation-wide", async () => {
    const answers = await Promise.all(
      Array.from({ length: 200 }, (_, i) =>
        node.api<ApiAccount>(
          "POST",
          "/api/v1/account",
          i % 2 === 0
            ? { wg_name: i % 4 === 0 ? "left" : "right", name: `given_${i}`, username: `u_given_${i}` }
            : { wg_name: i % 4 === 1 ? "left" : "right" },
        ),
      ),
    );
    expect(answers.filter((a) => a.status !== 200).map((a) => a.body.error)).toEqual([]);
    const listed = await expectConsistent(node, dataDir);
    expect(listed).toHaveLength(700);
    for (const key of ["name", "username", "mangle", "public_key"])
      expect(
        duplicates(listed, (a) => a[key]!),
        key,
      ).toEqual([]);
    for (const server of ["big", "left", "right"]) {
      const mine = listed.filter((a) => a.wg_name === server);
      expect(mine).toHaveLength(server === "big" ? 500 : 100);
      expect(
        duplicates(mine, (a) => a.allowed_IPs ?? ""),
        server,
      ).toEqual([]);
      expect(
        duplicates(mine, (a) => a.allowed_IPs_ipv6 ?? ""),
        server,
      ).toEqual([]);
    }
  });

  test("a fresh vpncp on the same data directory loads exactly the accounts the API shows and applies them to its drivers", async () => {
    const listed = (await node.api<ApiAccount[]>("GET", "/api/v1/account")).body.msg;
    const drivers = createFakeDrivers();
    const fresh = await createVpncp({ drivers: fakeDriversModule(drivers), storage: { driver: "fs", options: { base: dataDir } } });
    try {
      const reread = fresh.accounts.list();
      expect(reread.map((a) => [a.name, a.username, a.allowedIp, a.allowedIpv6, String(a.mangle), a.publicKey]).sort()).toEqual(
        listed.map((a) => [a.name, a.username, a.allowed_IPs, a.allowed_IPs_ipv6, a.mangle, a.public_key]).sort(),
      );
      expect(fakeDriverState(drivers)).toEqual(fakeDriverState(node.drivers));
    } finally {
      // reload=true applied to its own fakes only; close it without touching the running node's files
      await fresh.close();
    }
  });

  test("concurrent edits, deletes and re-creates of one account (30 rounds) never leave storage and drivers apart", async () => {
    let seed = 8;
    const random = () => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed / 2 ** 31;
    };
    const outcomes = new Map<string, number>();
    for (let round = 0; round < 30; round += 1) {
      const name = `contested_${round % 4}`;
      await node.api("POST", "/api/v1/account", { wg_name: "left", name });
      const ops: Promise<Answer>[] = [];
      for (let i = 0; i < 12; i += 1) {
        const pick = random();
        if (pick < 0.15) ops.push(node.api("DELETE", `/api/v1/account/${name}`));
        else if (pick < 0.25) ops.push(node.api("POST", "/api/v1/account", { wg_name: random() < 0.5 ? "left" : "right", name }));
        else if (pick < 0.4) ops.push(node.api("PUT", `/api/v1/account/${name}`, { status: random() < 0.5 ? "disable" : "enable" }));
        else if (pick < 0.55) ops.push(node.api("PUT", `/api/v1/account/${name}`, { b_download: Math.floor(random() * 100), b_upload: 7 }));
        else if (pick < 0.7) ops.push(node.api("PUT", `/api/v1/account/${name}`, { private_key: generateKeyPair().privateKey }));
        else if (pick < 0.8) ops.push(node.api("PUT", `/api/v1/account/${name}`, { wg_name: random() < 0.5 ? "left" : "right" }));
        else if (pick < 0.9)
          ops.push(node.api("PUT", `/api/v1/account/${name}`, { allowed_IPs: `10.61.0.${200 + Math.floor(random() * 50)}` }));
        else ops.push(node.api("PUT", `/api/v1/account/${name}`, { username: `contender_${Math.floor(random() * 3)}` }));
      }
      for (const answer of await Promise.all(ops)) {
        // every answer is a documented outcome: done, gone, taken, or the address belongs to the other server
        expect(answer.status, answer.body.error).toBeLessThan(500);
        const key = answer.body.error || "success";
        outcomes.set(key, (outcomes.get(key) ?? 0) + 1);
      }
      if (round % 10 === 9) await expectConsistent(node, dataDir);
    }
    await expectConsistent(node, dataDir);
    expect([...outcomes.keys()].sort()).toEqual(expect.arrayContaining(["Account not found", "The name is already in use", "success"]));
  });
});
