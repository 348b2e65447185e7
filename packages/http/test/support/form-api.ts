import type { H3 } from "h3";

export interface FormAnswer {
  readonly status: number;
  readonly body: { error: string; msg: Record<string, unknown>; status: string };
}

export interface FormApi {
  /** A request in-process (app.request) with the access hash cookie; a body is sent form-encoded, as the panel does. */
  api(method: string, path: string, body?: Record<string, string>): Promise<FormAnswer>;
  /** What GET /api/v1/system/status says: "OK", or "Error (<port> <operation>: …)". */
  status(): Promise<string>;
}

/** The API of `app` as the tests that build their own vpncp (faulty drivers, stored data) call it. */
export function formApi(app: H3, hash: string): FormApi {
  const api: FormApi["api"] = async (method, path, body) => {
    const init: RequestInit = { method, headers: { cookie: `access_hash=${hash}` } };
    if (body) {
      init.body = new URLSearchParams(body).toString();
      (init.headers as Record<string, string>)["content-type"] = "application/x-www-form-urlencoded";
    }
    const response = await app.request(path, init);
    return { status: response.status, body: (await response.json()) as FormAnswer["body"] };
  };
  return { api, status: async () => String((await api("GET", "/api/v1/system/status")).body.msg.status) };
}
