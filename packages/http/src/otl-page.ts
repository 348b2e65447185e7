import type { OtlConfig, OtlProtocolConfig } from "@vpncp/core";

/** What the page shows of an account; everything here is escaped. */
export interface OtlPageContent {
  readonly accountName: string;
  readonly interfaceName: string;
  readonly wireguard: { readonly configText: string; readonly qrPngBase64: string } | null;
  readonly ikev2: {
    readonly server: string;
    readonly username: string;
    readonly password: string;
    readonly sswan: string;
    readonly mobileconfig: string;
    readonly caPem: string;
  } | null;
}

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c] ?? c);
}

function dataUri(type: string, content: string): string {
  return `data:${type};base64,${Buffer.from(content, "utf8").toString("base64")}`;
}

const BASE_CSS = `
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0;background:#f5f6f8;color:#1d232c}
main{max-width:720px;margin:2rem auto;padding:1.5rem 2rem;background:#fff;border-radius:12px;box-shadow:0 1px 4px rgba(0,0,0,.08)}
h1{font-size:1.5rem;margin-top:0}h2{font-size:1.15rem;margin-top:2rem}
pre{background:#0f172a;color:#e2e8f0;padding:1rem;border-radius:8px;overflow-x:auto;font-size:.85rem}
.qr{display:block;margin:1rem auto;max-width:320px;width:100%;image-rendering:pixelated}
.buttons a,.download{display:inline-block;margin:.25rem .5rem .25rem 0;padding:.5rem .9rem;border-radius:8px;background:#2563eb;color:#fff;text-decoration:none}
.buttons a{background:#e2e8f0;color:#1d232c}
dl{display:grid;grid-template-columns:max-content 1fr;gap:.4rem 1rem}dt{font-weight:600}dd{margin:0;font-family:ui-monospace,monospace}
.notice{color:#64748b;font-size:.9rem}
`;

function page(config: OtlConfig, body: string): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex, nofollow">
<meta name="referrer" content="no-referrer">
<title>${escapeHtml(config.title)}</title>
<style>${BASE_CSS}</style>
<style>${config.css.replace(/<\/style/gi, "<\\/style")}</style>
</head>
<body>
${config.before_body}
<main>
${body}
</main>
${config.after_body}
</body>
</html>
`;
}

function buttons(protocol: OtlProtocolConfig): string {
  if (protocol.clients.length === 0) return "";
  const links = protocol.clients.map(
    (c) => `<a href="${escapeHtml(c.link)}" rel="noopener noreferrer" target="_blank">${escapeHtml(c.label)}</a>`,
  );
  return `<p class="buttons">${links.join("")}</p>`;
}

/** The one-time page with the account's configuration. */
export function renderOtlPage(config: OtlConfig, wireguard: OtlProtocolConfig, ikev2: OtlProtocolConfig, content: OtlPageContent): string {
  const sections: string[] = [`<h1>${escapeHtml(config.title)}</h1>`];
  if (content.wireguard) {
    const wg = content.wireguard;
    sections.push(`<section id="wireguard"><h2>WireGuard</h2>`);
    sections.push(buttons(wireguard));
    if (wireguard.enable_config_qr) {
      sections.push(`<img class="qr" id="config-qr" alt="WireGuard configuration QR code" src="data:image/png;base64,${wg.qrPngBase64}">`);
    }
    if (wireguard.enable_config_text) sections.push(`<pre id="config-text">${escapeHtml(wg.configText)}</pre>`);
    sections.push(
      `<a class="download" id="config-download" download="${escapeHtml(content.interfaceName)}.conf" href="${dataUri("text/plain", wg.configText)}">${escapeHtml(wireguard.download_label)}</a>`,
    );
    sections.push(`</section>`);
  }
  if (content.ikev2) {
    const ike = content.ikev2;
    sections.push(`<section id="ikev2"><h2>IKEv2</h2>`);
    sections.push(buttons(ikev2));
    if (ikev2.enable_config_text) {
      sections.push(
        `<dl><dt>Server</dt><dd id="ikev2-server">${escapeHtml(ike.server)}</dd><dt>Username</dt><dd id="ikev2-username">${escapeHtml(ike.username)}</dd><dt>Password</dt><dd id="ikev2-password">${escapeHtml(ike.password)}</dd></dl>`,
      );
    }
    sections.push(
      `<p><a class="download" download="${escapeHtml(content.accountName)}.sswan" href="${dataUri("application/vnd.strongswan.profile", ike.sswan)}">${escapeHtml(ikev2.download_label)} (.sswan, Android)</a>`,
      `<a class="download" download="${escapeHtml(content.accountName)}.mobileconfig" href="${dataUri("application/x-apple-aspen-config", ike.mobileconfig)}">Apple profile (.mobileconfig)</a>`,
      `<a class="download" download="ca.pem" href="${dataUri("application/x-pem-file", ike.caPem)}">CA certificate</a></p>`,
    );
    sections.push(`</section>`);
  }
  sections.push(`<p class="notice">This page is shown once. Save the configuration now.</p>`);
  return page(config, sections.join("\n"));
}

/** What every unknown, used or expired link shows. */
export function renderNotRelevantPage(config: OtlConfig): string {
  return page(config, `<div id="not-relevant">${config.not_relevant}</div>`);
}
