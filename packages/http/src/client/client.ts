import { VpncpApiError, type VpncpApiErrorKind } from "./error.js";
import type {
  Account,
  AccountCreate,
  AccountDump,
  AccountUpdate,
  ApiEnvelope,
  DailyTraffic,
  FormScalar,
  Ikev2CaGenerate,
  Ikev2CaImport,
  Ikev2Config,
  Ikev2OnlineAccount,
  Ikev2ServerGenerate,
  OtlConfig,
  OtlConfigUpdate,
  OtlList,
  OtlProtocolConfig,
  OtlProtocolConfigUpdate,
  StatisticsSample,
  SystemConfig,
  SystemConfigUpdate,
  SystemInfo,
  SystemStatus,
  WireguardDump,
  WireguardOnlineAccount,
  WireguardServer,
  WireguardServerCreate,
  WireguardServerUpdate,
} from "./types.js";

export interface VpncpClientOptions {
  /** Where the API lives, e.g. "https://vpn.example.com" (a path prefix is kept). */
  readonly baseUrl: string;
  /** The `access_hash` cookie. */
  readonly accessHash: string;
  /** Limit of each attempt in ms (default 10 000). */
  readonly timeoutMs?: number;
  /** Extra attempts for idempotent calls after a network error, a timeout or a 5xx (default 2). */
  readonly retries?: number;
  /** First pause between attempts in ms, doubled each time, with jitter (default 200). */
  readonly retryDelayMs?: number;
  /** A fetch to use instead of the global one (tests, proxies, instrumentation). */
  readonly fetch?: typeof fetch;
}

/** Per call: the caller's cancellation, an own time limit, own retries (idempotent calls only). */
export interface CallOptions {
  readonly signal?: AbortSignal;
  readonly timeoutMs?: number;
  readonly retries?: number;
}

export interface ListOptions extends CallOptions {
  readonly limit?: number;
  readonly offset?: number;
}

export type OtlProtocol = "wireguard" | "ikev2";

type Method = "GET" | "POST" | "PUT" | "DELETE";

interface Request {
  readonly method: Method;
  readonly path: string;
  /**
   * Whether repeating the call leaves the node as one call would. Only such calls are retried:
   * a lost answer to anything else may hide a change already made.
   */
  readonly idempotent: boolean;
  readonly form?: object | undefined;
  readonly query?: Readonly<Record<string, string | number | undefined>> | undefined;
  /** The answer is a plain JSON document, not the envelope (openapi.json). */
  readonly raw?: boolean;
  readonly options?: CallOptions | undefined;
}

const MAX_RETRY_DELAY_MS = 5_000;

/** Form-encodes a body the way `curl -d` sends it: booleans as 1/0, arrays and objects as JSON. */
function toForm(values: object): URLSearchParams {
  const form = new URLSearchParams();
  for (const [key, value] of Object.entries(values)) {
    if (value === undefined || value === null) continue;
    if (typeof value === "boolean") form.append(key, value ? "1" : "0");
    else if (typeof value === "object") form.append(key, JSON.stringify(value));
    else form.append(key, String(value as FormScalar));
  }
  return form;
}

const segment = (value: string | number) => encodeURIComponent(String(value));

function isEnvelope(value: unknown): value is ApiEnvelope<unknown> {
  return (
    typeof value === "object" &&
    value !== null &&
    "status" in value &&
    ((value as ApiEnvelope<unknown>).status === "success" || (value as ApiEnvelope<unknown>).status === "error")
  );
}

function describeCause(error: unknown): string {
  const cause = (error as { cause?: { code?: unknown; message?: unknown } } | null)?.cause;
  if (cause && typeof cause.message === "string" && cause.message !== "") return cause.message;
  if (cause && typeof cause.code === "string") return cause.code;
  return error instanceof Error ? error.message : String(error);
}

/**
 * A typed client of the PUQVPN control-panel API v1 (as vpncp serves it): one method per endpoint,
 * the `access_hash` cookie, form-encoded bodies, and every failure as a VpncpApiError carrying the
 * documented sentence. Every attempt has a time limit; only idempotent calls are retried, with
 * exponential backoff.
 */
export class VpncpClient {
  readonly baseUrl: string;
  readonly #accessHash: string;
  readonly #timeoutMs: number;
  readonly #retries: number;
  readonly #retryDelayMs: number;
  readonly #fetch: typeof fetch;

  constructor(options: VpncpClientOptions) {
    this.baseUrl = options.baseUrl.replace(/\/+$/, "");
    this.#accessHash = options.accessHash;
    this.#timeoutMs = options.timeoutMs ?? 10_000;
    this.#retries = Math.max(0, Math.floor(options.retries ?? 2));
    this.#retryDelayMs = Math.max(0, options.retryDelayMs ?? 200);
    this.#fetch = options.fetch ?? globalThis.fetch;
  }

  // ---- System ------------------------------------------------------------------------------

  /** GET /system/status. Read-only: retried. */
  systemStatus(options?: CallOptions): Promise<SystemStatus> {
    return this.#call({ method: "GET", path: "/api/v1/system/status", idempotent: true, options });
  }

  /** GET /system/info. Read-only: retried. */
  systemInfo(options?: CallOptions): Promise<SystemInfo> {
    return this.#call({ method: "GET", path: "/api/v1/system/info", idempotent: true, options });
  }

  /** PUT /system/reload. Re-applies the stored state; applying it twice is applying it once: retried. */
  systemReload(options?: CallOptions): Promise<"success"> {
    return this.#call({ method: "PUT", path: "/api/v1/system/reload", idempotent: true, options });
  }

  /** GET /system/config. Read-only: retried. */
  systemConfig(options?: CallOptions): Promise<SystemConfig> {
    return this.#call({ method: "GET", path: "/api/v1/system/config", idempotent: true, options });
  }

  /** PUT /system/config. Sets the given values; the same body twice gives the same config: retried. */
  updateSystemConfig(update: SystemConfigUpdate, options?: CallOptions): Promise<SystemConfig> {
    return this.#call({ method: "PUT", path: "/api/v1/system/config", idempotent: true, form: update, options });
  }

  /** PUT /system/config/default. Always the same defaults: retried. */
  resetSystemConfig(options?: CallOptions): Promise<SystemConfig> {
    return this.#call({ method: "PUT", path: "/api/v1/system/config/default", idempotent: true, options });
  }

  /**
   * PUT /system/statistics/sample (vpncp extension): take a traffic sample now. A sample books
   * only the counters' growth since the last one, so a repeat adds nothing twice: retried.
   */
  sampleStatistics(options?: CallOptions): Promise<StatisticsSample> {
    return this.#call({ method: "PUT", path: "/api/v1/system/statistics/sample", idempotent: true, options });
  }

  // ---- Accounts ----------------------------------------------------------------------------

  /** GET /account (optional limit/offset). Read-only: retried. */
  listAccounts(options?: ListOptions): Promise<Account[]> {
    return this.#call({
      method: "GET",
      path: "/api/v1/account",
      idempotent: true,
      query: { limit: options?.limit, offset: options?.offset },
      options,
    });
  }

  /** GET /account/NAME. Read-only: retried. */
  getAccount(name: string, options?: CallOptions): Promise<Account> {
    return this.#call({ method: "GET", path: `/api/v1/account/${segment(name)}`, idempotent: true, options });
  }

  /**
   * POST /account. Never retried: if the answer is lost the account may exist, and a repeat
   * would create a second one (or fail with "The name is already in use").
   */
  createAccount(input: AccountCreate, options?: CallOptions): Promise<Account> {
    return this.#call({ method: "POST", path: "/api/v1/account", idempotent: false, form: input, options });
  }

  /** PUT /account/NAME. Sets the given fields to the given values; a repeat changes nothing more: retried. */
  updateAccount(name: string, update: AccountUpdate, options?: CallOptions): Promise<Account> {
    return this.#call({ method: "PUT", path: `/api/v1/account/${segment(name)}`, idempotent: true, form: update, options });
  }

  /**
   * DELETE /account/NAME. The account is gone however often it is sent: retried. A retry after
   * an attempt whose answer was lost may answer "Account not found" (then `attempts` > 1).
   */
  deleteAccount(name: string, options?: CallOptions): Promise<"success"> {
    return this.#call({ method: "DELETE", path: `/api/v1/account/${segment(name)}`, idempotent: true, options });
  }

  /** GET /account/NAME/config_text: the WireGuard client configuration. Read-only: retried. */
  accountConfigText(name: string, options?: CallOptions): Promise<string> {
    return this.#call({ method: "GET", path: `/api/v1/account/${segment(name)}/config_text`, idempotent: true, options });
  }

  /** GET /account/NAME/config_qr: the configuration as a QR code, PNG in base64. Read-only: retried. */
  accountConfigQr(name: string, options?: CallOptions): Promise<string> {
    return this.#call({ method: "GET", path: `/api/v1/account/${segment(name)}/config_qr`, idempotent: true, options });
  }

  /** GET /account/NAME/ikev2_profile: the strongSwan Android profile (.sswan, JSON text). Read-only: retried. */
  accountIkev2Profile(name: string, options?: CallOptions): Promise<string> {
    return this.#call({ method: "GET", path: `/api/v1/account/${segment(name)}/ikev2_profile`, idempotent: true, options });
  }

  /** GET /account/NAME/ikev2_mobileconfig: the Apple profile (.mobileconfig, plist XML). Read-only: retried. */
  accountIkev2Mobileconfig(name: string, options?: CallOptions): Promise<string> {
    return this.#call({ method: "GET", path: `/api/v1/account/${segment(name)}/ikev2_mobileconfig`, idempotent: true, options });
  }

  /**
   * GET /account/NAME/otl: a new one-time link. A GET, but every call creates a link: not
   * retried, so a lost answer never leaves extra live links behind.
   */
  accountOneTimeLink(name: string, options?: CallOptions): Promise<string> {
    return this.#call({ method: "GET", path: `/api/v1/account/${segment(name)}/otl`, idempotent: false, options });
  }

  /** GET /account/NAME/firewall_mangle_rules. Read-only: retried. */
  accountMangleRules(name: string, options?: CallOptions): Promise<string> {
    return this.#call({ method: "GET", path: `/api/v1/account/${segment(name)}/firewall_mangle_rules`, idempotent: true, options });
  }

  /** GET /account/NAME/traffic_control. Read-only: retried. */
  accountTrafficControl(name: string, options?: CallOptions): Promise<string> {
    return this.#call({ method: "GET", path: `/api/v1/account/${segment(name)}/traffic_control`, idempotent: true, options });
  }

  /** GET /account/NAME/dump. Read-only: retried. */
  accountDump(name: string, options?: CallOptions): Promise<AccountDump> {
    return this.#call({ method: "GET", path: `/api/v1/account/${segment(name)}/dump`, idempotent: true, options });
  }

  /** GET /account/NAME/traffic_statistics/YEAR/MONTH: every day of the month, bytes. Read-only: retried. */
  accountTrafficStatistics(name: string, year: number | string, month: number | string, options?: CallOptions): Promise<DailyTraffic[]> {
    return this.#call({
      method: "GET",
      path: `/api/v1/account/${segment(name)}/traffic_statistics/${segment(year)}/${segment(month)}`,
      idempotent: true,
      options,
    });
  }

  // ---- WireGuard servers -------------------------------------------------------------------

  /** GET /wireguard/info: versions of the WireGuard tools. Read-only: retried. */
  wireguardInfo(options?: CallOptions): Promise<Record<string, string>> {
    return this.#call({ method: "GET", path: "/api/v1/wireguard/info", idempotent: true, options });
  }

  /** GET /wireguard/online. Read-only: retried. */
  wireguardOnline(options?: CallOptions): Promise<WireguardOnlineAccount[]> {
    return this.#call({ method: "GET", path: "/api/v1/wireguard/online", idempotent: true, options });
  }

  /** GET /wireguard: servers keyed by name. Read-only: retried. */
  listWireguardServers(options?: CallOptions): Promise<Record<string, WireguardServer>> {
    return this.#call({ method: "GET", path: "/api/v1/wireguard", idempotent: true, options });
  }

  /** GET /wireguard/NAME. Read-only: retried. */
  getWireguardServer(name: string, options?: CallOptions): Promise<WireguardServer> {
    return this.#call({ method: "GET", path: `/api/v1/wireguard/${segment(name)}`, idempotent: true, options });
  }

  /** POST /wireguard. Never retried: a repeat would create a second server. */
  createWireguardServer(input: WireguardServerCreate = {}, options?: CallOptions): Promise<WireguardServer> {
    return this.#call({ method: "POST", path: "/api/v1/wireguard", idempotent: false, form: input, options });
  }

  /** PUT /wireguard/NAME. Sets the given fields: retried. */
  updateWireguardServer(name: string, update: WireguardServerUpdate, options?: CallOptions): Promise<WireguardServer> {
    return this.#call({ method: "PUT", path: `/api/v1/wireguard/${segment(name)}`, idempotent: true, form: update, options });
  }

  /** DELETE /wireguard/NAME. Gone however often it is sent: retried (a late repeat may answer "Wireguard server not found"). */
  deleteWireguardServer(name: string, options?: CallOptions): Promise<"success"> {
    return this.#call({ method: "DELETE", path: `/api/v1/wireguard/${segment(name)}`, idempotent: true, options });
  }

  /** GET /wireguard/NAME/peers: the server's accounts keyed by name. Read-only: retried. */
  wireguardPeers(name: string, options?: CallOptions): Promise<Record<string, Account>> {
    return this.#call({ method: "GET", path: `/api/v1/wireguard/${segment(name)}/peers`, idempotent: true, options });
  }

  /** GET /wireguard/NAME/available_ips: free addresses of the subnet. Read-only: retried. */
  wireguardAvailableIps(name: string, options?: CallOptions): Promise<string[]> {
    return this.#call({ method: "GET", path: `/api/v1/wireguard/${segment(name)}/available_ips`, idempotent: true, options });
  }

  /** GET /wireguard/NAME/dump. Read-only: retried. */
  wireguardDump(name: string, options?: CallOptions): Promise<WireguardDump> {
    return this.#call({ method: "GET", path: `/api/v1/wireguard/${segment(name)}/dump`, idempotent: true, options });
  }

  /** GET /wireguard/NAME/traffic_control. Read-only: retried. */
  wireguardTrafficControl(name: string, options?: CallOptions): Promise<string> {
    return this.#call({ method: "GET", path: `/api/v1/wireguard/${segment(name)}/traffic_control`, idempotent: true, options });
  }

  /** GET /wireguard/NAME/firewall_nat_rules. Read-only: retried. */
  wireguardNatRules(name: string, options?: CallOptions): Promise<string> {
    return this.#call({ method: "GET", path: `/api/v1/wireguard/${segment(name)}/firewall_nat_rules`, idempotent: true, options });
  }

  /** GET /wireguard/NAME/firewall_filter_rules. Read-only: retried. */
  wireguardFilterRules(name: string, options?: CallOptions): Promise<string> {
    return this.#call({ method: "GET", path: `/api/v1/wireguard/${segment(name)}/firewall_filter_rules`, idempotent: true, options });
  }

  /** PUT /wireguard/NAME/set_bandwidth: the pair for every account of the server; same pair, same result: retried. */
  setWireguardBandwidth(
    name: string,
    bandwidth: { readonly b_download?: FormScalar; readonly b_upload?: FormScalar },
    options?: CallOptions,
  ): Promise<Record<string, Account>> {
    return this.#call({
      method: "PUT",
      path: `/api/v1/wireguard/${segment(name)}/set_bandwidth`,
      idempotent: true,
      form: bandwidth,
      options,
    });
  }

  // ---- IKEv2 -------------------------------------------------------------------------------

  /** GET /ikev2/info. Read-only: retried. */
  ikev2Info(options?: CallOptions): Promise<Record<string, string>> {
    return this.#call({ method: "GET", path: "/api/v1/ikev2/info", idempotent: true, options });
  }

  /** GET /ikev2/config. Read-only: retried. */
  ikev2Config(options?: CallOptions): Promise<Ikev2Config> {
    return this.#call({ method: "GET", path: "/api/v1/ikev2/config", idempotent: true, options });
  }

  /** PUT /ikev2 (enabled 1/0). A switch set to a value: retried. */
  setIkev2Enabled(enabled: boolean, options?: CallOptions): Promise<Ikev2Config> {
    return this.#call({ method: "PUT", path: "/api/v1/ikev2", idempotent: true, form: { enabled }, options });
  }

  /** PUT /ikev2/generate_ca_rsa. A new key every time (a repeat answers "The root certificate is already in the system"): not retried. */
  generateIkev2Ca(input: Ikev2CaGenerate, options?: CallOptions): Promise<Ikev2Config> {
    return this.#call({ method: "PUT", path: "/api/v1/ikev2/generate_ca_rsa", idempotent: false, form: input, options });
  }

  /** PUT /ikev2/import_ca_rsa. A repeat after a lost success is refused as a duplicate: not retried. */
  importIkev2Ca(input: Ikev2CaImport, options?: CallOptions): Promise<Ikev2Config> {
    return this.#call({ method: "PUT", path: "/api/v1/ikev2/import_ca_rsa", idempotent: false, form: input, options });
  }

  /** DELETE /ikev2/delete_ca_rsa. Gone however often it is sent: retried. */
  deleteIkev2Ca(options?: CallOptions): Promise<"success"> {
    return this.#call({ method: "DELETE", path: "/api/v1/ikev2/delete_ca_rsa", idempotent: true, options });
  }

  /** PUT /ikev2/generate_server_rsa. Issues a new key and certificate each time, replacing the last: not retried. */
  generateIkev2ServerCertificate(input: Ikev2ServerGenerate, options?: CallOptions): Promise<Ikev2Config> {
    return this.#call({ method: "PUT", path: "/api/v1/ikev2/generate_server_rsa", idempotent: false, form: input, options });
  }

  /** DELETE /ikev2/delete_server_rsa. Gone however often it is sent: retried. */
  deleteIkev2ServerCertificate(options?: CallOptions): Promise<"success"> {
    return this.#call({ method: "DELETE", path: "/api/v1/ikev2/delete_server_rsa", idempotent: true, options });
  }

  /** GET /ikev2/online. Read-only: retried. */
  ikev2Online(options?: CallOptions): Promise<Ikev2OnlineAccount[]> {
    return this.#call({ method: "GET", path: "/api/v1/ikev2/online", idempotent: true, options });
  }

  /** DELETE /ikev2/online/NAME: ends the account's sessions; none left after a repeat either: retried. */
  disconnectIkev2(name: string, options?: CallOptions): Promise<"success"> {
    return this.#call({ method: "DELETE", path: `/api/v1/ikev2/online/${segment(name)}`, idempotent: true, options });
  }

  // ---- One-time links ----------------------------------------------------------------------

  /** GET /otl/config. Read-only: retried. */
  otlConfig(options?: CallOptions): Promise<OtlConfig> {
    return this.#call({ method: "GET", path: "/api/v1/otl/config", idempotent: true, options });
  }

  /** PUT /otl/config. Sets the given values: retried. */
  updateOtlConfig(update: OtlConfigUpdate, options?: CallOptions): Promise<OtlConfig> {
    return this.#call({ method: "PUT", path: "/api/v1/otl/config", idempotent: true, form: update, options });
  }

  /** GET /otl/list: live links. Read-only: retried. */
  otlList(options?: CallOptions): Promise<OtlList> {
    return this.#call({ method: "GET", path: "/api/v1/otl/list", idempotent: true, options });
  }

  /** GET /otl/config_wireguard or /otl/config_ikev2. Read-only: retried. */
  otlProtocolConfig(protocol: OtlProtocol, options?: CallOptions): Promise<OtlProtocolConfig> {
    return this.#call({ method: "GET", path: `/api/v1/otl/config_${protocol}`, idempotent: true, options });
  }

  /** PUT /otl/config_wireguard or /otl/config_ikev2. Sets the given values: retried. */
  updateOtlProtocolConfig(protocol: OtlProtocol, update: OtlProtocolConfigUpdate, options?: CallOptions): Promise<OtlProtocolConfig> {
    return this.#call({ method: "PUT", path: `/api/v1/otl/config_${protocol}`, idempotent: true, form: update, options });
  }

  // ---- Description -------------------------------------------------------------------------

  /** GET /api/v1/openapi.json: the OpenAPI document (plain JSON, no envelope). Read-only: retried. */
  openApiDocument(options?: CallOptions): Promise<Record<string, unknown>> {
    return this.#call({ method: "GET", path: "/api/v1/openapi.json", idempotent: true, raw: true, options });
  }

  // ---- Transport ---------------------------------------------------------------------------

  async #call<T>(request: Request): Promise<T> {
    const attempts = request.idempotent ? Math.max(0, Math.floor(request.options?.retries ?? this.#retries)) + 1 : 1;
    let url = `${this.baseUrl}${request.path}`;
    const query = Object.entries(request.query ?? {}).filter((entry): entry is [string, string | number] => entry[1] !== undefined);
    if (query.length > 0) url += `?${new URLSearchParams(query.map(([k, v]) => [k, String(v)])).toString()}`;
    const endpoint = `${request.method} ${request.path}`;
    const callerSignal = request.options?.signal;

    for (let attempt = 1; ; attempt += 1) {
      try {
        return (await this.#attempt(url, endpoint, attempt, request)) as T;
      } catch (error) {
        const failure = error as VpncpApiError;
        if (attempt >= attempts || !retryable(failure) || callerSignal?.aborted) throw failure;
        await this.#pause(attempt, callerSignal).catch(() => {
          throw this.#error("aborted", `The call to ${endpoint} was aborted`, 0, endpoint, attempt, callerSignal?.reason);
        });
      }
    }
  }

  async #attempt(url: string, endpoint: string, attempt: number, request: Request): Promise<unknown> {
    const timeoutMs = request.options?.timeoutMs ?? this.#timeoutMs;
    const timeout = AbortSignal.timeout(timeoutMs);
    const callerSignal = request.options?.signal;
    const signal = callerSignal ? AbortSignal.any([timeout, callerSignal]) : timeout;
    let response: Response;
    let text: string;
    try {
      response = await this.#fetch(url, {
        method: request.method,
        headers: { cookie: `access_hash=${this.#accessHash}`, accept: "application/json" },
        body: request.form ? toForm(request.form) : undefined,
        redirect: "error",
        signal,
      });
      text = await response.text();
    } catch (error) {
      if (callerSignal?.aborted) throw this.#error("aborted", `The call to ${endpoint} was aborted`, 0, endpoint, attempt, error);
      if (timeout.aborted)
        throw this.#error("timeout", `vpncp at ${this.baseUrl} did not answer within ${timeoutMs} ms`, 0, endpoint, attempt, error);
      throw this.#error("network", `Cannot reach vpncp at ${this.baseUrl}: ${describeCause(error)}`, 0, endpoint, attempt, error);
    }

    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      body = undefined;
    }
    if (request.raw && response.ok && body !== undefined) return body;
    if (!isEnvelope(body)) {
      throw this.#error(
        "invalid_response",
        `vpncp at ${this.baseUrl} answered HTTP ${response.status} without the API envelope`,
        response.status,
        endpoint,
        attempt,
      );
    }
    if (body.status === "success" && response.ok) return body.msg;
    const sentence = typeof body.error === "string" && body.error !== "" ? body.error : `HTTP ${response.status}`;
    throw this.#error("api", sentence, response.status, endpoint, attempt);
  }

  #error(kind: VpncpApiErrorKind, message: string, status: number, endpoint: string, attempts: number, cause?: unknown): VpncpApiError {
    return new VpncpApiError(message, { kind, status, endpoint, baseUrl: this.baseUrl, attempts, cause });
  }

  /** Exponential backoff with jitter, so many clients retrying a node that restarts do not return in step. */
  #pause(attempt: number, signal: AbortSignal | undefined): Promise<void> {
    const base = Math.min(this.#retryDelayMs * 2 ** (attempt - 1), MAX_RETRY_DELAY_MS);
    const delay = base / 2 + Math.random() * (base / 2);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        signal?.removeEventListener("abort", onAbort);
        resolve();
      }, delay);
      const onAbort = () => {
        clearTimeout(timer);
        reject(signal?.reason);
      };
      signal?.addEventListener("abort", onAbort, { once: true });
    });
  }
}

/** Worth another attempt: the node did not answer, or answered that it could not serve now. */
function retryable(error: VpncpApiError): boolean {
  if (!(error instanceof VpncpApiError)) return false;
  if (error.kind === "timeout" || error.kind === "network") return true;
  if (error.kind === "api" || error.kind === "invalid_response") return error.status >= 500 || error.status === 429;
  return false;
}
