import { resolve } from "node:path";
import { afterEach, describe, expect, test } from "vitest";
import { verifyWebhookSignature } from "../../src/plugins/index.js";
import type { RunningServer } from "../../src/serve.js";
import { captureLogger, configDir, HASH, receiver, serveConfig, until } from "./harness.js";

const AUDIT_PLUGIN = resolve(import.meta.dirname, "../../../../examples/plugins/audit-log/index.ts");
const SECRET = "a-webhook-secret-of-some-length";
const cookie = { cookie: `access_hash=${HASH}` };

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function started(config: Record<string, unknown>) {
  const dir = await configDir({ dataDir: "data", ...config });
  cleanups.push(dir.cleanup);
  const { logger, lines } = captureLogger();
  const server: RunningServer = await serveConfig(dir.path, logger);
  cleanups.push(() => server.close());
  const api = (path: string, init: RequestInit = {}) =>
    fetch(`${server.url}${path}`, { ...init, headers: { ...cookie, ...(init.headers as Record<string, string>) } });
  return { server, api, lines, dir };
}

async function form(api: (path: string, init?: RequestInit) => Promise<Response>, method: string, path: string, body: string) {
  const response = await api(path, { method, body, headers: { "content-type": "application/x-www-form-urlencoded" } });
  const json = (await response.json()) as { status: string; error: string };
  expect(json, `${method} ${path}`).toMatchObject({ status: "success" });
  return json;
}

describe("plugins from a configuration file", () => {
  test("the example audit log and the webhook see the API's changes; the audit route needs the access hash", async () => {
    const hook = await receiver();
    cleanups.push(hook.close);
    const { api, server } = await started({
      plugins: [
        {
          module: AUDIT_PLUGIN,
          options: { file: "audit/events.jsonl", events: ["server.created", "account.created", "account.disabled"] },
        },
        { module: "webhook", options: { url: hook.url, secret: SECRET, backoffMs: 10 } },
      ],
    });
    await form(api, "POST", "/api/v1/wireguard", "name=srv");
    await form(api, "POST", "/api/v1/account", "wg_name=srv&name=alice&password=Secret-Passw0rd-1");
    await form(api, "PUT", "/api/v1/account/alice", "status=disable");

    // the webhook: one signed POST per event, in order, without secrets
    await until(() => hook.received.length >= 4);
    const types = hook.received.map((r) => r.headers["x-vpncp-event"]);
    expect(types).toEqual(["server.created", "account.created", "account.updated", "account.disabled"]);
    for (const request of hook.received) {
      expect(request.headers["content-type"]).toBe("application/json");
      const valid = verifyWebhookSignature({
        secret: SECRET,
        body: request.body,
        timestamp: String(request.headers["x-vpncp-timestamp"]),
        signature: String(request.headers["x-vpncp-signature"]),
      });
      expect(valid).toBe(true);
      expect(
        verifyWebhookSignature({
          secret: "another-secret-of-length",
          body: request.body,
          timestamp: String(request.headers["x-vpncp-timestamp"]),
          signature: String(request.headers["x-vpncp-signature"]),
        }),
      ).toBe(false);
      const event = JSON.parse(request.body) as { id: string; type: string };
      expect(request.headers["x-vpncp-delivery"]).toBe(event.id);
      expect(request.body).not.toContain("Secret-Passw0rd-1");
      expect(request.body).not.toContain("privateKey");
    }
    expect(JSON.parse(hook.received[1]!.body)).toMatchObject({
      type: "account.created",
      account: { name: "alice", wgName: "srv", status: "enable" },
    });

    // the audit log: its route, under its prefix, behind the access hash
    const entries = async () => ((await (await api("/plugins/audit-log/entries")).json()) as { entries: { type: string }[] }).entries;
    expect((await entries()).map((e) => e.type)).toEqual(["server.created", "account.created", "account.disabled"]);
    const anonymous = await fetch(`${server.url}/plugins/audit-log/entries`);
    expect(anonymous.status).toBe(401);
    expect(await anonymous.json()).toEqual({ error: "Not authorized", msg: "", status: "error" });
    // the built-in metrics plugin still answers /metrics
    expect((await api("/metrics")).status).toBe(200);
  });

  test("a failing receiver gets the event again with backoff until it accepts it; the API does not wait for it", async () => {
    const hook = await receiver((_request, n) => (n <= 2 ? 503 : 200));
    cleanups.push(hook.close);
    const { api, lines } = await started({
      plugins: [
        { module: "webhook", options: { url: hook.url, secret: SECRET, events: ["server.created"], backoffMs: 50, maxAttempts: 5 } },
      ],
    });
    await form(api, "POST", "/api/v1/wireguard", "name=srv");
    await until(() => hook.received.length >= 3);
    expect(hook.received.map((r) => r.headers["x-vpncp-attempt"])).toEqual(["1", "2", "3"]);
    expect(new Set(hook.received.map((r) => r.headers["x-vpncp-delivery"])).size).toBe(1);
    expect(new Set(hook.received.map((r) => r.body)).size).toBe(1);
    const retries = lines.filter((l) => l.message === "webhook delivery failed; retrying");
    expect(retries.map((l) => [l.fields.plugin, l.fields.attempt, l.fields.retryInMs, l.fields.reason])).toEqual([
      ["webhook", 1, 50, "HTTP 503"],
      ["webhook", 2, 100, "HTTP 503"],
    ]);
  });

  test("a receiver that stays down is given up after maxAttempts; one that refuses (4xx) is not retried", async () => {
    const down = await receiver();
    await down.close(); // nothing listens on its port any more
    const refusing = await receiver(() => 400);
    cleanups.push(refusing.close);
    const { api, lines } = await started({
      plugins: [
        { module: "webhook", options: { url: down.url, secret: SECRET, events: ["server.created"], backoffMs: 10, maxAttempts: 3 } },
      ],
    });
    await form(api, "POST", "/api/v1/wireguard", "name=srv");
    await until(() => lines.some((l) => l.message === "webhook delivery gave up"));
    expect(lines.filter((l) => l.message === "webhook delivery failed; retrying")).toHaveLength(2);
    expect(lines.find((l) => l.message === "webhook delivery gave up")?.fields).toMatchObject({ event: "server.created", attempts: 3 });

    const second = await started({
      plugins: [{ module: "webhook", options: { url: refusing.url, secret: SECRET, events: ["server.created"], backoffMs: 10 } }],
    });
    await form(second.api, "POST", "/api/v1/wireguard", "name=srv");
    await until(() => second.lines.some((l) => l.message === "webhook refused the event; not retried"));
    expect(refusing.received).toHaveLength(1);
  });

  test("a plugin replaces a port through its container identifier: the API's changes go through its wrapper", async () => {
    const { api } = await started({ plugins: [resolve(import.meta.dirname, "fixtures/firewall-spy.ts")] });
    await form(api, "POST", "/api/v1/wireguard", "name=srv&address=10.0.110.1/24");
    await form(api, "POST", "/api/v1/account", "wg_name=srv&name=alice&allowed_IPs=10.0.110.52");
    await form(api, "DELETE", "/api/v1/account/alice", "");
    const { calls } = (await (await api("/plugins/firewall-spy/calls")).json()) as { calls: string[] };
    expect(calls).toEqual(["upsert 10.0.110.52", "remove 10.0.110.52"]);
  });
});
