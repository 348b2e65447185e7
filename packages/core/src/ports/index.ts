export * from "./command-runner.js";
export * from "./firewall.js";
export * from "./ikev2.js";
export * from "./shaper.js";
export * from "./wireguard.js";
