import type { Vpncp } from "@vpncp/core";
import { getRouterParam, type H3 } from "h3";
import { field, readForm } from "../body.js";
import { success } from "../envelope.js";
import { presentAccount, presentIkev2Config } from "../presenters.js";

export function ikev2Routes(app: H3, vpncp: Vpncp): void {
  app.get("/api/v1/ikev2/info", async () => success(await vpncp.ikev2.info()));
  app.get("/api/v1/ikev2/config", () => success(presentIkev2Config(vpncp.ikev2.config())));
  app.put("/api/v1/ikev2", async (event) => {
    const form = await readForm(event);
    return success(presentIkev2Config(await vpncp.ikev2.setEnabled(field(form, "enabled"))));
  });
  app.put("/api/v1/ikev2/generate_ca_rsa", async (event) => {
    const form = await readForm(event);
    const config = await vpncp.ikev2.generateCa({
      commonName: field(form, "ca_common_name"),
      organization: field(form, "ca_organization"),
      organizationalUnit: field(form, "ca_organizational_unit"),
      country: field(form, "ca_country_name"),
      state: field(form, "ca_state_or_province_name"),
      locality: field(form, "ca_locality"),
    });
    return success(presentIkev2Config(config));
  });
  app.put("/api/v1/ikev2/import_ca_rsa", async (event) => {
    const form = await readForm(event);
    return success(presentIkev2Config(await vpncp.ikev2.importCa(field(form, "ca_cert"), field(form, "ca_key"))));
  });
  app.delete("/api/v1/ikev2/delete_ca_rsa", async () => {
    await vpncp.ikev2.deleteCa();
    return success("success");
  });
  app.put("/api/v1/ikev2/generate_server_rsa", async (event) => {
    const form = await readForm(event);
    const config = await vpncp.ikev2.generateServerCertificate({
      domain: field(form, "server_domain"),
      ip: field(form, "server_ip"),
      ipv6: field(form, "server_ipv6"),
      commonName: field(form, "server_common_name"),
      organization: field(form, "server_organization"),
      organizationalUnit: field(form, "server_organizational_unit"),
      locality: field(form, "server_locality"),
      state: field(form, "server_state_or_province_name"),
      country: field(form, "server_country_name"),
    });
    return success(presentIkev2Config(config));
  });
  app.delete("/api/v1/ikev2/delete_server_rsa", async () => {
    await vpncp.ikev2.deleteServerCertificate();
    return success("success");
  });
  app.get("/api/v1/ikev2/online", async () => {
    const online = await vpncp.views.ikev2Online();
    return success(
      online.map((o) => ({ ...presentAccount(o.account, vpncp.accounts.serverOf(o.account)), endpoint: o.endpoint, uptime: o.uptime })),
    );
  });
  app.delete("/api/v1/ikev2/online/:name", async (event) => {
    const account = vpncp.accounts.get(decodeURIComponent(getRouterParam(event, "name") ?? ""));
    await vpncp.ikev2.terminate(account.username);
    return success("success");
  });
}
