import type { OtlConfig, Vpncp } from "@vpncp/core";
import { getRouterParam, type H3 } from "h3";
import { field, readForm } from "../body.js";
import { success } from "../envelope.js";
import { renderNotRelevantPage, renderOtlPage } from "../otl-page.js";

const PAGE_HEADERS = {
  "content-type": "text/html; charset=utf-8",
  "cache-control": "no-store",
  "x-robots-tag": "noindex, nofollow",
  "referrer-policy": "no-referrer",
  "x-content-type-options": "nosniff",
};

export function otlRoutes(app: H3, vpncp: Vpncp): void {
  app.get("/api/v1/otl/config", async () => success(await vpncp.otl.config()));
  app.put("/api/v1/otl/config", async (event) => {
    const form = await readForm(event);
    const input: Partial<Record<keyof OtlConfig, ReturnType<typeof field>>> = {};
    for (const key of ["title", "css", "before_body", "after_body", "not_relevant", "lifetime"] as const) {
      if (form[key] !== undefined) input[key] = field(form, key);
    }
    return success(await vpncp.otl.setConfig(input));
  });
  app.get("/api/v1/otl/list", async () => {
    const links = await vpncp.otl.list();
    return success({
      olts: Object.fromEntries(
        links.map((l) => [
          l.key,
          { account: l.account, created_data: l.createdAt.slice(0, 10), key: l.key, lifetime: l.expiresAt.slice(0, 10) },
        ]),
      ),
    });
  });
  for (const protocol of ["wireguard", "ikev2"] as const) {
    app.get(`/api/v1/otl/config_${protocol}`, async () => success(await vpncp.otl.protocolConfig(protocol)));
    app.put(`/api/v1/otl/config_${protocol}`, async (event) => success(await vpncp.otl.setProtocolConfig(protocol, await readForm(event))));
  }

  // The public page: no cookie. HEAD (link previews) never uses the link up.
  app.on("HEAD", "/otl/:key", async (event) => {
    await vpncp.otl.isLive(getRouterParam(event, "key") ?? "");
    return new Response(null, { status: 200, headers: PAGE_HEADERS });
  });
  app.get("/otl/:key", async (event) => {
    const [config, wireguard, ikev2] = await Promise.all([
      vpncp.otl.config(),
      vpncp.otl.protocolConfig("wireguard"),
      vpncp.otl.protocolConfig("ikev2"),
    ]);
    const found = await vpncp.otl.consume(getRouterParam(event, "key") ?? "");
    if (!found) return new Response(renderNotRelevantPage(config), { status: 200, headers: PAGE_HEADERS });
    const { account, server } = found;
    const configText = vpncp.views.configText(account.name);
    const ikev2Config = vpncp.ikev2.config();
    const ikev2On = server.ikev2 && ikev2Config.enabled && ikev2Config.ca !== null && ikev2Config.server !== null;
    const html = renderOtlPage(config, wireguard, ikev2, {
      accountName: account.name,
      interfaceName: server.interfaceName,
      wireguard: { configText, qrPngBase64: await vpncp.views.configQr(account.name) },
      ikev2: ikev2On
        ? {
            server: ikev2Config.server?.domain || ikev2Config.server?.ip || server.externalIp,
            username: account.username,
            password: account.password,
            sswan: vpncp.views.ikev2Profile(account.name),
            mobileconfig: vpncp.views.ikev2Mobileconfig(account.name),
            caPem: ikev2Config.ca?.certificate ?? "",
          }
        : null,
    });
    return new Response(html, { status: 200, headers: PAGE_HEADERS });
  });
}
