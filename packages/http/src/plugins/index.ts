export { z } from "zod";
export * from "./builtin/index.js";
export * from "./define.js";
export * from "./host.js";
export * from "./load.js";
