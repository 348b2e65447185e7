export * from "./di/ids.js";
export * from "./errors.js";
export * from "./model/records.js";
export * from "./ports/index.js";
export * from "./crypto/keys.js";
export * from "./crypto/secrets.js";
export * from "./crypto/certificates.js";
