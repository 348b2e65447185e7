export {
  DRIVER_NAME as FAKE_FIREWALL_DRIVER_NAME,
  default as createFakeFirewall,
  FakeFirewall,
  type SimulatedFirewallTraffic,
} from "./firewall/fake.js";
export {
  DRIVER_NAME as IPTABLES_DRIVER_NAME,
  default as createIptablesFirewall,
  IptablesFirewall,
  type IptablesOptions,
} from "./firewall/iptables.js";
export {
  DRIVER_NAME as NFTABLES_DRIVER_NAME,
  default as createNftablesFirewall,
  NftablesFirewall,
  type NftablesOptions,
  renderNftRuleset,
} from "./firewall/nftables.js";
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
export {
  default as createFakeShaper,
  FakeShaper,
  type FakeShapedInterface,
  type FakeShaperOptions,
} from "./shaper/fake.js";
export {
  classIdOf,
  DRIVER_NAME as TC_DRIVER_NAME,
  default as createTcShaper,
  formatTcRate,
  ifbNameOf,
  TcShaper,
  type TcShaperLogger,
  type TcShaperOptions,
  UNLIMITED_MBIT,
} from "./shaper/tc.js";
