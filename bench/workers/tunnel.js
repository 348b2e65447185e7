/**
 * vpncp on the real tools in the server namespace of a client ⇄ server ⇄ internet topology:
 * one account with real keys (the client's) plus `others` accounts with random keys on the
 * same server, so its interface, HTB qdiscs and u32 tables hold them all.
 */
import "reflect-metadata";
import { generateKeyPair } from "@vpncp/core";
import { accountRecord, interfaceNames, serverRecord, writeToDirectory } from "../lib/fixture.js";
import { systemVpncp } from "../lib/system-vpncp.js";
import { serveWorker } from "../lib/worker.js";

let vpncp = null;
let name = null;

serveWorker({
  async setup({ netns, dataDir, wan, others, tag, externalIp, endpoint }) {
    const server = serverRecord(0, interfaceNames(tag)(), { externalIp, endpoint });
    const keys = generateKeyPair();
    // the client: unlimited (0 = the server's default, unlimited), first address and mark
    const client = { ...accountRecord(server, 0, 100), ...keys, bDownload: 0, bUpload: 0 };
    const accounts = [client];
    for (let j = 1; j <= others; j += 1) accounts.push(accountRecord(server, j, 100 + j));
    writeToDirectory(dataDir, { servers: [server], accounts });
    const started = performance.now();
    ({ vpncp } = await systemVpncp({ netns, dataDir, wanInterface: wan }));
    name = client.name;
    return { loadMs: performance.now() - started, accounts: vpncp.accounts.count, configText: vpncp.views.configText(name) };
  },
  async setRate({ mbit }) {
    await vpncp.accounts.update(name, { bDownload: String(mbit), bUpload: String(mbit) });
  },
  async close() {
    await vpncp?.close();
    vpncp = null;
  },
});
