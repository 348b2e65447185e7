/** vpncp on the real tools inside one namespace, with a counting runner (IKEv2 stays fake: no certificates, nothing to do). */
import { createVpncp } from "@vpncp/core";
import { FakeIkev2, NftablesFirewall, TcShaper, WireGuardToolsDriver } from "@vpncp/drivers";
import { countingRunner } from "./counting-runner.js";

export async function systemVpncp({ netns, dataDir, storage, reload = true, wanInterface, clock }) {
  const counter = countingRunner(netns);
  const runner = counter.runner;
  const drivers = {
    // what the drivers warn about (a daemon that died, a batch that failed) shows in the bench output
    wireguard: new WireGuardToolsDriver({
      runner,
      implementation: "userspace",
      logger: { info() {}, warn: (line) => console.error(`  [warn] ${line}`) },
    }),
    firewall: new NftablesFirewall({ runner }),
    shaper: new TcShaper({ runner }),
    ikev2: new FakeIkev2(),
  };
  const vpncp = await createVpncp({
    drivers,
    storage: storage ?? { driver: "fs", options: { base: dataDir } },
    defaultExternalIp: "192.0.2.1",
    wanInterface,
    reload,
    clock,
    timezone: "UTC",
  });
  return { vpncp, counter, drivers };
}
