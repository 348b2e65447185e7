export * from "./di/ids.js";
export * from "./errors.js";
export * from "./model/records.js";
export * from "./ports/index.js";
