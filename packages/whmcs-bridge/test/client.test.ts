import { createServer, type Server, type Socket } from "node:net";
import { type Account, type DailyTraffic, type SystemStatus, VpncpApiError, VpncpClient, type WireguardServer } from "@vpncp/http/client";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { startNode, type TestNode } from "./harness.js";

/** Key lists typed against the client's types: a field the server sends and the types lack (or the reverse) fails. */
const ACCOUNT_KEYS = Object.keys({
  allowed_IPs: 1,
  allowed_IPs_ipv6: 1,
  b_download: 1,
  b_upload: 1,
  mangle: 1,
  name: 1,
  password: 1,
  private_key: 1,
  public_key: 1,
  status: 1,
  username: 1,
  wg_name: 1,
} satisfies Record<keyof Account, 1>).sort();
const SERVER_KEYS = Object.keys({
  address: 1,
  address_ipv6: 1,
  allowed_ips: 1,
  b_download: 1,
  b_upload: 1,
  dns_1: 1,
  dns_1_ipv6: 1,
  dns_2: 1,
  dns_2_ipv6: 1,
  endpoint: 1,
  external_ip: 1,
  ikev2: 1,
  interface_name: 1,
  internal_traffic: 1,
  ipv6: 1,
  keep_alive: 1,
  listen_port: 1,
  mtu: 1,
  name: 1,
  private_key: 1,
  public_key: 1,
} satisfies Record<keyof WireguardServer, 1>).sort();
const STATUS_KEYS = Object.keys({
  count_accounts: 1,
  count_accounts_available: 1,
  count_wireguard: 1,
  license: 1,
  license_valid: 1,
  status: 1,
  version: 1,
} satisfies Record<keyof SystemStatus, 1>).sort();
const DAY_KEYS = Object.keys({ account: 1, date: 1, traffic_download: 1, traffic_upload: 1 } satisfies Record<
  keyof DailyTraffic,
  1
>).sort();

/** A fetch that fails the first `failures` calls of each method as a dropped connection would, and counts every call. */
function flakyFetch(failures: number) {
  const calls: string[] = [];
  const seen = new Map<string, number>();
  const wrapped: typeof fetch = async (input, init) => {
    const method = init?.method ?? "GET";
    const key = `${method} ${String(input)}`;
    calls.push(key);
    const n = (seen.get(key) ?? 0) + 1;
    seen.set(key, n);
    if (n <= failures) throw new TypeError("fetch failed", { cause: Object.assign(new Error("read ECONNRESET"), { code: "ECONNRESET" }) });
    return fetch(input, init);
  };
  return { fetch: wrapped, calls };
}

/** A TCP server that reads requests and never answers: every call to it times out. It counts the requests it got. */
async function silentServer(): Promise<{ url: string; requests: () => number; close: () => Promise<void> }> {
  const sockets = new Set<Socket>();
  let count = 0;
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    socket.on("data", (data) => {
      count += data.toString("latin1").match(/^[A-Z]+ \/\S* HTTP\/1\.1\r$/gm)?.length ?? 0;
    });
    socket.on("close", () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as { port: number }).port;
  return {
    url: `http://127.0.0.1:${port}`,
    requests: () => count,
    close: () =>
      new Promise((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

describe("VpncpClient against a vpncp node", () => {
  let node: TestNode;
  let client: VpncpClient;

  beforeAll(async () => {
    node = await startNode({ bDownload: 100, bUpload: 50, ikev2: true });
    client = new VpncpClient({ baseUrl: node.url, accessHash: node.hash, retryDelayMs: 1 });
  });
  afterAll(async () => {
    await node?.close();
  });

  test("typed calls: status, servers, accounts with the API's own field names", async () => {
    const status = await client.systemStatus();
    expect(Object.keys(status).sort()).toEqual(STATUS_KEYS);
    expect(status.count_wireguard).toBe(1);

    const servers = await client.listWireguardServers();
    const server = servers[node.server.name]!;
    expect(Object.keys(server).sort()).toEqual(SERVER_KEYS);
    expect(server.b_download).toBe("100");

    const account = await client.createAccount({ wg_name: server.name, name: "typed_1", b_download: 30, status: "enable" });
    expect(Object.keys(account).sort()).toEqual(ACCOUNT_KEYS);
    expect(account).toMatchObject({ name: "typed_1", b_download: "30", b_upload: "50", status: "enable", wg_name: server.name });
    expect(node.vpncp.accounts.get("typed_1").bDownload).toBe(30);

    const updated = await client.updateAccount("typed_1", { status: "disable", password: "New-pass_1" });
    expect(updated).toMatchObject({ status: "disable", password: "New-pass_1" });
    expect((await client.listAccounts()).map((a) => a.name)).toContain("typed_1");
    expect(await client.getAccount("typed_1")).toEqual(updated);

    const text = await client.accountConfigText("typed_1");
    expect(text).toContain("[Interface]");
    expect(text).toContain(`Address = ${account.allowed_IPs}`);
    expect(
      Buffer.from(await client.accountConfigQr("typed_1"), "base64")
        .subarray(1, 4)
        .toString(),
    ).toBe("PNG");
    expect(JSON.parse(await client.accountIkev2Profile("typed_1"))).toMatchObject({
      type: "ikev2-eap",
      local: { eap_id: account.username },
    });
    expect(await client.accountIkev2Mobileconfig("typed_1")).toContain("com.apple.vpn.managed");
    expect(await client.accountOneTimeLink("typed_1")).toMatch(/\/otl\/[0-9a-f]{80}$/);
    expect(await client.accountMangleRules("typed_1")).toBeTypeOf("string");
    expect(await client.accountTrafficControl("typed_1")).toBeTypeOf("string");
    expect(Object.keys(await client.accountDump("typed_1")).sort()).toEqual([
      "allowed_ips",
      "endpoint",
      "keepalive",
      "latest_handshake",
      "transfer_rx",
      "transfer_tx",
    ]);
    const days = await client.accountTrafficStatistics("typed_1", 2024, 2);
    expect(days).toHaveLength(29);
    expect(Object.keys(days[0]!).sort()).toEqual(DAY_KEYS);

    expect(await client.deleteAccount("typed_1")).toBe("success");
    await expect(client.getAccount("typed_1")).rejects.toMatchObject({ message: "Account not found", status: 404 });
  });

  test("typed calls: WireGuard servers, system config, IKEv2, one-time links, online lists, OpenAPI", async () => {
    const created = await client.createWireguardServer({ b_download: 10, internal_traffic: true });
    expect(created.internal_traffic).toBe(true);
    expect(created.keep_alive).toBeTypeOf("number");
    expect((await client.updateWireguardServer(created.name, { mtu: 1380 })).mtu).toBe("1380");
    expect((await client.wireguardAvailableIps(created.name)).length).toBeGreaterThan(0);
    expect(await client.wireguardPeers(created.name)).toEqual({});
    expect(await client.wireguardDump(created.name)).toMatchObject({ public_key: created.public_key });
    expect(await client.wireguardTrafficControl(created.name)).toBeTypeOf("string");
    expect(await client.wireguardNatRules(created.name)).toBeTypeOf("string");
    expect(await client.wireguardFilterRules(created.name)).toBeTypeOf("string");
    await client.createAccount({ wg_name: created.name, name: "bw_1" });
    const shaped = await client.setWireguardBandwidth(created.name, { b_download: 7, b_upload: 3 });
    expect(shaped.bw_1).toMatchObject({ b_download: "7", b_upload: "3" });
    await client.deleteAccount("bw_1");
    expect(await client.deleteWireguardServer(created.name)).toBe("success");
    await expect(client.getWireguardServer(created.name)).rejects.toMatchObject({ message: "Wireguard server not found" });
    expect(await client.wireguardInfo()).toBeTypeOf("object");

    expect(await client.updateSystemConfig({ traffic_statistics_history: 6 })).toMatchObject({ traffic_statistics_history: 6 });
    expect(await client.systemConfig()).toMatchObject({ traffic_statistics_history: 6 });
    expect(await client.resetSystemConfig()).toEqual({
      traffic_statistics_frequency: 5,
      traffic_statistics_history: 2,
      wireguard_handshake_uptime: 180,
    });
    await expect(client.updateSystemConfig({ wireguard_handshake_uptime: 301 })).rejects.toMatchObject({
      message: "Incorrect value Wireguard Handshake Uptime (should be 1 to 300)",
      status: 400,
    });
    expect(await client.systemReload()).toBe("success");
    expect((await client.systemInfo()).hostname).toBeTypeOf("string");

    const ikev2 = await client.ikev2Config();
    expect(ikev2.enabled).toBe(true);
    expect(ikev2.ca_cert).toContain("BEGIN CERTIFICATE");
    expect(ikev2.server_domain).toBe("vpn.test.example");
    await expect(client.generateIkev2Ca({ ca_common_name: "Again", ca_organization: "x" })).rejects.toMatchObject({
      message: "The root certificate is already in the system",
    });
    expect((await client.setIkev2Enabled(true)).enabled).toBe(true);
    expect(await client.ikev2Info()).toBeTypeOf("object");
    expect(await client.ikev2Online()).toEqual([]);
    expect(await client.wireguardOnline()).toEqual([]);

    expect((await client.updateOtlConfig({ title: "Your VPN" })).title).toBe("Your VPN");
    expect((await client.otlConfig()).title).toBe("Your VPN");
    const wireguardButtons = await client.updateOtlProtocolConfig("wireguard", {
      enable_config_qr: false,
      clients: [{ label: "Linux", link: "https://www.wireguard.com/install/" }],
    });
    expect(wireguardButtons).toMatchObject({ enable_config_qr: false, clients: [{ label: "Linux" }] });
    expect((await client.otlProtocolConfig("ikev2")).download_label).toBeTypeOf("string");
    const account = await client.createAccount({ wg_name: node.server.name, name: "otl_1" });
    const link = await client.accountOneTimeLink(account.name);
    const key = link.slice(-80);
    expect((await client.otlList()).olts[key]).toMatchObject({ account: "otl_1", key });

    const openapi = await client.openApiDocument();
    expect(openapi.openapi).toMatch(/^3\./);
  });

  test("a refusal is a VpncpApiError with the documented sentence, the status and the endpoint, not retried", async () => {
    const counted = flakyFetch(0);
    const counting = new VpncpClient({ baseUrl: node.url, accessHash: node.hash, fetch: counted.fetch, retryDelayMs: 1 });
    const error = await counting.getAccount("nobody").catch((e: unknown) => e);
    expect(error).toBeInstanceOf(VpncpApiError);
    expect(error).toMatchObject({
      message: "Account not found",
      status: 404,
      kind: "api",
      endpoint: "GET /api/v1/account/nobody",
      baseUrl: node.url,
      attempts: 1,
    });
    expect(counted.calls).toHaveLength(1);

    const stranger = new VpncpClient({ baseUrl: node.url, accessHash: "0".repeat(80) });
    await expect(stranger.systemStatus()).rejects.toMatchObject({ message: "Not authorized", status: 401, kind: "api" });

    await expect(client.createAccount({ wg_name: "no_such_server" })).rejects.toMatchObject({
      message: "Wireguard server not valid",
      endpoint: "POST /api/v1/account",
    });
    await expect(client.accountTrafficStatistics(node.server.name, 2024, 13)).rejects.toMatchObject({ message: "Account not found" });
  });

  test("names are path-encoded: a name with a slash cannot reach another endpoint", async () => {
    await expect(client.getAccount("x/config_text")).rejects.toMatchObject({ message: "Account not found" });
  });

  test("idempotent calls are retried after dropped connections; POST and one-time links never are", async () => {
    const flaky = flakyFetch(2);
    const retrying = new VpncpClient({ baseUrl: node.url, accessHash: node.hash, fetch: flaky.fetch, retries: 2, retryDelayMs: 1 });

    expect((await retrying.systemStatus()).count_wireguard).toBe(1);
    expect(flaky.calls.filter((c) => c.startsWith("GET") && c.endsWith("/system/status"))).toHaveLength(3);

    const error = await retrying.createAccount({ wg_name: node.server.name, name: "once_1" }).catch((e: unknown) => e);
    expect(error).toMatchObject({ kind: "network", status: 0, attempts: 1, endpoint: "POST /api/v1/account" });
    expect((error as Error).message).toContain("ECONNRESET");
    expect(flaky.calls.filter((c) => c.startsWith("POST"))).toHaveLength(1);
    expect(() => node.vpncp.accounts.get("once_1")).toThrow("Account not found");

    await node.vpncp.accounts.create({ wgName: node.server.name, name: "once_2" });
    await expect(retrying.accountOneTimeLink("once_2")).rejects.toMatchObject({ kind: "network", attempts: 1 });
    expect(flaky.calls.filter((c) => c.endsWith("/once_2/otl"))).toHaveLength(1);
    expect(await node.vpncp.otl.list()).not.toContainEqual(expect.objectContaining({ account: "once_2" }));

    // PUT that sets values and DELETE are idempotent: retried until they go through
    expect((await retrying.updateAccount("once_2", { b_download: 9 })).b_download).toBe("9");
    expect(flaky.calls.filter((c) => c.startsWith("PUT"))).toHaveLength(3);
    expect(await retrying.deleteAccount("once_2")).toBe("success");
    expect(flaky.calls.filter((c) => c.startsWith("DELETE"))).toHaveLength(3);

    // a PUT that issues a new key each time is not
    await expect(retrying.generateIkev2ServerCertificate({ server_domain: "other.example" })).rejects.toMatchObject({ attempts: 1 });
    expect(flaky.calls.filter((c) => c.endsWith("/generate_server_rsa"))).toHaveLength(1);

    // more failures than retries: the last failure is raised, with the number of attempts
    const hopeless = flakyFetch(10);
    const giving = new VpncpClient({ baseUrl: node.url, accessHash: node.hash, fetch: hopeless.fetch, retries: 3, retryDelayMs: 1 });
    await expect(giving.systemStatus()).rejects.toMatchObject({ kind: "network", attempts: 4 });
    expect(hopeless.calls).toHaveLength(4);
  });

  test("every attempt has a time limit; a silent node times out, idempotent calls retry, others do not", async () => {
    const silent = await silentServer();
    try {
      const slow = new VpncpClient({ baseUrl: silent.url, accessHash: node.hash, timeoutMs: 150, retries: 1, retryDelayMs: 1 });
      const error = await slow.systemStatus().catch((e: unknown) => e);
      expect(error).toBeInstanceOf(VpncpApiError);
      expect(error).toMatchObject({ kind: "timeout", status: 0, attempts: 2, unreachable: true });
      expect((error as Error).message).toBe(`vpncp at ${silent.url} did not answer within 150 ms`);
      expect(silent.requests()).toBe(2);

      await expect(slow.createAccount({ wg_name: "x" })).rejects.toMatchObject({ kind: "timeout", attempts: 1 });
      expect(silent.requests()).toBe(3);

      await expect(slow.systemStatus({ timeoutMs: 50, retries: 0 })).rejects.toMatchObject({
        message: `vpncp at ${silent.url} did not answer within 50 ms`,
        attempts: 1,
      });

      const controller = new AbortController();
      const pending = slow.systemStatus({ signal: controller.signal, timeoutMs: 60_000 });
      controller.abort();
      await expect(pending).rejects.toMatchObject({ kind: "aborted", attempts: 1 });
    } finally {
      await silent.close();
    }
  });

  test("a refused connection is a network error naming the node", async () => {
    const silent = await silentServer();
    const url = silent.url;
    await silent.close();
    const gone = new VpncpClient({ baseUrl: url, accessHash: node.hash, retries: 1, retryDelayMs: 1 });
    const error = await gone.systemStatus().catch((e: unknown) => e);
    expect(error).toMatchObject({ kind: "network", attempts: 2, unreachable: true });
    expect((error as Error).message).toMatch(new RegExp(`^Cannot reach vpncp at ${url}: .*ECONNREFUSED`));
  });

  test("an answer without the envelope (a proxy's error page) is an invalid_response; 5xx ones are retried", async () => {
    let calls = 0;
    const proxyPage: typeof fetch = async () => {
      calls += 1;
      return new Response("<html>502 Bad Gateway</html>", { status: 502, headers: { "content-type": "text/html" } });
    };
    const behindProxy = new VpncpClient({
      baseUrl: "http://proxy.invalid",
      accessHash: node.hash,
      fetch: proxyPage,
      retries: 2,
      retryDelayMs: 1,
    });
    await expect(behindProxy.listAccounts()).rejects.toMatchObject({
      kind: "invalid_response",
      status: 502,
      attempts: 3,
      message: "vpncp at http://proxy.invalid answered HTTP 502 without the API envelope",
    });
    expect(calls).toBe(3);
  });
});
