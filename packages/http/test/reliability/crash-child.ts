/**
 * The process the fake-driver crash test kills: vpncp on file storage in argv[2] with
 * fake drivers, its HTTP API on a loopback port, plus one test-only route that shows what
 * the fakes hold (they live in this process). Run with jiti, straight from the sources.
 * Prints "listening <port>" once the start-up reload is done.
 */
import "reflect-metadata";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { createVpncp } from "@vpncp/core";
import { createFakeDrivers, fakeDriversModule } from "@vpncp/drivers";
import { toNodeHandler } from "h3/node";
import { createHttpApp } from "../../src/app.js";
import { fakeDriverState } from "./state.js";

const dataDir = process.argv[2];
const hash = process.argv[3];
if (!dataDir || !hash) throw new Error("usage: crash-child <data-dir> <access-hash>");

const drivers = createFakeDrivers();
const vpncp = await createVpncp({
  drivers: fakeDriversModule(drivers),
  storage: { driver: "fs", options: { base: dataDir } },
  defaultExternalIp: "203.0.113.10",
  timezone: "UTC",
});
await vpncp.accessHashes.ensure(hash);
const app = createHttpApp(vpncp, {
  extend: (h3) => {
    h3.get("/test/state", () => ({
      drivers: fakeDriverState(drivers),
      servers: vpncp.servers.list(),
      accounts: vpncp.accounts.list(),
      status: vpncp.system.status(),
    }));
  },
});
const server = createServer(toNodeHandler(app));
server.listen(0, "127.0.0.1", () => {
  process.stdout.write(`listening ${(server.address() as AddressInfo).port}\n`);
});
