import { X509Certificate } from "node:crypto";
import { generateCa } from "@vpncp/core";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { form, type Harness, seedPages, startHarness, TRANSPORTS, type TransportKind } from "./harness.js";

type Json = Record<string, unknown>;

const ACCOUNT_KEYS = [
  "allowed_IPs",
  "allowed_IPs_ipv6",
  "b_download",
  "b_upload",
  "mangle",
  "name",
  "password",
  "private_key",
  "public_key",
  "status",
  "username",
  "wg_name",
];

/** API-EXTENDED's server object: strings, except the booleans and keep_alive. */
function expectServerShape(server: Json): void {
  const booleans = ["ikev2", "internal_traffic", "ipv6"];
  for (const [key, value] of Object.entries(server)) {
    if (booleans.includes(key)) expect(typeof value, key).toBe("boolean");
    else if (key === "keep_alive") expect(typeof value, key).toBe("number");
    else expect(typeof value, key).toBe("string");
  }
  for (const key of [
    "address",
    "b_download",
    "b_upload",
    "dns_1",
    "dns_2",
    "external_ip",
    "ikev2",
    "interface_name",
    "internal_traffic",
    "keep_alive",
    "listen_port",
    "name",
    "private_key",
    "public_key",
  ])
    expect(server, key).toHaveProperty(key);
}

function expectAccountShape(account: Json): void {
  expect(Object.keys(account).sort()).toEqual(expect.arrayContaining(ACCOUNT_KEYS));
  for (const key of ACCOUNT_KEYS) expect(typeof account[key], key).toBe("string");
}

describe.each(TRANSPORTS)("API-EXTENDED endpoints (%s)", (kind: TransportKind) => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness(kind);
    await seedPages(h);
  });
  afterAll(async () => {
    await h?.close();
  });

  describe("WireGuard servers", () => {
    test("GET /wireguard/info: the tools' versions as strings", async () => {
      const r = await h.api<Json>("GET", "/api/v1/wireguard/info");
      expect(r.status).toBe(200);
      expect(Object.keys(r.body.msg).length).toBeGreaterThan(0);
      for (const value of Object.values(r.body.msg)) expect(typeof value).toBe("string");
    });

    test("POST without a body creates a server with every field generated unique", async () => {
      const a = await h.api<Json>("POST", "/api/v1/wireguard", "");
      const b = await h.api<Json>("POST", "/api/v1/wireguard");
      expect([a.status, b.status]).toEqual([200, 200]);
      expectServerShape(a.body.msg);
      for (const key of ["name", "interface_name", "listen_port", "address", "private_key", "public_key"])
        expect(a.body.msg[key], key).not.toBe(b.body.msg[key]);
      expect(a.body.msg).toMatchObject({ dns_1: "8.8.8.8", dns_2: "1.1.1.1", external_ip: "203.0.113.10", keep_alive: 25 });
      expect(a.body.msg.address).toMatch(/^10\.\d+\.\d+\.1\/24$/);
      // the interface exists on the (fake) system with the server's port
      const iface = h.drivers.wireguard.interfaces().get(a.body.msg.interface_name as string)!;
      expect(String(iface.listenPort)).toBe(a.body.msg.listen_port);
      for (const created of [a, b]) expect((await h.api("DELETE", `/api/v1/wireguard/${created.body.msg.name}`)).body.msg).toBe("success");
      expect(h.drivers.wireguard.interfaces().has(a.body.msg.interface_name as string)).toBe(false);
    });

    test("POST with fields, GET one and the list, PUT, DELETE", async () => {
      const created = await h.api<Json>(
        "POST",
        "/api/v1/wireguard",
        form({
          name: "Default_106",
          interface_name: "wg106",
          listen_port: 51848,
          address: "10.0.105.1/24",
          external_ip: "77.87.125.200",
          dns_1: "9.9.9.9",
          b_download: 20,
          b_upload: 20,
          internal_traffic: 1,
          ikev2: "true",
        }),
      );
      expect(created.status).toBe(200);
      expectServerShape(created.body.msg);
      expect(created.body.msg).toMatchObject({
        name: "Default_106",
        interface_name: "wg106",
        listen_port: "51848",
        address: "10.0.105.1/24",
        external_ip: "77.87.125.200",
        endpoint: "77.87.125.200",
        dns_1: "9.9.9.9",
        b_download: "20",
        b_upload: "20",
        internal_traffic: true,
        ikev2: true,
        allowed_ips: "0.0.0.0/0",
      });

      const one = await h.api<Json>("GET", "/api/v1/wireguard/Default_106");
      expect(one.body.msg).toEqual(created.body.msg);
      const list = await h.api<Record<string, Json>>("GET", "/api/v1/wireguard");
      expect(Object.keys(list.body.msg).sort()).toEqual(["77_87_125_209", "Default_106"]);
      expect(list.body.msg.Default_106).toEqual(created.body.msg);
      for (const server of Object.values(list.body.msg)) expectServerShape(server);

      const edited = await h.api<Json>(
        "PUT",
        "/api/v1/wireguard/Default_106",
        form({
          mtu: 1380,
          keep_alive: 15,
          allowed_ips: "10.0.0.0/8, 192.168.1.0/24",
          endpoint: "vpn.example.com",
          dns_2: "",
          listen_port: 51849,
        }),
      );
      expect(edited.status).toBe(200);
      expect(edited.body.msg).toMatchObject({
        mtu: "1380",
        keep_alive: 15,
        allowed_ips: "10.0.0.0/8, 192.168.1.0/24",
        endpoint: "vpn.example.com",
        dns_2: "",
        listen_port: "51849",
        name: "Default_106",
        private_key: created.body.msg.private_key,
      });
      const iface = h.drivers.wireguard.interfaces().get("wg106")!;
      expect([iface.mtu, iface.listenPort]).toEqual([1380, 51849]);
      // name, interface and keys do not change with PUT
      const ignored = await h.api<Json>("PUT", "/api/v1/wireguard/Default_106", form({ name: "renamed", interface_name: "wg7" }));
      expect(ignored.body.msg).toMatchObject({ name: "Default_106", interface_name: "wg106" });

      expect((await h.api("DELETE", "/api/v1/wireguard/Default_106")).body).toEqual({ error: "", msg: "success", status: "success" });
      const gone = await h.api("GET", "/api/v1/wireguard/Default_106");
      expect([gone.status, gone.body.error]).toEqual([404, "Wireguard server not found"]);
      expect(h.drivers.wireguard.interfaces().has("wg106")).toBe(false);
    });

    test("peers: the server's accounts keyed by name", async () => {
      const r = await h.api<Record<string, Json>>("GET", "/api/v1/wireguard/77_87_125_209/peers");
      expect(Object.keys(r.body.msg).sort()).toEqual(["peer_10", "ruslan_telefon"]);
      for (const account of Object.values(r.body.msg)) expectAccountShape(account);
      expect(r.body.msg.peer_10).toMatchObject({ name: "peer_10", allowed_IPs: "10.0.110.18", wg_name: "77_87_125_209" });
    });

    test("available_ips: the subnet's free host addresses, in order", async () => {
      const r = await h.api<string[]>("GET", "/api/v1/wireguard/77_87_125_209/available_ips");
      // 10.0.110.2-254 less the server's .1 (not a host of the range) and the two accounts
      expect(r.body.msg).toHaveLength(253 - 2);
      expect(r.body.msg.slice(0, 3)).toEqual(["10.0.110.2", "10.0.110.3", "10.0.110.4"]);
      expect(r.body.msg).not.toContain("10.0.110.17");
      expect(r.body.msg).not.toContain("10.0.110.18");
      expect(r.body.msg.at(-1)).toBe("10.0.110.254");
    });

    test("dump: {port, public_key} of the running interface", async () => {
      const server = h.vpncp.servers.get("77_87_125_209");
      const r = await h.api("GET", "/api/v1/wireguard/77_87_125_209/dump");
      expect(r.body.msg).toEqual({ port: String(server.listenPort), public_key: server.publicKey });
    });

    test("traffic_control: the interface's qdiscs as tc prints them, per device", async () => {
      const r = await h.api<string>("GET", "/api/v1/wireguard/77_87_125_209/traffic_control");
      expect(r.body.msg).toMatch(/^wg0 --> qdisc htb 1: root /);
      expect(r.body.msg.endsWith("\n\n")).toBe(true);
    });

    test("firewall_nat_rules and firewall_filter_rules: the page's text format", async () => {
      const nat = await h.api<string>("GET", "/api/v1/wireguard/77_87_125_209/firewall_nat_rules");
      expect(nat.body.msg).toBe("10.0.110.0/24 -> 0.0.0.0/0 SNAT to:77.87.125.200 Pkt:0 Bytes:0\n");
      const filter = await h.api<string>("GET", "/api/v1/wireguard/77_87_125_209/firewall_filter_rules");
      expect(filter.body.msg).toBe("10.0.110.0/24 -> 10.0.110.0/24 DROP  Pkt:0 Bytes:0\n");
      await h.api("PUT", "/api/v1/wireguard/77_87_125_209", "internal_traffic=1");
      const open = await h.api<string>("GET", "/api/v1/wireguard/77_87_125_209/firewall_filter_rules");
      expect(open.body.msg).toBe("10.0.110.0/24 -> 10.0.110.0/24 ACCEPT  Pkt:0 Bytes:0\n");
      await h.api("PUT", "/api/v1/wireguard/77_87_125_209", "internal_traffic=0");
    });

    test("set_bandwidth applies the pair to every account of the server and to the shaper", async () => {
      const r = await h.api<Record<string, Json>>("PUT", "/api/v1/wireguard/77_87_125_209/set_bandwidth", "b_download=30&b_upload=7");
      expect(r.status).toBe(200);
      expect(Object.keys(r.body.msg).sort()).toEqual(["peer_10", "ruslan_telefon"]);
      for (const account of Object.values(r.body.msg)) expect(account).toMatchObject({ b_download: "30", b_upload: "7" });
      const detail = await h.api<Json>("GET", "/api/v1/account/peer_10");
      expect(detail.body.msg).toMatchObject({ b_download: "30", b_upload: "7" });
      expect(h.drivers.shaper.rateOf("wg0", h.vpncp.accounts.get("peer_10").mangle)).toEqual({ downloadMbit: 30, uploadMbit: 7 });
      await h.api("PUT", "/api/v1/wireguard/77_87_125_209/set_bandwidth", "b_download=0&b_upload=0");
    });
  });

  describe("system configuration", () => {
    test("GET: numbers, the defaults 5, 2, 180", async () => {
      const r = await h.api("GET", "/api/v1/system/config");
      expect(r.body.msg).toEqual({ traffic_statistics_frequency: 5, traffic_statistics_history: 2, wireguard_handshake_uptime: 180 });
    });

    test("PUT any of the three (form strings become numbers); PUT /default restores 5, 2, 180", async () => {
      const one = await h.api("PUT", "/api/v1/system/config", "wireguard_handshake_uptime=120");
      expect(one.body.msg).toEqual({ traffic_statistics_frequency: 5, traffic_statistics_history: 2, wireguard_handshake_uptime: 120 });
      const all = await h.api("PUT", "/api/v1/system/config", {
        traffic_statistics_frequency: 1,
        traffic_statistics_history: "0",
        wireguard_handshake_uptime: 300,
      });
      expect(all.body.msg).toEqual({ traffic_statistics_frequency: 1, traffic_statistics_history: 0, wireguard_handshake_uptime: 300 });
      expect((await h.api("GET", "/api/v1/system/config")).body.msg).toEqual(all.body.msg);
      const reset = await h.api("PUT", "/api/v1/system/config/default");
      expect(reset.body).toEqual({
        error: "",
        msg: { traffic_statistics_frequency: 5, traffic_statistics_history: 2, wireguard_handshake_uptime: 180 },
        status: "success",
      });
      expect((await h.api("GET", "/api/v1/system/config")).body.msg).toEqual(reset.body.msg);
    });

    test("count_accounts_available in /system/status is the installation's limit", async () => {
      const status = await h.api<Json>("GET", "/api/v1/system/status");
      expect(typeof status.body.msg.count_accounts_available).toBe("number");
      expect(status.body.msg.count_accounts_available).toBe(h.vpncp.accounts.limit);
    });
  });

  describe("who is online", () => {
    test("WireGuard: peers whose last handshake is within wireguard_handshake_uptime, with endpoint, time and transfer", async () => {
      const empty = await h.api("GET", "/api/v1/wireguard/online");
      expect(empty.body).toEqual({ error: "", msg: [], status: "success" });
      const peer10 = h.vpncp.accounts.get("peer_10");
      const telefon = h.vpncp.accounts.get("ruslan_telefon");
      // the online list measures handshakes against the installation's clock
      const now = Math.floor(h.clock.now().getTime() / 1000);
      h.drivers.wireguard.simulateTraffic("wg0", peer10.publicKey, {
        latestHandshake: now - 10,
        endpoint: "79.184.218.180:47471",
        rxBytes: 1234,
        txBytes: 5678,
      });
      h.drivers.wireguard.simulateTraffic("wg0", telefon.publicKey, { latestHandshake: now - 600, endpoint: "192.0.2.9:5000" });
      const online = await h.api<Json[]>("GET", "/api/v1/wireguard/online");
      expect(online.body.msg).toHaveLength(1);
      const [entry] = online.body.msg as [Json];
      expectAccountShape(entry);
      expect(entry).toMatchObject({ name: "peer_10", endpoint: "79.184.218.180:47471", transfer_rx: "1234", transfer_tx: "5678" });
      expect(entry.latest_handshake).toMatch(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$/);
      // a longer uptime counts the other peer too
      await h.api("PUT", "/api/v1/system/config", "wireguard_handshake_uptime=300");
      expect((await h.api<Json[]>("GET", "/api/v1/wireguard/online")).body.msg).toHaveLength(1);
      h.drivers.wireguard.simulateTraffic("wg0", telefon.publicKey, { latestHandshake: now - 200 });
      const both = await h.api<Json[]>("GET", "/api/v1/wireguard/online");
      expect(both.body.msg.map((o) => o.name).sort()).toEqual(["peer_10", "ruslan_telefon"]);
      await h.api("PUT", "/api/v1/system/config/default");
    });

    test("IKEv2: live sessions with endpoint and uptime; DELETE /ikev2/online/NAME ends them", async () => {
      const empty = await h.api("GET", "/api/v1/ikev2/online");
      expect(empty.body).toEqual({ error: "", msg: [], status: "success" });
      // a login needs what makes the account an IKEv2 user: CA, server certificate, the switch, a server with ikev2 on
      await h.api("PUT", "/api/v1/ikev2/generate_ca_rsa", "ca_common_name=CA&ca_organization=Org");
      await h.api("PUT", "/api/v1/ikev2/generate_server_rsa", "server_domain=vpn.example.com");
      await h.api("PUT", "/api/v1/ikev2", "enabled=1");
      await h.api("PUT", "/api/v1/wireguard/77_87_125_209", "ikev2=1");
      const peer10 = h.vpncp.accounts.get("peer_10");
      h.drivers.ikev2.simulateLogin(peer10.username, peer10.password, { remoteHost: "198.51.100.7" });
      const online = await h.api<Json[]>("GET", "/api/v1/ikev2/online");
      expect(online.body.msg).toHaveLength(1);
      const [entry] = online.body.msg as [Json];
      expectAccountShape(entry);
      expect(entry).toMatchObject({ name: "peer_10", username: "user_10", endpoint: "198.51.100.7" });
      expect(entry.uptime).toMatch(/^ \d+ (second|minute|hour|day)s? ago$/);
      const ended = await h.api("DELETE", "/api/v1/ikev2/online/peer_10");
      expect(ended.body).toEqual({ error: "", msg: "success", status: "success" });
      expect((await h.api("GET", "/api/v1/ikev2/online")).body.msg).toEqual([]);
      expect(h.drivers.ikev2.sessions).toEqual([]);
      await h.api("PUT", "/api/v1/wireguard/77_87_125_209", "ikev2=0");
      await h.api("DELETE", "/api/v1/ikev2/delete_ca_rsa");
    });
  });

  describe("one-time links", () => {
    test("GET /otl/config: strings, lifetime in days as a string", async () => {
      const r = await h.api<Json>("GET", "/api/v1/otl/config");
      expect(Object.keys(r.body.msg).sort()).toEqual(["after_body", "before_body", "css", "lifetime", "not_relevant", "title"]);
      for (const value of Object.values(r.body.msg)) expect(typeof value).toBe("string");
      expect(r.body.msg.lifetime).toBe("10");
    });

    test("PUT /otl/config changes what is given and keeps the rest", async () => {
      const before = (await h.api<Json>("GET", "/api/v1/otl/config")).body.msg;
      const r = await h.api<Json>("PUT", "/api/v1/otl/config", form({ title: "My VPN", before_body: "<p>Hello</p>", lifetime: 3 }));
      expect(r.body.msg).toEqual({ ...before, title: "My VPN", before_body: "<p>Hello</p>", lifetime: "3" });
      expect((await h.api("GET", "/api/v1/otl/config")).body.msg).toEqual(r.body.msg);
      await h.api("PUT", "/api/v1/otl/config", { title: before.title, before_body: before.before_body, lifetime: before.lifetime });
    });

    test("GET /account/NAME/otl gives an 80-hex link; /otl/list shows it with created and expiry days", async () => {
      h.clock.set("2022-12-09T09:30:00Z");
      const link = await h.api<string>("GET", "/api/v1/account/peer_10/otl");
      const key = link.body.msg.split("/otl/")[1]!;
      expect(key).toMatch(/^[0-9a-f]{80}$/);
      const second = await h.api<string>("GET", "/api/v1/account/peer_10/otl");
      expect(second.body.msg).not.toBe(link.body.msg);
      const list = await h.api<{ olts: Record<string, Json> }>("GET", "/api/v1/otl/list");
      expect(list.body.msg.olts[key]).toEqual({ account: "peer_10", created_data: "2022-12-09", key, lifetime: "2022-12-19" });
      // past the lifetime the links are gone from the list
      h.clock.set("2022-12-20T00:00:00Z");
      expect((await h.api<{ olts: Json }>("GET", "/api/v1/otl/list")).body.msg).toEqual({ olts: {} });
      h.clock.set("2022-11-10T12:00:00Z");
    });

    for (const protocol of ["wireguard", "ikev2"] as const) {
      test(`GET and PUT /otl/config_${protocol}: labels and links of the buttons, the two switches`, async () => {
        const r = await h.api<Json>("GET", `/api/v1/otl/config_${protocol}`);
        expect(typeof r.body.msg.enable_config_qr).toBe("boolean");
        expect(typeof r.body.msg.enable_config_text).toBe("boolean");
        expect(typeof r.body.msg.download_label).toBe("string");
        const clients = r.body.msg.clients as { label: string; link: string }[];
        expect(clients.length).toBeGreaterThan(0);
        for (const c of clients) expect(c.link).toMatch(/^https:\/\//);
        const changed = await h.api<Json>(
          "PUT",
          `/api/v1/otl/config_${protocol}`,
          form({ enable_config_qr: 0, clients: JSON.stringify([{ label: "Mine", link: "https://example.com/app" }]) }),
        );
        expect(changed.body.msg).toEqual({
          ...r.body.msg,
          enable_config_qr: false,
          clients: [{ label: "Mine", link: "https://example.com/app" }],
        });
        await h.api("PUT", `/api/v1/otl/config_${protocol}`, r.body.msg);
        expect((await h.api("GET", `/api/v1/otl/config_${protocol}`)).body.msg).toEqual(r.body.msg);
      });
    }
  });

  describe("IKEv2", () => {
    test("GET /ikev2/info: the daemon's version and state as strings", async () => {
      const r = await h.api<Json>("GET", "/api/v1/ikev2/info");
      expect(r.status).toBe(200);
      for (const value of Object.values(r.body.msg)) expect(typeof value).toBe("string");
    });

    test("the config has the same keys with and without certificates", async () => {
      const none = await h.api<Json>("GET", "/api/v1/ikev2/config");
      expect(typeof none.body.msg.enabled).toBe("boolean");
      expect(none.body.msg).toMatchObject({ ca_cert: "", server_cert: "", server_domain: "", server_ip: "" });
      expect(none.body.msg.ca_common_name).toBe("");
      expect(none.body.msg.server_common_name).toBe("");
      await h.api("PUT", "/api/v1/ikev2/generate_ca_rsa", "ca_common_name=X&ca_organization=Y");
      await h.api("PUT", "/api/v1/ikev2/generate_server_rsa", "server_domain=vpn.example.com");
      const both = await h.api<Json>("GET", "/api/v1/ikev2/config");
      expect(Object.keys(both.body.msg).sort()).toEqual(Object.keys(none.body.msg).sort());
      for (const [key, value] of Object.entries(none.body.msg)) expect(typeof both.body.msg[key], key).toBe(typeof value);
      await h.api("DELETE", "/api/v1/ikev2/delete_ca_rsa");
      expect((await h.api("GET", "/api/v1/ikev2/config")).body.msg).toEqual(none.body.msg);
    });

    test("generate the CA and the server certificate, switch on, profiles, delete", async () => {
      const ca = await h.api<Json>(
        "PUT",
        "/api/v1/ikev2/generate_ca_rsa",
        form({
          ca_common_name: "PUQ VPN",
          ca_organization: "PUQ sp. z o.o.",
          ca_organizational_unit: "PUQ VPN",
          ca_country_name: "PL",
          ca_state_or_province_name: "Mazowieckie",
          ca_locality: "Warszawa",
        }),
      );
      expect(ca.status).toBe(200);
      expect(ca.body.msg).toMatchObject({
        ca_common_name: "PUQ VPN",
        ca_organization: "PUQ sp. z o.o.",
        ca_organizational_unit: "PUQ VPN",
        ca_country_name: "PL",
        ca_state_or_province_name: "Mazowieckie",
        ca_locality: "Warszawa",
      });
      const caCert = new X509Certificate(ca.body.msg.ca_cert as string);
      expect(caCert.ca).toBe(true);
      expect(caCert.subject).toContain("CN=PUQ VPN");

      const server = await h.api<Json>(
        "PUT",
        "/api/v1/ikev2/generate_server_rsa",
        form({ server_domain: "dev.softkeel.com", server_ip: "77.87.125.200" }),
      );
      expect(server.body.msg).toMatchObject({ server_domain: "dev.softkeel.com", server_ip: "77.87.125.200" });
      const serverCert = new X509Certificate(server.body.msg.server_cert as string);
      expect(serverCert.checkIssued(caCert)).toBe(true);
      expect(serverCert.verify(caCert.publicKey)).toBe(true);
      expect(serverCert.subjectAltName).toContain("DNS:dev.softkeel.com");

      for (const [value, enabled] of [
        ["1", true],
        ["0", false],
        ["true", true],
      ] as const) {
        const r = await h.api<Json>("PUT", "/api/v1/ikev2", form({ enabled: value }));
        expect(r.body.msg.enabled).toBe(enabled);
        expect((await h.api<Json>("GET", "/api/v1/ikev2/config")).body.msg.enabled).toBe(enabled);
      }

      const profile = await h.api<string>("GET", "/api/v1/account/peer_10/ikev2_profile");
      const sswan = JSON.parse(profile.body.msg) as {
        uuid: string;
        type: string;
        remote: { cert: string; id: string };
        local: { eap_id: string };
      };
      expect(sswan).toMatchObject({ type: "ikev2-eap", remote: { id: "dev.softkeel.com" }, local: { eap_id: "user_10" } });
      expect(Buffer.from(sswan.remote.cert, "base64").equals(caCert.raw)).toBe(true);
      expect(sswan.uuid).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
      // stable per account
      expect(JSON.parse((await h.api<string>("GET", "/api/v1/account/peer_10/ikev2_profile")).body.msg).uuid).toBe(sswan.uuid);
      const mobileconfig = await h.api<string>("GET", "/api/v1/account/peer_10/ikev2_mobileconfig");
      expect(mobileconfig.body.msg).toContain("com.apple.vpn.managed");
      expect(mobileconfig.body.msg.replace(/\s/g, "")).toContain(caCert.raw.toString("base64"));

      expect((await h.api("DELETE", "/api/v1/ikev2/delete_server_rsa")).body.msg).toBe("success");
      expect((await h.api<Json>("GET", "/api/v1/ikev2/config")).body.msg).toMatchObject({ server_cert: "", server_domain: "" });
      expect((await h.api("DELETE", "/api/v1/ikev2/delete_ca_rsa")).body.msg).toBe("success");
      expect((await h.api<Json>("GET", "/api/v1/ikev2/config")).body.msg).toMatchObject({ ca_cert: "" });
      await h.api("PUT", "/api/v1/ikev2", "enabled=0");
    });

    test("import a CA made elsewhere (PEM with newlines, form-encoded); its profile carries that CA", async () => {
      const material = await generateCa({ commonName: "Imported CA", organization: "Elsewhere" });
      const imported = await h.api<Json>(
        "PUT",
        "/api/v1/ikev2/import_ca_rsa",
        form({ ca_cert: material.certificatePem, ca_key: material.privateKeyPem }),
      );
      expect(imported.status).toBe(200);
      expect(imported.body.msg).toMatchObject({ ca_common_name: "Imported CA", ca_organization: "Elsewhere" });
      expect(new X509Certificate(imported.body.msg.ca_cert as string).fingerprint256).toBe(
        new X509Certificate(material.certificatePem).fingerprint256,
      );
      // the private key never comes back
      expect(JSON.stringify(imported.body)).not.toContain("PRIVATE KEY");
      expect(JSON.stringify((await h.api("GET", "/api/v1/ikev2/config")).body)).not.toContain("PRIVATE KEY");
      const profile = JSON.parse((await h.api<string>("GET", "/api/v1/account/ruslan_telefon/ikev2_profile")).body.msg) as {
        remote: { cert: string };
      };
      expect(Buffer.from(profile.remote.cert, "base64").equals(new X509Certificate(material.certificatePem).raw)).toBe(true);
      await h.api("DELETE", "/api/v1/ikev2/delete_ca_rsa");
    });
  });

  test("accounts list takes ?limit and ?offset", async () => {
    const page = await h.api<Json[]>("GET", "/api/v1/account?limit=1&offset=1");
    expect(page.body.msg.map((a) => a.name)).toEqual(["ruslan_telefon"]);
  });

  test("a reload the system cannot apply is an error envelope, and /system/status says why", async () => {
    const wireguard = h.drivers.wireguard;
    const original = wireguard.applyInterface.bind(wireguard);
    wireguard.applyInterface = async () => {
      throw new Error("simulated: Cannot find device");
    };
    try {
      const r = await h.api("PUT", "/api/v1/system/reload");
      expect(r.body).toEqual({ error: "PUQVPNCP status not OK", msg: "", status: "error" });
      expect(r.status).toBe(503);
      expect(r.text).not.toContain("simulated");
      const status = await h.api<Json>("GET", "/api/v1/system/status");
      expect(status.body.msg.status).toMatch(/^Error \(/);
    } finally {
      wireguard.applyInterface = original;
    }
    expect((await h.api("PUT", "/api/v1/system/reload")).body.msg).toBe("success");
    expect((await h.api<Json>("GET", "/api/v1/system/status")).body.msg.status).toBe("OK");
  });
});
