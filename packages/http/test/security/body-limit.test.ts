/**
 * Request bodies have a size limit: past 1 MiB a POST or PUT is answered "Request body too
 * large" (413) in the envelope — announced by Content-Length, sent chunked without one, or
 * with a Content-Length that lies — and nothing changes.
 */
import { createServer, request as httpRequest, type Server } from "node:http";
import { type AddressInfo, connect } from "node:net";
import { createVpncp, type Vpncp } from "@vpncp/core";
import { createFakeDrivers } from "@vpncp/drivers";
import { toNodeHandler } from "h3/node";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { createHttpApp } from "../../src/app.js";
import { MAX_BODY_BYTES } from "../../src/body.js";

const TOO_LARGE = { error: "Request body too large", msg: "", status: "error" };
const MEGABYTES = 4 * 1024 * 1024;

let vpncp: Vpncp;
let server: Server;
let port: number;
let hash: string;

beforeAll(async () => {
  vpncp = await createVpncp({ drivers: createFakeDrivers(), storage: { driver: "memory" }, defaultExternalIp: "203.0.113.10" });
  hash = (await vpncp.accessHashes.create()).hash;
  await vpncp.servers.create({ name: "srv", address: "10.0.70.1/24" });
  server = createServer(toNodeHandler(createHttpApp(vpncp)));
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  port = (server.address() as AddressInfo).port;
});

afterAll(async () => {
  server?.closeAllConnections();
  await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
  await vpncp?.close();
});

/** A form body of `size` bytes that would be a valid account create if it were small. */
function bigForm(size: number): Buffer {
  const head = "wg_name=srv&name=huge&password=";
  return Buffer.concat([Buffer.from(head), Buffer.alloc(size - head.length, "a")]);
}

/** POSTs through node:http: with Content-Length, or chunked in 64 KiB pieces. */
function post(path: string, body: Buffer, how: "length" | "chunked", type = "application/x-www-form-urlencoded", method = "POST") {
  return new Promise<{ status: number; body: unknown }>((resolve, reject) => {
    const headers: Record<string, string | number> = { cookie: `access_hash=${hash}`, "content-type": type, connection: "close" };
    if (how === "length") headers["content-length"] = body.length;
    const req = httpRequest({ host: "127.0.0.1", port, path, method, headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(Buffer.concat(chunks).toString("utf8")) }));
    });
    // the server may answer and close before it has read everything: that is the point
    req.on("error", (error: NodeJS.ErrnoException) => (error.code === "EPIPE" || error.code === "ECONNRESET" ? undefined : reject(error)));
    const write = (offset: number) => {
      if (offset >= body.length) return void req.end();
      if (req.destroyed) return;
      req.write(body.subarray(offset, offset + 65_536), () => write(offset + 65_536));
    };
    write(0);
  });
}

/** Raw bytes on a socket, for a Content-Length that does not match the body; resolves with what came back. */
function raw(head: string, body: Buffer, endAfterBody: boolean): Promise<string> {
  return new Promise((resolve) => {
    const socket = connect(port, "127.0.0.1");
    let answer = "";
    socket.on("data", (c: Buffer) => {
      answer += c.toString("latin1");
    });
    socket.on("error", () => {});
    socket.on("close", () => resolve(answer));
    socket.write(head);
    socket.write(body, () => {
      if (endAfterBody) socket.end();
    });
    setTimeout(() => socket.destroy(), 5_000).unref();
  });
}

const accountCount = () => vpncp.accounts.count;

describe("request bodies past the limit", () => {
  test("a multi-megabyte body with its Content-Length: 413 before it is read", async () => {
    const before = accountCount();
    expect(await post("/api/v1/account", bigForm(MEGABYTES), "length")).toEqual({ status: 413, body: TOO_LARGE });
    expect(accountCount()).toBe(before);
  });

  test("a multi-megabyte body sent chunked (no length to check first): 413 once the limit is passed", async () => {
    const before = accountCount();
    expect(await post("/api/v1/account", bigForm(MEGABYTES), "chunked")).toEqual({ status: 413, body: TOO_LARGE });
    expect(await post("/api/v1/wireguard/srv", bigForm(MEGABYTES), "chunked", undefined, "PUT")).toEqual({ status: 413, body: TOO_LARGE });
    expect(accountCount()).toBe(before);
  });

  test("chunked JSON and multipart bodies past the limit: 413 too (multipart is not buffered whole first)", async () => {
    const json = Buffer.from(JSON.stringify({ wg_name: "srv", name: "huge", password: "a".repeat(MEGABYTES) }));
    expect(await post("/api/v1/account", json, "chunked", "application/json")).toEqual({ status: 413, body: TOO_LARGE });
    const boundary = "----vpncp";
    const multipart = Buffer.concat([
      Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="password"\r\n\r\n`),
      Buffer.alloc(MEGABYTES, "a"),
      Buffer.from(`\r\n--${boundary}--\r\n`),
    ]);
    expect(await post("/api/v1/account", multipart, "chunked", `multipart/form-data; boundary=${boundary}`)).toEqual({
      status: 413,
      body: TOO_LARGE,
    });
  });

  test("exactly at the limit is read (and judged on its fields), one byte over is not", async () => {
    expect((await post("/api/v1/account", bigForm(MAX_BODY_BYTES), "chunked")).body).toMatchObject({
      error: "Wrong password (1 to 128 printable characters, no spaces or quotes)",
    });
    expect(await post("/api/v1/account", bigForm(MAX_BODY_BYTES + 1), "chunked")).toEqual({ status: 413, body: TOO_LARGE });
  });

  test("a Content-Length that lies: a huge announced length is refused at once; a small one reads no further", async () => {
    const before = accountCount();
    const head = (length: number) =>
      `POST /api/v1/account HTTP/1.1\r\nHost: 127.0.0.1\r\nCookie: access_hash=${hash}\r\n` +
      `Content-Type: application/x-www-form-urlencoded\r\nContent-Length: ${length}\r\nConnection: close\r\n\r\n`;
    // announces 50 MB, sends a few bytes and stops
    const announced = await raw(head(50 * 1024 * 1024), Buffer.from("wg_name=srv"), true);
    expect(announced).toMatch(/^HTTP\/1\.1 413 /);
    expect(announced).toContain(JSON.stringify(TOO_LARGE));
    // announces 8 bytes ("wg_name=") and sends megabytes after them: the 8 are the body, and the rest is not
    // a request: Node's parser answers 400 and closes the connection (it may do so before vpncp's answer)
    const understated = await raw(head(8), bigForm(MEGABYTES), false);
    expect(understated).toMatch(/^HTTP\/1\.1 400 /);
    expect(understated).not.toMatch(/HTTP\/1\.1 5\d\d/);
    expect(accountCount()).toBe(before);
    // and the server carries on
    const status = await fetch(`http://127.0.0.1:${port}/api/v1/system/status`, { headers: { cookie: `access_hash=${hash}` } });
    expect(status.status).toBe(200);
  });
});
