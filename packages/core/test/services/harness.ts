import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createFakeDrivers, type FakeDrivers, fakeDriversModule } from "@vpncp/drivers";
import { expect } from "vitest";
import { type Clock, createVpncp, ERRORS, type ErrorCode, type Vpncp } from "../../src/index.js";

/** The promise fails with the documented sentence of `code`. */
export async function expectError(promise: Promise<unknown>, code: ErrorCode): Promise<void> {
  await expect(promise).rejects.toMatchObject({ code, message: ERRORS[code].message });
}

/** A clock the test moves (`set`), for statistics periods and link expiry. */
export function testClock(start: string): Clock & { set(iso: string): void } {
  let now = new Date(start);
  return {
    now: () => new Date(now),
    set(iso: string) {
      now = new Date(iso);
    },
  };
}

export interface Harness {
  readonly vpncp: Vpncp;
  readonly drivers: FakeDrivers;
  readonly dataDir: string;
  /** Closes this instance and starts another on the same data with fresh (empty) drivers: a reboot. */
  restart(): Promise<Harness>;
  close(): Promise<void>;
}

/** A vpncp on the fake drivers with crash-safe file storage in a temp directory. */
export async function startHarness(
  options: { accountLimit?: number; clock?: Clock; dataDir?: string; timezone?: string } = {},
): Promise<Harness> {
  const dataDir = options.dataDir ?? (await mkdtemp(join(tmpdir(), "vpncp-core-")));
  const drivers = createFakeDrivers();
  const vpncp = await createVpncp({
    drivers: fakeDriversModule(drivers),
    storage: { driver: "fs", options: { base: dataDir } },
    accountLimit: options.accountLimit,
    clock: options.clock,
    defaultExternalIp: "203.0.113.10",
    timezone: options.timezone ?? "UTC",
  });
  let closed = false;
  const close = async () => {
    if (!closed) await vpncp.close();
    closed = true;
  };
  return {
    vpncp,
    drivers,
    dataDir,
    async restart() {
      await close();
      return startHarness({ ...options, dataDir });
    },
    async close() {
      await close();
      if (!options.dataDir) await rm(dataDir, { recursive: true, force: true });
    },
  };
}
