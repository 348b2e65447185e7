export {
  default as createFakeWireGuardDriver,
  type FakeWgInterface,
  type FakeWgPeer,
  FakeWireGuardDriver,
  type FakeWireGuardOptions,
  type SimulatedTraffic,
} from "./wireguard/fake.js";
export {
  DRIVER_NAME as WIREGUARD_TOOLS_DRIVER_NAME,
  default as createWireGuardToolsDriver,
  parseWgDump,
  renderSyncConf,
  WireGuardToolsDriver,
  type WireGuardToolsLogger,
  type WireGuardToolsOptions,
} from "./wireguard/wireguard-tools.js";
