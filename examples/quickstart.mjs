// vpncp as a library, from plain Node: a WireGuard server and two accounts on the
// in-memory fake drivers, the first account's config printed and its QR code
// written as a PNG. Run after `npm install` (which builds the packages):
//   node examples/quickstart.mjs [output-dir]
import { writeFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { createVpncp } from "@vpncp/core";
import { createFakeDrivers, fakeDriversModule } from "@vpncp/drivers";

const outDir = resolve(process.argv[2] ?? ".");
const drivers = createFakeDrivers();
const vpncp = await createVpncp({ drivers: fakeDriversModule(drivers), storage: { driver: "memory" } });

const server = await vpncp.servers.create({ name: "office", externalIp: "203.0.113.10", bDownload: 50, bUpload: 20 });
const alice = await vpncp.accounts.create({ wgName: server.name, name: "alice" });
const bob = await vpncp.accounts.create({ wgName: server.name, name: "bob", bDownload: 100 });

console.log(`server ${server.name}: ${server.interfaceName} ${server.address} port ${server.listenPort}`);
console.log(`accounts: ${alice.name} ${alice.allowedIp} (mark ${alice.mangle}), ${bob.name} ${bob.allowedIp} (mark ${bob.mangle})`);
console.log("");
console.log(vpncp.views.configText(alice.name));

const png = Buffer.from(await vpncp.views.configQr(alice.name), "base64");
const pngPath = join(outDir, `${alice.name}.png`);
await writeFile(pngPath, png);
console.log(`QR code written to ${pngPath}`);

// what the (fake) kernel holds now
const peers = drivers.wireguard.interfaces().get(server.interfaceName)?.peers.size ?? 0;
console.log(`peers on ${server.interfaceName}: ${peers}`);
await vpncp.close();
