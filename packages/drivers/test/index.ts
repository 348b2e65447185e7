/**
 * `@vpncp/drivers/test`: the contract suite of each port (run them against your
 * own driver to prove it behaves like the real one and the fake) and the
 * network-namespace helpers the real-tool tests use.
 */
export * from "./contract/firewall.js";
export * from "./contract/ikev2.js";
export * from "./contract/shaper.js";
export * from "./contract/wireguard.js";
export * from "./faults.js";
export * from "./netns.js";
