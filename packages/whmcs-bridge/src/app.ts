import { createHash, timingSafeEqual } from "node:crypto";
import { getRouterParam, H3 } from "h3";
import { BRIDGE_FUNCTIONS, type WhmcsBridge } from "./bridge.js";
import type { WhmcsParams } from "./params.js";

export interface BridgeAppOptions {
  /** The bearer token the PHP module sends (the WHMCS server's access hash or password). */
  readonly token: string;
}

const MAX_BODY = 256 * 1024;
const KNOWN = new Set<string>(BRIDGE_FUNCTIONS);

const digest = (value: string) => createHash("sha256").update(value).digest();

function answer(body: unknown, status = 200): Response {
  return Response.json(body, { status, headers: { "cache-control": "no-store" } });
}

/**
 * The bridge over HTTP for the PHP module: POST /bridge/<Function> with WHMCS's $params as JSON
 * and `Authorization: Bearer <token>`; the answer is `{ result: "success" | sentence, data? }`.
 * WHMCS sentences come with 200 (the result is the answer); only a wrong token, an unknown
 * function or an unreadable body get other statuses.
 */
export function createBridgeApp(bridge: WhmcsBridge, options: BridgeAppOptions): H3 {
  if (options.token.length < 16) throw new Error("the bridge token must be at least 16 characters");
  const expected = digest(options.token);
  const app = new H3();

  app.post("/bridge/:fn", async (event) => {
    const header = event.req.headers.get("authorization") ?? "";
    const given = /^Bearer (.+)$/i.exec(header)?.[1] ?? "";
    // compare digests: constant time whatever the lengths
    if (!timingSafeEqual(digest(given), expected)) return answer({ result: "Not authorized" }, 401);

    const fn = getRouterParam(event, "fn") ?? "";
    if (!KNOWN.has(fn)) return answer({ result: `Unknown function: ${fn}` }, 404);

    let params: unknown;
    try {
      const text = await event.req.text();
      if (text.length > MAX_BODY) return answer({ result: "Malformed request body" }, 413);
      params = text.trim() === "" ? {} : JSON.parse(text);
    } catch {
      return answer({ result: "Malformed request body" }, 400);
    }
    if (params === null || typeof params !== "object" || Array.isArray(params)) return answer({ result: "Malformed request body" }, 400);
    return answer(await bridge.call(fn, params as WhmcsParams));
  });
  app.all("/bridge/:fn", () => answer({ result: "Method not allowed" }, 405));
  app.all("/**", () => answer({ result: "Not found" }, 404));
  return app;
}
