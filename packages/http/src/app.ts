import { createHash, timingSafeEqual } from "node:crypto";
import { type Logger, silentLogger, TYPES, type Vpncp } from "@vpncp/core";
import { getCookie, getRequestIP, H3, type H3Event } from "h3";
import { type AccessCheck, AuthFailureLimiter, type AuthFailureOptions } from "./auth-failures.js";
import { parseTrustedProxies, resolveClientAddress, type TrustProxySetting } from "./client-address.js";
import { errorResponse, toErrorResponse } from "./envelope.js";
import { createMetrics, metricsRoute } from "./metrics.js";
import { openApiDocument } from "./openapi.js";
import { accountRoutes } from "./routes/accounts.js";
import { ikev2Routes } from "./routes/ikev2.js";
import { otlRoutes } from "./routes/otl.js";
import { systemRoutes } from "./routes/system.js";
import { wireguardRoutes } from "./routes/wireguard.js";

export interface HttpAppOptions {
  /** Structured request logs (never cookies, bodies or secrets). */
  readonly logger?: Logger | undefined;
  /**
   * Proxies whose X-Forwarded-For names the client (the address hashes are bound to): true for
   * loopback only, or addresses and CIDRs ("127.0.0.1,10.0.0.0/8"). From any other peer the
   * header is ignored.
   */
  readonly trustProxy?: TrustProxySetting;
  /** How rejected access hashes are slowed down and logged per address. */
  readonly authFailures?: AuthFailureOptions | undefined;
  /** Extra routes added before the fallbacks; `access` is the API's own hash check, for routes outside /api. */
  readonly extend?: ((app: H3, vpncp: Vpncp, access: AccessCheck) => void) | undefined;
  /** Serve /metrics (default true); guarded by an access hash or, when set, this bearer token. */
  readonly metrics?: boolean | undefined;
  readonly metricsToken?: string | undefined;
}

/** Paths that answer without an access hash. */
const PUBLIC = [/^\/otl\//, /^\/api\/v1\/openapi\.json$/];

/** The path as logged: a one-time link's key opens a client's config, so it stays out of the logs. */
function loggedPath(path: string): string {
  return path.replace(/^\/otl\/[^/]+/, "/otl/(key)");
}

/** The client's address: the direct peer's, or from X-Forwarded-For when the peer is a trusted proxy. */
export function clientAddress(event: H3Event, trustProxy: TrustProxySetting = false): string {
  return resolveClientAddress(getRequestIP(event) ?? "", event.req.headers.get("x-forwarded-for"), parseTrustedProxies(trustProxy));
}

function bearerMatches(event: H3Event, token: string): boolean {
  const header = event.req.headers.get("authorization") ?? "";
  // digests of equal length: the comparison tells nothing, not even the token's length
  const given = createHash("sha256")
    .update(header.startsWith("Bearer ") ? header.slice(7) : "")
    .digest();
  const wanted = createHash("sha256").update(token).digest();
  return timingSafeEqual(given, wanted);
}

/** The PUQVPN control-panel API v1 over a vpncp instance, as an h3 app. */
export function createHttpApp(vpncp: Vpncp, options: HttpAppOptions = {}): H3 {
  const logger = options.logger ?? silentLogger;
  const trustedProxies = parseTrustedProxies(options.trustProxy);
  const failures = new AuthFailureLimiter(logger, options.authFailures);
  const app = new H3({
    // h3 would print every thrown error (each "Account not found") with its stack to stderr; ours go to the logger
    silent: true,
    onError(error, event) {
      const { response, internal } = toErrorResponse(error);
      if (internal)
        logger.error("request failed", {
          method: event.req.method,
          path: loggedPath(event.url.pathname),
          error: String(error.cause ?? error),
        });
      return response;
    },
    onResponse(response, event) {
      const started = (event.context as { started?: number }).started ?? performance.now();
      logger.info("request", {
        method: event.req.method,
        path: loggedPath(event.url.pathname),
        status: response.status,
        ms: Math.round((performance.now() - started) * 10) / 10,
      });
    },
  });

  const access: AccessCheck = (event) => {
    const path = event.url.pathname;
    const address = resolveClientAddress(getRequestIP(event) ?? "", event.req.headers.get("x-forwarded-for"), trustedProxies);
    const presented = getCookie(event, "access_hash");
    const token = path === "/metrics" && options.metricsToken ? event.req.headers.get("authorization") : null;
    return failures.check(
      address,
      path,
      Boolean(presented) || Boolean(token),
      async () =>
        (token !== null && options.metricsToken !== undefined && bearerMatches(event, options.metricsToken)) ||
        (await vpncp.accessHashes.verify(presented, address)),
    );
  };

  app.use(async (event) => {
    (event.context as { started?: number }).started = performance.now();
    const path = event.url.pathname;
    if (PUBLIC.some((re) => re.test(path))) return;
    if (!path.startsWith("/api/") && path !== "/metrics") return;
    if (!(await access(event))) return errorResponse("NOT_AUTHORIZED");
  });

  const routes = new Map<string, Set<string>>();
  const original = app.on.bind(app);
  // remember every route so a wrong method on a known path answers 405, not 404
  app.on = ((method: string, route: string, handler: never, opts?: never) => {
    const methods = routes.get(route) ?? new Set<string>();
    methods.add(method.toUpperCase());
    routes.set(route, methods);
    return original(method as never, route, handler, opts);
  }) as typeof app.on;

  systemRoutes(app, vpncp);
  accountRoutes(app, vpncp);
  wireguardRoutes(app, vpncp, () => vpncp.container.get(TYPES.WireGuard).info());
  ikev2Routes(app, vpncp);
  otlRoutes(app, vpncp);
  app.get("/api/v1/openapi.json", () => openApiDocument());
  if (options.metrics !== false) metricsRoute(app, createMetrics(vpncp).registry);
  options.extend?.(app, vpncp, access);

  app.on = original;
  for (const [route, methods] of routes) {
    app.all(route, () => {
      return Response.json(
        { error: "Method not allowed", msg: "", status: "error" },
        { status: 405, headers: { allow: [...methods].join(", ") } },
      );
    });
  }
  app.all("/**", () => errorResponse("NOT_FOUND"));
  return app;
}
