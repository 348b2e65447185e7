import type { ServerInput, Vpncp } from "@vpncp/core";
import { getRouterParam, type H3, type H3Event } from "h3";
import { type Form, field, keyField, readForm } from "../body.js";
import { success } from "../envelope.js";
import { presentAccount, presentServer } from "../presenters.js";

function serverInput(form: Form): ServerInput {
  return {
    name: field(form, "name"),
    interfaceName: field(form, "interface_name"),
    listenPort: field(form, "listen_port"),
    address: field(form, "address"),
    ipv6: field(form, "ipv6"),
    addressIpv6: field(form, "address_ipv6"),
    privateKey: keyField(form, "private_key"),
    publicKey: keyField(form, "public_key"),
    externalIp: field(form, "external_ip"),
    endpoint: field(form, "endpoint"),
    dns1: field(form, "dns_1"),
    dns2: field(form, "dns_2"),
    dns1Ipv6: field(form, "dns_1_ipv6"),
    dns2Ipv6: field(form, "dns_2_ipv6"),
    mtu: field(form, "mtu"),
    keepAlive: field(form, "keep_alive"),
    allowedIps: field(form, "allowed_ips"),
    internalTraffic: field(form, "internal_traffic"),
    ikev2: field(form, "ikev2"),
    bDownload: field(form, "b_download"),
    bUpload: field(form, "b_upload"),
  };
}

export function wireguardRoutes(app: H3, vpncp: Vpncp, wireguardInfo: () => Promise<Record<string, string>>): void {
  const server = (event: H3Event) => vpncp.servers.get(decodeURIComponent(getRouterParam(event, "name") ?? ""));

  app.get("/api/v1/wireguard/info", async () => success(await wireguardInfo()));
  app.get("/api/v1/wireguard/online", async () => {
    const online = await vpncp.views.wireguardOnline();
    return success(
      online.map((o) => ({
        ...presentAccount(o.account, vpncp.accounts.serverOf(o.account)),
        endpoint: o.endpoint,
        latest_handshake: o.latestHandshake,
        transfer_rx: String(o.transferRx),
        transfer_tx: String(o.transferTx),
      })),
    );
  });
  app.get("/api/v1/wireguard", () => success(Object.fromEntries(vpncp.servers.list().map((s) => [s.name, presentServer(s)]))));
  app.post("/api/v1/wireguard", async (event) => success(presentServer(await vpncp.servers.create(serverInput(await readForm(event))))));
  app.get("/api/v1/wireguard/:name", (event) => success(presentServer(server(event))));
  app.put("/api/v1/wireguard/:name", async (event) => {
    const target = server(event);
    const { name: _n, interfaceName: _i, privateKey: _p, publicKey: _k, ...update } = serverInput(await readForm(event));
    return success(presentServer(await vpncp.servers.update(target.name, update)));
  });
  app.delete("/api/v1/wireguard/:name", async (event) => {
    await vpncp.servers.remove(server(event).name);
    return success("success");
  });
  app.get("/api/v1/wireguard/:name/peers", (event) => {
    const target = server(event);
    return success(Object.fromEntries(vpncp.servers.accounts(target.name).map((a) => [a.name, presentAccount(a, target)])));
  });
  app.get("/api/v1/wireguard/:name/available_ips", (event) => success(vpncp.servers.availableIps(server(event).name)));
  app.get("/api/v1/wireguard/:name/dump", async (event) => success(await vpncp.servers.dump(server(event).name)));
  app.get("/api/v1/wireguard/:name/traffic_control", async (event) => success(await vpncp.views.serverTrafficControl(server(event))));
  app.get("/api/v1/wireguard/:name/firewall_nat_rules", async (event) => success(await vpncp.views.serverNatRules(server(event))));
  app.get("/api/v1/wireguard/:name/firewall_filter_rules", async (event) => success(await vpncp.views.serverFilterRules(server(event))));
  app.put("/api/v1/wireguard/:name/set_bandwidth", async (event) => {
    const target = server(event);
    const form = await readForm(event);
    const accounts = await vpncp.accounts.setBandwidth(target.name, field(form, "b_download"), field(form, "b_upload"));
    return success(Object.fromEntries(accounts.map((a) => [a.name, presentAccount(a, target)])));
  });
}
