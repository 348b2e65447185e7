import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { type BrowserContext, chromium, type Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { type Harness, seedPages, startHarness } from "./harness.js";

const run = promisify(execFile);
const CHROMIUM = "/usr/bin/chromium";
const CHROMIUM_ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

const missing = !existsSync(CHROMIUM);
if (missing && process.env.CI === "true") throw new Error(`${CHROMIUM} is missing; CI installs chromium (.ci/run)`);
if (missing) console.log(`skipped the one-time page in a browser: ${CHROMIUM} is not installed`);

describe.skipIf(missing)("the one-time link in headless Chromium", () => {
  let h: Harness;
  let context: BrowserContext;
  let page: Page;
  let profile: string;

  beforeAll(async () => {
    h = await startHarness("node-server");
    await seedPages(h);
    profile = await mkdtemp(join(tmpdir(), "vpncp-chromium-"));
    context = await chromium.launchPersistentContext(profile, { executablePath: CHROMIUM, args: CHROMIUM_ARGS, acceptDownloads: true });
    page = context.pages()[0] ?? (await context.newPage());
  });
  afterAll(async () => {
    await context?.close();
    if (profile) await rm(profile, { recursive: true, force: true });
    await h?.close();
  });

  async function newLink(account = "peer_10"): Promise<string> {
    const r = await h.api<string>("GET", `/api/v1/account/${account}/otl`);
    expect(r.body.msg.startsWith(`${h.baseUrl}/otl/`)).toBe(true);
    return r.body.msg;
  }

  test("HEAD does not use the link up; the first visit shows the config text, a QR that decodes to it, and the .conf download", async () => {
    const link = await newLink();
    // a link preview (HEAD) first, from the browser as from a chat app
    await page.goto(`${h.baseUrl}/otl/${"0".repeat(80)}`);
    const head = await page.evaluate(async (url) => {
      const r = await fetch(url, { method: "HEAD" });
      return { status: r.status, type: r.headers.get("content-type"), body: await r.text() };
    }, link);
    expect(head).toEqual({ status: 200, type: "text/html; charset=utf-8", body: "" });

    const response = await page.goto(link);
    expect(response!.status()).toBe(200);
    const headers = response!.headers();
    expect(headers["cache-control"]).toBe("no-store");
    expect(headers["referrer-policy"]).toBe("no-referrer");
    expect(headers["x-robots-tag"]).toBe("noindex, nofollow");

    const configText = h.vpncp.views.configText("peer_10");
    expect(await page.locator("#config-text").textContent()).toBe(configText);
    expect(await page.locator("#config-text").isVisible()).toBe(true);
    expect(await page.locator("#not-relevant").count()).toBe(0);

    const qr = page.locator("img#config-qr");
    const size = await qr.evaluate(async (img: HTMLImageElement) => {
      await img.decode();
      return { width: img.naturalWidth, height: img.naturalHeight };
    });
    expect(size.width).toBeGreaterThan(0);
    expect(size.height).toBe(size.width);
    await expectScreenshotDecodesTo(await qr.screenshot(), configText);

    const download = page.locator("a#config-download");
    expect(await download.getAttribute("download")).toBe("wg0.conf");
    const [file] = await Promise.all([page.waitForEvent("download"), download.click()]);
    expect(file.suggestedFilename()).toBe("wg0.conf");
    const saved = join(profile, "download.conf");
    await file.saveAs(saved);
    const { readFile } = await import("node:fs/promises");
    expect(await readFile(saved, "utf8")).toBe(configText);
  });

  test("the second visit shows the not_relevant block, and nothing of the account", async () => {
    const link = await newLink();
    await page.goto(link);
    expect(await page.locator("#config-text").count()).toBe(1);
    const again = await page.goto(link);
    expect(again!.status()).toBe(200);
    expect(await page.locator("#not-relevant").isVisible()).toBe(true);
    expect(await page.locator("#not-relevant h2").textContent()).toBe("This link is no longer valid");
    expect(await page.locator("#config-text, #config-qr, #config-download").count()).toBe(0);
    const html = await page.content();
    expect(html).not.toContain(h.vpncp.accounts.get("peer_10").privateKey);
    expect(html).not.toContain("[Interface]");
  });

  test("an unknown key, a malformed key and a used key look exactly the same", async () => {
    const link = await newLink();
    await page.goto(link);
    const used = await (await page.goto(link))!.text();
    const unknown = await (await page.goto(`${h.baseUrl}/otl/${randomBytes(40).toString("hex")}`))!.text();
    const malformed = await (await page.goto(`${h.baseUrl}/otl/not-a-key%3Cscript%3E`))!.text();
    expect(unknown).toBe(used);
    expect(malformed).toBe(used);
  });

  test("past its lifetime a link shows not_relevant (HEAD does not tell either)", async () => {
    const link = await newLink();
    h.clock.advance(11 * 86_400_000);
    try {
      const head = await fetch(link, { method: "HEAD" });
      expect(head.status).toBe(200);
      await page.goto(link);
      expect(await page.locator("#not-relevant").isVisible()).toBe(true);
      expect(await page.locator("#config-text").count()).toBe(0);
    } finally {
      h.clock.advance(-11 * 86_400_000);
    }
  });

  test("the installation's title, CSS and HTML blocks surround the page; the page's text is escaped", async () => {
    await h.api(
      "PUT",
      "/api/v1/otl/config",
      new URLSearchParams({
        title: "Acme VPN <b>",
        css: "#config-text { color: rgb(1, 2, 3); }",
        before_body: '<header id="brand">Acme</header>',
        after_body: '<footer id="help">Call us</footer>',
      }).toString(),
    );
    try {
      await page.goto(await newLink());
      expect(await page.title()).toBe("Acme VPN <b>");
      expect(await page.locator("h1").textContent()).toBe("Acme VPN <b>");
      expect(await page.locator("#brand").textContent()).toBe("Acme");
      expect(await page.locator("#help").textContent()).toBe("Call us");
      expect(await page.locator("#config-text").evaluate((e) => getComputedStyle(e).color)).toBe("rgb(1, 2, 3)");
    } finally {
      await h.api("PUT", "/api/v1/otl/config", "title=Your+VPN+configuration&css=&before_body=&after_body=");
    }
  });

  test("with IKEv2 on, the page shows the server, username and password, and the profile downloads", async () => {
    await h.api("PUT", "/api/v1/ikev2/generate_ca_rsa", "ca_common_name=PUQ+VPN&ca_organization=PUQ");
    await h.api("PUT", "/api/v1/ikev2/generate_server_rsa", "server_domain=vpn.example.com");
    await h.api("PUT", "/api/v1/ikev2", "enabled=1");
    await h.api("PUT", "/api/v1/wireguard/77_87_125_209", "ikev2=1");
    const account = h.vpncp.accounts.get("ruslan_telefon");
    await page.goto(await newLink("ruslan_telefon"));
    expect(await page.locator("#ikev2-server").textContent()).toBe("vpn.example.com");
    expect(await page.locator("#ikev2-username").textContent()).toBe(account.username);
    expect(await page.locator("#ikev2-password").textContent()).toBe(account.password);
    const sswan = page.locator('a[download$=".sswan"]');
    const [file] = await Promise.all([page.waitForEvent("download"), sswan.click()]);
    const saved = join(profile, "profile.sswan");
    await file.saveAs(saved);
    const { readFile } = await import("node:fs/promises");
    const profileJson = JSON.parse(await readFile(saved, "utf8")) as { local: { eap_id: string } };
    expect(profileJson.local.eap_id).toBe(account.username);
  });
});

async function expectScreenshotDecodesTo(png: Buffer, text: string): Promise<void> {
  if (!existsSync("/usr/bin/zbarimg")) {
    if (process.env.CI === "true") throw new Error("zbarimg is missing");
    console.log("skipped decoding the QR screenshot: zbarimg is not installed");
    return;
  }
  const dir = await mkdtemp(join(tmpdir(), "vpncp-qr-shot-"));
  try {
    await writeFile(join(dir, "shot.png"), png);
    const { stdout } = await run("zbarimg", ["--raw", "-q", join(dir, "shot.png")]);
    expect(stdout.replace(/\n$/, "")).toBe(text);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
