import type { DomainEvent } from "@vpncp/core";
import { afterEach, describe, expect, test } from "vitest";
import { WebhookSender, webhookOptions } from "../../src/plugins/index.js";
import { captureLogger, receiver, until } from "./harness.js";

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

const event = (n: number): DomainEvent =>
  ({ type: "server.deleted", id: `id-${n}`, at: new Date(0).toISOString(), server: { name: `srv${n}` } }) as unknown as DomainEvent;

describe("the webhook sender", () => {
  test("a full queue drops the oldest waiting events and says so once", async () => {
    let release = () => {};
    const held = new Promise<void>((resolve) => {
      release = resolve;
    });
    const { logger, lines } = captureLogger();
    // a receiver that holds the first request until released, then accepts everything
    const slow = await import("node:http").then(({ createServer }) => {
      const bodies: string[] = [];
      const server = createServer((req, res) => {
        let body = "";
        req.on("data", (c) => {
          body += c;
        });
        req.on("end", async () => {
          if (bodies.length === 0) await held;
          bodies.push(body);
          res.end();
        });
      });
      return new Promise<{ url: string; bodies: string[]; close(): Promise<void> }>((resolve) =>
        server.listen(0, "127.0.0.1", () =>
          resolve({
            url: `http://127.0.0.1:${(server.address() as { port: number }).port}/`,
            bodies,
            close: () => new Promise<void>((r) => server.close(() => r())),
          }),
        ),
      );
    });
    cleanups.push(slow.close);
    const sender = new WebhookSender(
      webhookOptions.parse({ url: slow.url, secret: "a-webhook-secret-of-some-length", queueSize: 2 }),
      logger,
    );
    cleanups.push(() => sender.close());
    for (let n = 1; n <= 5; n += 1) sender.enqueue(event(n));
    release();
    await until(() => slow.bodies.length === 3);
    expect(slow.bodies.map((b) => (JSON.parse(b) as { id: string }).id)).toEqual(["id-1", "id-4", "id-5"]);
    await until(() => lines.some((l) => l.message === "webhook queue overflowed"));
    expect(lines.filter((l) => l.message.startsWith("webhook queue")).map((l) => [l.message, l.fields.dropped ?? l.fields.id])).toEqual([
      ["webhook queue full: dropping the oldest events", "id-2"],
      ["webhook queue overflowed", 2],
    ]);
  });

  test("stopping waits for the queue at most drainTimeoutMs, then abandons what is left", async () => {
    // a receiver that never answers
    const silent = await receiver();
    await silent.close();
    const { logger, lines } = captureLogger();
    const sender = new WebhookSender(
      webhookOptions.parse({
        url: silent.url,
        secret: "a-webhook-secret-of-some-length",
        backoffMs: 60_000,
        maxBackoffMs: 60_000,
        drainTimeoutMs: 100,
      }),
      logger,
    );
    sender.enqueue(event(1));
    sender.enqueue(event(2));
    await until(() => lines.some((l) => l.message === "webhook delivery failed; retrying"));
    await sender.close();
    expect(lines.find((l) => l.message === "webhook stopped with events undelivered")?.fields).toEqual({ events: 2 });
    expect(sender.pending).toBe(0);
  });
});
