import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { createVpncp, type ServerRecord, type Vpncp } from "@vpncp/core";
import { createFakeDrivers, type FakeDrivers, fakeDriversModule } from "@vpncp/drivers";
import { createHttpApp } from "@vpncp/http";
import { toNodeHandler } from "h3/node";

/** A real vpncp node: the core on fake drivers, its HTTP API on a loopback port. */
export interface TestNode {
  readonly vpncp: Vpncp;
  readonly drivers: FakeDrivers;
  readonly server: ServerRecord;
  readonly hash: string;
  readonly url: string;
  /** Closes the listening socket and every open connection: the node is down (refused). */
  stop(): Promise<void>;
  /** Listens again on the same port. */
  start(): Promise<void>;
  close(): Promise<void>;
}

export interface TestNodeOptions {
  readonly accountLimit?: number;
  /** The server's default bandwidth (Mbit) for accounts that give none. */
  readonly bDownload?: number;
  readonly bUpload?: number;
  /** Accounts made before the bridge sees the node (to make it fuller). */
  readonly existingAccounts?: number;
  /** Turn IKEv2 on (CA, server certificate, the server's ikev2 flag). */
  readonly ikev2?: boolean;
}

function listenOn(server: Server, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, "127.0.0.1", () => {
      server.off("error", reject);
      resolve((server.address() as AddressInfo).port);
    });
  });
}

function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    if (!server.listening) return resolve();
    server.close(() => resolve());
    server.closeAllConnections();
  });
}

export async function startNode(options: TestNodeOptions = {}): Promise<TestNode> {
  const drivers = createFakeDrivers();
  const vpncp = await createVpncp({
    drivers: fakeDriversModule(drivers),
    storage: { driver: "memory" },
    accountLimit: options.accountLimit,
    defaultExternalIp: "203.0.113.10",
    timezone: "UTC",
  });
  const { hash } = await vpncp.accessHashes.create();
  let server = await vpncp.servers.create({ bDownload: options.bDownload ?? 0, bUpload: options.bUpload ?? 0 });
  if (options.ikev2) {
    await vpncp.ikev2.generateCa({ commonName: "Test VPN CA", organization: "vpncp tests" });
    await vpncp.ikev2.generateServerCertificate({
      domain: "vpn.test.example",
      commonName: "vpn.test.example",
      organization: "vpncp tests",
    });
    await vpncp.ikev2.setEnabled(true);
    server = await vpncp.servers.update(server.name, { ikev2: true });
  }
  for (let i = 0; i < (options.existingAccounts ?? 0); i += 1) await vpncp.accounts.create({ wgName: server.name, name: `local_${i}` });

  const app = createHttpApp(vpncp);
  let http = createServer(toNodeHandler(app));
  const port = await listenOn(http, 0);
  return {
    vpncp,
    drivers,
    server,
    hash,
    url: `http://127.0.0.1:${port}`,
    stop: () => closeServer(http),
    async start() {
      if (http.listening) return;
      const next = createServer(toNodeHandler(app));
      await listenOn(next, port);
      http = next;
    },
    async close() {
      await closeServer(http);
      await vpncp.close();
    },
  };
}

/** WHMCS's $params for a service, as the PHP module forwards them. */
export function whmcsParams(serviceid: number, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    serviceid,
    userid: 7,
    pid: 3,
    serverid: 1,
    domain: "",
    username: `customer${serviceid}`,
    password: `Pw-${serviceid}-secret`,
    producttype: "other",
    moduletype: "vpncp",
    configoption1: "0",
    configoption2: "0",
    configoption3: "",
    configoptions: { "Bandwidth Download": "20", "Bandwidth Upload": "5" },
    customfields: [],
    clientsdetails: { userid: 7, firstname: "Ada", lastname: "Lovelace", email: "ada@example.com" },
    serverhostname: "bridge.example.com",
    serverip: "",
    serverusername: "",
    serversecure: true,
    ...extra,
  };
}
