/**
 * What went wrong with a call:
 * - "api": the node answered with the envelope's error; `message` is its documented sentence
 *   ("Account not found", "Not authorized", …) and `status` the HTTP status;
 * - "timeout": no answer within the time limit;
 * - "network": the node could not be reached (refused, reset, DNS);
 * - "invalid_response": something answered that is not the API (a proxy's HTML page);
 * - "aborted": the caller's AbortSignal fired.
 */
export type VpncpApiErrorKind = "api" | "timeout" | "network" | "invalid_response" | "aborted";

export interface VpncpApiErrorInit {
  readonly kind: VpncpApiErrorKind;
  /** HTTP status; 0 when no HTTP answer came. */
  readonly status: number;
  /** "GET /api/v1/account/peer_10" */
  readonly endpoint: string;
  /** Base URL of the node that was called. */
  readonly baseUrl: string;
  /** Attempts made (more than 1 only for idempotent calls that were retried). */
  readonly attempts: number;
  readonly cause?: unknown;
}

/** The one error every VpncpClient call raises. */
export class VpncpApiError extends Error {
  readonly kind: VpncpApiErrorKind;
  readonly status: number;
  readonly endpoint: string;
  readonly baseUrl: string;
  readonly attempts: number;

  constructor(message: string, init: VpncpApiErrorInit) {
    super(message, init.cause === undefined ? undefined : { cause: init.cause });
    this.name = "VpncpApiError";
    this.kind = init.kind;
    this.status = init.status;
    this.endpoint = init.endpoint;
    this.baseUrl = init.baseUrl;
    this.attempts = init.attempts;
  }

  /** True when the node answered and refused with this documented sentence. */
  is(sentence: string): boolean {
    return this.kind === "api" && this.message === sentence;
  }

  /** True when the node did not answer at all (down, unreachable, too slow). */
  get unreachable(): boolean {
    return this.kind === "timeout" || this.kind === "network";
  }
}

export function isVpncpApiError(error: unknown): error is VpncpApiError {
  return error instanceof VpncpApiError;
}
