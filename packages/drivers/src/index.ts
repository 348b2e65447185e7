export { ExecaRunner, type ExecaRunnerOptions } from "./command-runner/execa.js";
export { FakeCommandRunner, type FakeResponder, type RecordedCommand } from "./command-runner/fake.js";
export {
  charonAnswers,
  connectVici,
  formatPlannedStep,
  isReadOnlyCommand,
  type PlannedStep,
  RecordingRunner,
  type RecordingRunnerOptions,
} from "./command-runner/recording.js";
export { createFakeDrivers, type FakeDrivers, fakeDriversModule } from "./fake-drivers-module.js";
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
  DRIVER_NAME as FAKE_IKEV2_DRIVER_NAME,
  default as createFakeIkev2,
  FakeIkev2,
  FakeIkev2LoginError,
  type FakeIkev2Options,
  type FakeIkev2Session,
  type SimulatedLogin,
} from "./ikev2/fake.js";
export {
  connectionNameOf,
  DRIVER_NAME as STRONGSWAN_DRIVER_NAME,
  default as createStrongSwanDriver,
  type ListedSa,
  parseListSasRaw,
  renderStrongswanConf,
  renderSwanctlConf,
  renderUserConf,
  StrongSwanDriver,
  type StrongSwanLogger,
  type StrongSwanOptions,
  serverOfConnection,
} from "./ikev2/strongswan.js";
export {
  default as createFakeShaper,
  type FakeShapedInterface,
  FakeShaper,
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
export { type SystemDriversOptions, systemDriversModule } from "./system-drivers-module.js";
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
