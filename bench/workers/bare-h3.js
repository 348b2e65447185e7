/**
 * The baseline of target 4: a bare h3 app with one JSON route answering an account-shaped
 * envelope, served the way `vpncp serve` serves its app (listhen + toNodeHandler), without
 * vpncp behind it.
 */
import { H3 } from "h3";
import { toNodeHandler } from "h3/node";
import { listen } from "listhen";
import { freePort } from "../lib/cli.js";
import { serveWorker } from "../lib/worker.js";

let listener = null;

const account = {
  allowed_IPs: "10.100.0.2",
  allowed_IPs_ipv6: "",
  b_download: "100",
  b_upload: "50",
  mangle: "100",
  name: "acc_0_0",
  password: "bench-password-1",
  private_key: "yAnz5TF+lXXJte14tji3zlMNq+hd2rYUIgJBgB3fBmk=",
  public_key: "xTIBA5rboUvnH4htodjb6e697QjLERt1NAB4mZqp8Dg=",
  status: "enable",
  username: "user_0_0",
  wg_name: "bench_0",
};

serveWorker({
  async start() {
    const app = new H3();
    app.get("/api/v1/account/:name", (event) => ({ error: "", msg: { ...account, name: event.context.params?.name }, status: "success" }));
    const port = await freePort();
    listener = await listen(toNodeHandler(app), {
      port: { port, portRange: [port, port], alternativePortRange: [port, port] },
      hostname: "127.0.0.1",
      showURL: false,
      open: false,
      clipboard: false,
      qr: false,
      public: false,
      isProd: true,
      autoClose: false,
    });
    return { url: `http://127.0.0.1:${listener.address.port}` };
  },
  async close() {
    await listener?.close();
  },
});
