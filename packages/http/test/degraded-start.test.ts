/**
 * A tool failing while vpncp applies the stored state at start: vpncp still comes up, degraded —
 * the API answers, /system/status says `Error (<port> <operation>: …)`, the reconciler retries
 * with a growing delay, and PUT /system/reload repairs. What is not the system's fault (storage
 * that cannot be read) still fails the start.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type CreateVpncpOptions, createVpncp, ERRORS, type Vpncp } from "@vpncp/core";
import { createFakeDrivers } from "@vpncp/drivers";
import { injectFaults } from "@vpncp/drivers/test";
import { createStorage } from "unstorage";
import { afterEach, describe, expect, test, vi } from "vitest";
import { createHttpApp } from "../src/app.js";
import { formApi } from "./support/form-api.js";

const open: Vpncp[] = [];
const dirs: string[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((v) => v.close()));
  await Promise.all(dirs.splice(0).map((dir) => rm(dir, { recursive: true, force: true })));
});

/** A data directory holding a server with two accounts, written by a vpncp that has stopped. */
async function storedData(): Promise<CreateVpncpOptions["storage"]> {
  const dir = await mkdtemp(join(tmpdir(), "vpncp-degraded-"));
  dirs.push(dir);
  const storage = { driver: "fs", options: { base: dir } } as const;
  const first = await createVpncp({ drivers: createFakeDrivers(), storage, defaultExternalIp: "203.0.113.10", timezone: "UTC" });
  await first.servers.create({ name: "srv", interfaceName: "wg7", address: "10.0.70.1/24" });
  await first.accounts.create({ wgName: "srv", name: "alice", bDownload: "20" });
  await first.accounts.create({ wgName: "srv", name: "bob" });
  await first.close();
  return storage;
}

async function startDegraded(fail: (faulty: ReturnType<typeof injectFaults>) => void) {
  const storage = await storedData();
  const fakes = createFakeDrivers();
  const faulty = injectFaults(fakes);
  fail(faulty);
  const errors: string[] = [];
  const logger = { info() {}, warn() {}, error: (message: string) => errors.push(message) };
  const vpncp = await createVpncp({ drivers: faulty.drivers, storage, defaultExternalIp: "203.0.113.10", timezone: "UTC", logger });
  open.push(vpncp);
  const hash = (await vpncp.accessHashes.create()).hash;
  const { api, status } = formApi(createHttpApp(vpncp), hash);
  return { vpncp, fakes, faulty, api, status, errors };
}

describe("a tool failing at start", () => {
  test("vpncp comes up degraded: the API answers, the status names the tool, PUT /system/reload repairs", async () => {
    const { fakes, faulty, api, status, errors } = await startDegraded((faulty) => faulty.faults.shaper.fail("applyInterfaces"));
    expect(await status()).toMatch(/^Error \(shaper applyInterfaces: .*injected failure of shaper\.applyInterfaces\)$/);
    expect(errors).toContain("the stored state could not be applied at start; serving degraded");
    // the API serves storage: reads answer, a change is kept with the documented answer
    const alice = await api("GET", "/api/v1/account/alice");
    expect(alice.body.status).toBe("success");
    expect(alice.body.msg.b_download).toBe("20");
    const carol = await api("POST", "/api/v1/account", { wg_name: "srv", name: "carol" });
    expect(carol.status).toBe(500);
    expect(carol.body.error).toBe(ERRORS.DRIVER_FAILED.message);
    // still failing: reload answers the page's "status not OK"
    const refused = await api("PUT", "/api/v1/system/reload");
    expect(refused.body.error).toBe(ERRORS.STATUS_NOT_OK.message);

    faulty.clear();
    const reload = await api("PUT", "/api/v1/system/reload");
    expect(reload.body).toEqual({ error: "", msg: "success", status: "success" });
    expect(await status()).toBe("OK");
    expect(fakes.wireguard.interfaces().get("wg7")?.peers.size).toBe(3);
    expect(fakes.shaper.interfaces).toEqual(["wg7"]);
  });

  test("the reconciler's retry repairs by itself once the tool works again", async () => {
    // the daemon is gone for the first apply only
    const { fakes, status } = await startDegraded((faulty) => faulty.faults.wireguard.fail("applyInterface", { times: 1 }));
    expect(await status()).toMatch(/^Error \(WireGuard applyInterface: /);
    // the first retry comes 2 s after the failure
    await vi.waitFor(async () => expect(await status()).toBe("OK"), { timeout: 8_000, interval: 100 });
    expect(fakes.wireguard.interfaces().get("wg7")?.peers.size).toBe(2);
  }, 15_000);

  test("storage that cannot be read still fails the start", async () => {
    const storage = createStorage();
    storage.getKeys = async () => {
      throw new Error("EIO: i/o error, scandir '/var/lib/vpncp'");
    };
    await expect(createVpncp({ drivers: createFakeDrivers(), storage, timezone: "UTC" })).rejects.toThrow(/EIO/);
  });

  test("storage failing while the stored state is applied fails the start too (nothing to retry), and stops what started", async () => {
    const storage = createStorage();
    const getItem = storage.getItem.bind(storage);
    storage.getItem = (async (key: string, opts?: unknown) => {
      if (key === "system:applied-interfaces") throw new Error("EIO: i/o error, read");
      return getItem(key, opts as never);
    }) as typeof storage.getItem;
    const fakes = createFakeDrivers();
    let disposed = 0;
    const dispose = fakes.wireguard.dispose.bind(fakes.wireguard);
    fakes.wireguard.dispose = async () => {
      disposed += 1;
      await dispose();
    };
    const failure = await createVpncp({ drivers: fakes, storage, timezone: "UTC" }).then(
      () => null,
      (error: unknown) => error as Error,
    );
    expect(failure?.message).toBe("EIO: i/o error, read");
    expect(disposed).toBe(1);
  });
});
