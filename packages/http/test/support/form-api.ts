import type { H3 } from "h3";

/** A request with the access hash cookie; fields go form-encoded, as the panel sends them. */
function formInit(method: string, hash: string, fields?: Record<string, string | number>): RequestInit {
  const init: RequestInit = { method, headers: { cookie: `access_hash=${hash}` } };
  if (fields) {
    init.body = new URLSearchParams(Object.entries(fields).map(([k, v]) => [k, String(v)])).toString();
    (init.headers as Record<string, string>)["content-type"] = "application/x-www-form-urlencoded";
  }
  return init;
}

export interface FormAnswer {
  readonly status: number;
  readonly body: { error: string; msg: Record<string, unknown>; status: string };
}

export interface FormApi {
  /** A request in-process (app.request) with the access hash cookie. */
  api(method: string, path: string, body?: Record<string, string>): Promise<FormAnswer>;
  /** What GET /api/v1/system/status says: "OK", or "Error (<port> <operation>: …)". */
  status(): Promise<string>;
}

/** The API of `app` as the tests that build their own vpncp (faulty drivers, stored data) call it. */
export function formApi(app: H3, hash: string): FormApi {
  const api: FormApi["api"] = async (method, path, body) => {
    const response = await app.request(path, formInit(method, hash, body));
    return { status: response.status, body: (await response.json()) as FormAnswer["body"] };
  };
  return { api, status: async () => String((await api("GET", "/api/v1/system/status")).body.msg.status) };
}

/** The API of a vpncp process listening at `url` (the crash tests' children): status, msg and error of each answer. */
export function fetchApi(
  url: string,
  hash: string,
): <T = unknown>(
  method: string,
  path: string,
  fields?: Record<string, string | number>,
) => Promise<{ status: number; msg: T; error: string }> {
  return async (method, path, fields) => {
    const response = await fetch(`${url}${path}`, formInit(method, hash, fields));
    const body = (await response.json()) as { msg: never; error: string };
    return { status: response.status, msg: body.msg, error: body.error };
  };
}
