/**
 * One vpncp with `servers × perServer` stored accounts (fakes or the real tools in a
 * namespace the parent made), timing single changes and counting their processes.
 */
import "reflect-metadata";
import { createVpncp } from "@vpncp/core";
import { fakeDriversModule } from "@vpncp/drivers";
import { hostAddress, interfaceNames, makeState, writeToDirectory } from "../lib/fixture.js";
import { slot } from "../lib/stats.js";
import { systemVpncp } from "../lib/system-vpncp.js";
import { serveWorker } from "../lib/worker.js";

let vpncp = null;
let counter = null;
let server = null;
let perServer = 0;
/** Milliseconds spent in storage calls (the record's file write or unlink) since the last take. */
let storageMs = 0;

/** Times every write and removal of the storage vpncp holds (the same object its inventory writes through). */
function timeStorage(storage) {
  for (const method of ["setItem", "removeItem"]) {
    const original = storage[method].bind(storage);
    storage[method] = async (...args) => {
      const started = performance.now();
      try {
        return await original(...args);
      } finally {
        storageMs += performance.now() - started;
      }
    };
  }
}

/** Per tool: how many processes and how long each took (ms), since the last call. */
function takeTools() {
  const storage = storageMs;
  storageMs = 0;
  if (!counter) return { counts: {}, toolMs: {}, storageMs: storage };
  const toolMs = {};
  for (const entry of counter.log) slot(toolMs, entry.file).push(entry.ms);
  return { counts: counter.take(), toolMs, storageMs: storage };
}

async function timed(task) {
  const started = performance.now();
  await task();
  return { ms: performance.now() - started, ...takeTools() };
}

serveWorker({
  async setup({ drivers, netns, dataDir, servers, accountsPerServer, tag }) {
    const state = makeState({ servers, perServer: accountsPerServer, nextInterface: interfaceNames(tag) });
    server = state.servers[0];
    perServer = accountsPerServer;
    // both keep their records as vpncp serve does (one file per account): storage is part of a change
    writeToDirectory(dataDir, state);
    const started = performance.now();
    if (drivers === "system") {
      ({ vpncp, counter } = await systemVpncp({ netns, dataDir }));
    } else {
      vpncp = await createVpncp({
        drivers: fakeDriversModule(),
        storage: { driver: "fs", options: { base: dataDir } },
        defaultExternalIp: "192.0.2.1",
      });
    }
    const loadMs = performance.now() - started;
    timeStorage(vpncp.storage);
    takeTools();
    return { loadMs, accounts: vpncp.accounts.count };
  },

  /** Creates, edits (address and rates: every tool is touched) and deletes one account. */
  async cycle({ i }) {
    const name = `new_${i}`;
    const create = await timed(() => vpncp.accounts.create({ wgName: server.name, name, username: name }));
    const edit = await timed(() =>
      vpncp.accounts.update(name, { allowedIp: hostAddress(server, perServer + 100), bDownload: String(20 + (i % 50)), bUpload: "10" }),
    );
    const remove = await timed(() => vpncp.accounts.remove(name));
    return { create, edit, remove };
  },

  /** `n` creates submitted together, then `n` deletes: how many processes each tool ran for them. */
  async burst({ n }) {
    const names = Array.from({ length: n }, (_, i) => `burst_${i}`);
    const create = await timed(() =>
      Promise.all(names.map((name) => vpncp.accounts.create({ wgName: server.name, name, username: name }))),
    );
    const remove = await timed(() => Promise.all(names.map((name) => vpncp.accounts.remove(name))));
    return { create, remove };
  },

  async close() {
    await vpncp?.close();
    vpncp = null;
  },
});
