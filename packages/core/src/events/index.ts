export * from "./domain-events.js";
export * from "./event-bus.js";
