import { timingSafeEqual } from "node:crypto";
import { type Logger, silentLogger, TYPES, type Vpncp } from "@vpncp/core";
import { getCookie, getRequestIP, H3, type H3Event } from "h3";
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
  /** Take the client address from X-Forwarded-For (only behind a proxy you control). */
  readonly trustProxy?: boolean | undefined;
  /** Extra routes added before the fallbacks. */
  readonly extend?: ((app: H3, vpncp: Vpncp) => void) | undefined;
  /** Serve /metrics (default true); guarded by an access hash or, when set, this bearer token. */
  readonly metrics?: boolean | undefined;
  readonly metricsToken?: string | undefined;
}

/** Paths that answer without an access hash. */
const PUBLIC = [/^\/otl\//, /^\/api\/v1\/openapi\.json$/];

export function clientAddress(event: H3Event, trustProxy = false): string {
  return getRequestIP(event, { xForwardedFor: trustProxy }) ?? "";
}

function bearerMatches(event: H3Event, token: string): boolean {
  const header = event.req.headers.get("authorization") ?? "";
  const given = Buffer.from(header.startsWith("Bearer ") ? header.slice(7) : "");
  const wanted = Buffer.from(token);
  return given.length === wanted.length && timingSafeEqual(given, wanted);
}

/** The PUQVPN control-panel API v1 over a vpncp instance, as an h3 app. */
export function createHttpApp(vpncp: Vpncp, options: HttpAppOptions = {}): H3 {
  const logger = options.logger ?? silentLogger;
  const app = new H3({
    // h3 would print every thrown error (each "Account not found") with its stack to stderr; ours go to the logger
    silent: true,
    onError(error, event) {
      const { response, internal } = toErrorResponse(error);
      if (internal)
        logger.error("request failed", { method: event.req.method, path: event.url.pathname, error: String(error.cause ?? error) });
      return response;
    },
    onResponse(response, event) {
      const started = (event.context as { started?: number }).started ?? performance.now();
      logger.info("request", {
        method: event.req.method,
        path: event.url.pathname,
        status: response.status,
        ms: Math.round((performance.now() - started) * 10) / 10,
      });
    },
  });

  app.use(async (event) => {
    (event.context as { started?: number }).started = performance.now();
    const path = event.url.pathname;
    if (PUBLIC.some((re) => re.test(path))) return;
    if (!path.startsWith("/api/") && path !== "/metrics") return;
    if (path === "/metrics" && options.metricsToken && bearerMatches(event, options.metricsToken)) return;
    const ok = await vpncp.accessHashes.verify(getCookie(event, "access_hash"), clientAddress(event, options.trustProxy));
    if (!ok) return errorResponse("NOT_AUTHORIZED");
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
  options.extend?.(app, vpncp);

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
