import type { AccountInput, Vpncp } from "@vpncp/core";
import { getQuery, getRequestURL, getRouterParam, type H3, type H3Event } from "h3";
import { type Form, field, keyField, readForm } from "../body.js";
import { success } from "../envelope.js";
import { presentAccount } from "../presenters.js";

function accountInput(form: Form): AccountInput {
  return {
    wgName: field(form, "wg_name"),
    allowedIp: field(form, "allowed_IPs"),
    allowedIpv6: field(form, "allowed_IPs_ipv6"),
    name: field(form, "name"),
    username: field(form, "username"),
    password: field(form, "password"),
    privateKey: keyField(form, "private_key"),
    publicKey: keyField(form, "public_key"),
    status: field(form, "status"),
    bDownload: field(form, "b_download"),
    bUpload: field(form, "b_upload"),
  };
}

function pageNumber(value: unknown): number | undefined {
  const text = Array.isArray(value) ? value[0] : value;
  return typeof text === "string" && /^\d{1,9}$/.test(text) ? Number(text) : undefined;
}

export function accountRoutes(app: H3, vpncp: Vpncp): void {
  const present = (name: string) => {
    const account = vpncp.accounts.get(name);
    return presentAccount(account, vpncp.accounts.serverOf(account));
  };
  const name = (event: H3Event) => decodeURIComponent(getRouterParam(event, "name") ?? "");

  app.get("/api/v1/account", (event) => {
    const query = getQuery(event);
    const accounts = vpncp.accounts.list({ limit: pageNumber(query.limit), offset: pageNumber(query.offset) });
    const servers = new Map(vpncp.servers.list().map((s) => [s.name, s]));
    return success(accounts.map((a) => presentAccount(a, servers.get(a.wgName))));
  });
  app.post("/api/v1/account", async (event) => {
    const account = await vpncp.accounts.create(accountInput(await readForm(event)));
    return success(presentAccount(account, vpncp.accounts.serverOf(account)));
  });
  app.get("/api/v1/account/:name", (event) => success(present(name(event))));
  app.put("/api/v1/account/:name", async (event) => {
    const form = await readForm(event);
    const { name: _ignored, ...update } = accountInput(form);
    const account = await vpncp.accounts.update(name(event), update);
    return success(presentAccount(account, vpncp.accounts.serverOf(account)));
  });
  app.delete("/api/v1/account/:name", async (event) => {
    await vpncp.accounts.remove(name(event));
    return success("success");
  });

  app.get("/api/v1/account/:name/config_text", (event) => success(vpncp.views.configText(name(event))));
  app.get("/api/v1/account/:name/config_qr", async (event) => success(await vpncp.views.configQr(name(event))));
  app.get("/api/v1/account/:name/ikev2_profile", (event) => success(vpncp.views.ikev2Profile(name(event))));
  app.get("/api/v1/account/:name/ikev2_mobileconfig", (event) => success(vpncp.views.ikev2Mobileconfig(name(event))));
  app.get("/api/v1/account/:name/otl", async (event) => {
    const url = getRequestURL(event);
    const { url: link } = await vpncp.otl.create(name(event), `${url.protocol}//${url.host}`);
    return success(link);
  });
  app.get("/api/v1/account/:name/firewall_mangle_rules", async (event) => success(await vpncp.views.mangleRules(name(event))));
  app.get("/api/v1/account/:name/traffic_control", async (event) => success(await vpncp.views.trafficControl(name(event))));
  app.get("/api/v1/account/:name/dump", async (event) => success(await vpncp.views.dump(name(event))));
  app.get("/api/v1/account/:name/traffic_statistics/:year/:month", async (event) => {
    const account = vpncp.accounts.get(name(event));
    return success(await vpncp.statistics.month(account.name, getRouterParam(event, "year"), getRouterParam(event, "month")));
  });
}
