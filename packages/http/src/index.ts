export * from "./app.js";
export * from "./body.js";
export * from "./config/index.js";
export * from "./envelope.js";
export * from "./openapi.js";
export * from "./otl-page.js";
export * from "./plugins/index.js";
export * from "./presenters.js";
