export { type CallOptions, type ListOptions, type OtlProtocol, VpncpClient, type VpncpClientOptions } from "./client.js";
export { isVpncpApiError, VpncpApiError, type VpncpApiErrorInit, type VpncpApiErrorKind } from "./error.js";
export type * from "./types.js";
