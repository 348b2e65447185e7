import { ERRORS, type ErrorCode, isVpncpError } from "@vpncp/core";
import { HTTPError } from "h3";

/** The `{error,msg,status}` envelope of every API response. */
export interface Envelope<T = unknown> {
  readonly error: string;
  readonly msg: T | "";
  readonly status: "success" | "error";
}

export function success<T>(msg: T): Envelope<T> {
  return { error: "", msg, status: "success" };
}

export function failure(message: string): Envelope<never> {
  return { error: message, msg: "", status: "error" };
}

/** An error of the API as an HTTP response: the documented sentence in the envelope, the right status. */
export function errorResponse(code: ErrorCode): Response {
  return Response.json(failure(ERRORS[code].message), { status: ERRORS[code].status });
}

/**
 * Maps anything thrown by a handler to the envelope. Core errors carry their
 * sentence and status; h3's own errors (no route, bad body) get one of ours;
 * anything else is an internal error whose details stay in the log.
 */
export function toErrorResponse(error: unknown): { response: Response; internal: boolean } {
  const cause = error instanceof HTTPError && error.cause !== undefined ? error.cause : error;
  if (isVpncpError(cause)) return { response: errorResponse(cause.code), internal: cause.code === "DRIVER_FAILED" };
  if (error instanceof HTTPError) {
    if (error.status === 404) return { response: errorResponse("NOT_FOUND"), internal: false };
    if (error.status === 405) return { response: errorResponse("METHOD_NOT_ALLOWED"), internal: false };
    if (error.status === 400 || error.status === 413 || error.status === 415)
      return { response: errorResponse("MALFORMED_BODY"), internal: false };
  }
  return { response: Response.json(failure("Internal error"), { status: 500 }), internal: true };
}
