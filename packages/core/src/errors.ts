/**
 * One error model: every failure a user can cause carries a stable code and the
 * sentence of the API pages, word for word. The http package maps codes to the
 * `{error,msg,status}` envelope and an HTTP status in one place.
 */
export const ERRORS = {
  NOT_AUTHORIZED: { status: 401, message: "Not authorized" },
  NOT_FOUND: { status: 404, message: "Not found" },
  METHOD_NOT_ALLOWED: { status: 405, message: "Method not allowed" },
  MALFORMED_BODY: { status: 400, message: "Malformed request body" },
  STATUS_NOT_OK: { status: 503, message: "PUQVPNCP status not OK" },
  // the change is kept: storage is the truth, and the reconciler re-applies it until the system holds it
  DRIVER_FAILED: { status: 500, message: "The change is saved but the system could not apply it yet; vpncp retries until it does" },
  BODY_TOO_LARGE: { status: 413, message: "Request body too large" },

  ACCOUNT_NOT_FOUND: { status: 404, message: "Account not found" },
  ACCOUNT_LIMIT: { status: 403, message: "VPN account limit exceeded" },
  SERVER_NOT_VALID: { status: 400, message: "Wireguard server not valid" },
  WRONG_NAME: { status: 400, message: "Wrong name (only letters, numbers and '_', '-')" },
  NAME_IN_USE: { status: 409, message: "The name is already in use" },
  USERNAME_IN_USE: { status: 409, message: "The username is already in use" },
  WRONG_USERNAME: { status: 400, message: "Wrong Username (only letters, numbers and '_', '-')" },
  WRONG_IP: { status: 400, message: "Wrong IP format" },
  IP_IN_USE: { status: 409, message: "IP address already in use" },
  IP_OUT_OF_RANGE: { status: 400, message: "The IP address is not within the range of the wireguard server" },
  KEYS_INVALID: { status: 400, message: "Keys are invalid" },
  WRONG_EXTERNAL_IP: { status: 400, message: "Wrong external IP format" },
  WRONG_STATUS: { status: 400, message: "Wrong status (only enable or disable)" },
  WRONG_PASSWORD: { status: 400, message: "Wrong password (1 to 128 printable characters, no spaces or quotes)" },
  WRONG_DOWNLOAD: { status: 400, message: "Wrong download bandwidth (0-10000)" },
  WRONG_UPLOAD: { status: 400, message: "Wrong upload bandwidth (0-10000)" },
  WRONG_IPV6: { status: 400, message: "Wrong IPv6 format" },
  NO_FREE_IP: { status: 409, message: "No free IP address in the range of the wireguard server" },
  NO_FREE_MARK: { status: 409, message: "No free mark for the account" },
  WRONG_MONTH: { status: 400, message: "Wrong month setting" },
  WRONG_YEAR: { status: 400, message: "Wrong year setting" },

  SERVER_NOT_FOUND: { status: 404, message: "Wireguard server not found" },
  WRONG_INTERFACE: { status: 400, message: "Wrong network interface name (wgXXX)" },
  INTERFACE_IN_USE: { status: 409, message: "Interface already in use" },
  PORT_IN_USE: { status: 409, message: "Port already in use" },
  WRONG_PORT: { status: 400, message: "Wrong Port format" },
  SUBNET_IN_USE: { status: 409, message: "IP address or subnet already in use" },
  WRONG_DNS1: { status: 400, message: "Wrong DNS1 IP format" },
  WRONG_DNS2: { status: 400, message: "Wrong DNS2 IP format" },
  WRONG_DNS1_IPV6: { status: 400, message: "Wrong DNS1 IPv6 format" },
  WRONG_DNS2_IPV6: { status: 400, message: "Wrong DNS2 IPv6 format" },
  WRONG_MTU: { status: 400, message: "Wrong MTU format (1280 to 9000)" },
  WRONG_KEEP_ALIVE: { status: 400, message: "Wrong keep alive format (0 to 65535)" },
  WRONG_ALLOWED_IPS: { status: 400, message: "Wrong allowed IPs format (comma-separated CIDRs)" },
  WRONG_ENDPOINT: { status: 400, message: "Wrong endpoint format (IP address or domain)" },
  WRONG_BOOLEAN: { status: 400, message: "Wrong boolean value (1/0, true/false)" },
  SERVER_HAS_PEERS: { status: 409, message: "Cannot be deleted. There are active peers." },
  NO_FREE_SUBNET: { status: 409, message: "No free subnet for the wireguard server" },

  WRONG_FREQUENCY: { status: 400, message: "Incorrect value Traffic Statistics Frequency (should be 1 to 2147483647)" },
  WRONG_HISTORY: { status: 400, message: "Incorrect value Traffic Statistics History (should be 0 to 2147483647)" },
  WRONG_HANDSHAKE_UPTIME: { status: 400, message: "Incorrect value Wireguard Handshake Uptime (should be 1 to 300)" },
  WRONG_OTL_LIFETIME: { status: 400, message: "Incorrect value Lifetime (should be 1 to 3650)" },

  CA_EXISTS: { status: 409, message: "The root certificate is already in the system" },
  CA_CERT_REQUIRED: { status: 400, message: "CaCert must be filled" },
  CA_KEY_REQUIRED: { status: 400, message: "CaKey must be filled" },
  CERT_NOT_FOUND: { status: 404, message: "Certificate not found" },
  CERT_FAILED: { status: 400, message: "Certificate failed" },
  COMMON_NAME_REQUIRED: { status: 400, message: "Common Name must be filled" },
  ORGANIZATION_REQUIRED: { status: 400, message: "Organization must be filled" },
  CA_MISSING: { status: 409, message: "The ROOT certificate is not present in the system" },
} as const satisfies Record<string, { status: number; message: string }>;

export type ErrorCode = keyof typeof ERRORS;

export class VpncpError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  constructor(code: ErrorCode, options?: { cause?: unknown }) {
    super(ERRORS[code].message, options);
    this.name = "VpncpError";
    this.code = code;
    this.status = ERRORS[code].status;
  }
}

export function isVpncpError(error: unknown): error is VpncpError {
  return error instanceof VpncpError;
}
