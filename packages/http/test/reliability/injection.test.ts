/**
 * Issue 8 point 7 (injection): no shell anywhere, and no account or server field can add a
 * rule, a section or a line to what vpncp generates. Hostile values are refused through the
 * API with their documented sentence; values that are accepted although they hold unusual
 * characters (passwords with braces, hashes, dollars, angle brackets…) are rendered into
 * the client config, swanctl.conf, the .mobileconfig and the .sswan profile and parsed back:
 * each stays one value, and each file keeps the structure it has with a plain value.
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative, resolve } from "node:path";
import { ERRORS, generateKeyPair, type Ikev2ConnectionSpec } from "@vpncp/core";
import {
  ExecaRunner,
  FakeCommandRunner,
  IptablesFirewall,
  NftablesFirewall,
  renderUserConf,
  StrongSwanDriver,
  TcShaper,
  WireGuardToolsDriver,
} from "@vpncp/drivers";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { type Harness, startHarness } from "../harness.js";

const ROOT = resolve(import.meta.dirname, "../../../..");
const E = (code: keyof typeof ERRORS) => ERRORS[code].message;

function sourceFiles(dir: string): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const full = join(dir, entry.name);
    if (entry.isDirectory()) {
      if (entry.name !== "node_modules" && entry.name !== "dist") out.push(...sourceFiles(full));
    } else if (/\.(ts|js|mjs|cjs)$/.test(entry.name)) out.push(full);
  }
  return out;
}

describe("no shell anywhere: every command is a program and an argument array, through the command runner", () => {
  const files = readdirSync(join(ROOT, "packages"))
    .flatMap((pkg) => ["src", "bin"].map((dir) => join(ROOT, "packages", pkg, dir)))
    .filter((dir) => existsSync(dir))
    .flatMap(sourceFiles);
  const text = (file: string) => readFileSync(file, "utf8");
  const rel = (file: string) => relative(ROOT, file);

  test("the product's sources are found", () => {
    expect(files.length).toBeGreaterThan(50);
  });

  test("only the execa command runner starts processes (no child_process or execa import elsewhere)", () => {
    const starters = files.filter((f) =>
      /from\s+["'](node:)?child_process["']|from\s+["']execa["']|require\(["'](node:)?child_process["']\)/.test(text(f)),
    );
    expect(starters.map(rel)).toEqual(["packages/drivers/src/command-runner/execa.ts"]);
  });

  test("no shell option, no exec/execSync, no execa command strings or scripts", () => {
    const offending: string[] = [];
    for (const file of files) {
      const source = text(file);
      for (const [what, pattern] of [
        ["shell option", /\bshell\s*:/],
        ["exec()", /(?<![.\w])exec(Sync)?\s*\(/],
        ["child_process.exec", /child_process\.exec(Sync)?\b/],
        ["execaCommand", /\bexecaCommand(Sync)?\b/],
        ["execa $ script", /(?<![\w.])\$\s*`/],
        ["bash/sh -c", /["'](ba)?sh["']\s*,\s*\[\s*["']-c["']/],
      ] as const) {
        if (pattern.test(source)) offending.push(`${rel(file)}: ${what}`);
      }
    }
    expect(offending).toEqual([]);
  });

  test("every run()/spawn() names a program (a literal is one word) and passes its arguments as an array", () => {
    const calls: string[] = [];
    for (const file of files.filter((f) => f.includes("/drivers/src/") || f.includes("/core/src/"))) {
      for (const match of text(file).matchAll(/\.(run|spawn)\(\s*(`[^`]*`|"[^"]*"|'[^']*'|[\w.#]+)\s*,\s*([^,)]*)/g)) {
        const [, method, program, args] = match;
        // a literal program is one word; the arguments are an array literal or an array variable, never a string
        if (/^["'`]/.test(program!) && /\s/.test(program!)) calls.push(`${rel(file)}: ${method}(${program}`);
        if (/^["'`]/.test(args!.trim())) calls.push(`${rel(file)}: ${method}(${program}, ${args}`);
      }
    }
    expect(calls).toEqual([]);
  });

  test("the runner passes metacharacters to the program as bytes: nothing is expanded or run", async () => {
    const dir = mkdtempSync(join(tmpdir(), "vpncp-noshell-"));
    try {
      const marker = join(dir, "pwned");
      const hostile = `$(touch ${marker}); \`touch ${marker}\` | touch ${marker} && touch ${marker} > ${marker} * ~ \n touch ${marker}`;
      const result = await new ExecaRunner().run("printf", ["%s", hostile]);
      expect(result.stdout).toBe(hostile);
      expect(existsSync(marker)).toBe(false);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("hostile field values are refused with their documented sentence, through the API", () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness("in-process");
    await h.vpncp.servers.create({ name: "inj", address: "10.90.0.1/24", externalIp: "203.0.113.9" });
    await h.vpncp.accounts.create({ wgName: "inj", name: "victim", username: "victim_u" });
  });
  afterAll(async () => {
    await h?.close();
  });

  // each would add a line, a section, a rule or a command if it reached a config or a command line unescaped
  const LINE = ["x\n[Peer]", "x\r\nPostUp = touch /tmp/x", "x\nAllowedIPs = 0.0.0.0/0"];
  const NFT = ["x; flush ruleset", "x } ; add rule inet vpncp x drop", 'x" counter accept comment "'];
  const SWAN = ["x }\nconnections { evil {", "x\nsecrets { eap-x { secret = y } }"];
  const TC = ["1\nqdisc del dev eth0 root", "1 ; tc qdisc del dev eth0 root"];
  const SHELL = ["$(reboot)", "`reboot`", "x|reboot", "x && reboot"];
  const ALL = [...LINE, ...NFT, ...SWAN, ...TC, ...SHELL];

  const cases: [string, string, Record<string, string>, string][] = [];
  for (const v of ALL) {
    cases.push(
      ["POST", "/api/v1/account", { wg_name: "inj", name: v }, E("WRONG_NAME")],
      ["POST", "/api/v1/account", { wg_name: "inj", username: v }, E("WRONG_USERNAME")],
      // "$(reboot)" is a valid password: it never meets a shell (the runner test above), and the renderers keep it one value (below)
      ...(/[\s"']/.test(v)
        ? [
            ["POST", "/api/v1/account", { wg_name: "inj", password: v }, E("WRONG_PASSWORD")] as [
              string,
              string,
              Record<string, string>,
              string,
            ],
          ]
        : []),
      ["POST", "/api/v1/account", { wg_name: "inj", private_key: v }, E("KEYS_INVALID")],
      ["POST", "/api/v1/account", { wg_name: "inj", public_key: v }, E("KEYS_INVALID")],
      ["POST", "/api/v1/account", { wg_name: "inj", allowed_IPs: `10.90.0.9${v}` }, E("WRONG_IP")],
      ["POST", "/api/v1/account", { wg_name: "inj", b_download: `1${v}` }, E("WRONG_DOWNLOAD")],
      ["POST", "/api/v1/account", { wg_name: "inj", b_upload: `1${v}` }, E("WRONG_UPLOAD")],
      ["POST", "/api/v1/account", { wg_name: "inj", status: `enable${v}` }, E("WRONG_STATUS")],
      ["PUT", "/api/v1/account/victim", { username: v }, E("WRONG_USERNAME")],
      ...(/[\s"']/.test(v)
        ? [
            ["PUT", "/api/v1/account/victim", { password: `ok${v}` }, E("WRONG_PASSWORD")] as [
              string,
              string,
              Record<string, string>,
              string,
            ],
          ]
        : []),
      ["PUT", "/api/v1/account/victim", { allowed_IPs: `10.90.0.9${v}` }, E("WRONG_EXTERNAL_IP")],
      ["POST", "/api/v1/wireguard", { name: v }, E("WRONG_NAME")],
      ["POST", "/api/v1/wireguard", { interface_name: `wg9${v}` }, E("WRONG_INTERFACE")],
      ["POST", "/api/v1/wireguard", { listen_port: `5182${v}` }, E("WRONG_PORT")],
      ["POST", "/api/v1/wireguard", { external_ip: `198.51.100.1${v}` }, E("WRONG_EXTERNAL_IP")],
      ["PUT", "/api/v1/wireguard/inj", { endpoint: `vpn.example.com${v}` }, E("WRONG_ENDPOINT")],
      ["PUT", "/api/v1/wireguard/inj", { dns_1: `1.1.1.1${v}` }, E("WRONG_DNS1")],
      ["PUT", "/api/v1/wireguard/inj", { dns_2: `8.8.8.8${v}` }, E("WRONG_DNS2")],
      ["PUT", "/api/v1/wireguard/inj", { dns_1_ipv6: `2001:db8::1${v}` }, E("WRONG_DNS1_IPV6")],
      ["PUT", "/api/v1/wireguard/inj", { dns_2_ipv6: `2001:db8::2${v}` }, E("WRONG_DNS2_IPV6")],
      ["PUT", "/api/v1/wireguard/inj", { mtu: `1420${v}` }, E("WRONG_MTU")],
      ["PUT", "/api/v1/wireguard/inj", { keep_alive: `25${v}` }, E("WRONG_KEEP_ALIVE")],
      ["PUT", "/api/v1/wireguard/inj", { allowed_ips: `0.0.0.0/0${v}` }, E("WRONG_ALLOWED_IPS")],
      ["PUT", "/api/v1/wireguard/inj", { b_download: `5${v}` }, E("WRONG_DOWNLOAD")],
    );
  }

  test(`${cases.length} hostile values over every account and server field: all refused, nothing changed`, async () => {
    const before = JSON.stringify([h.vpncp.accounts.list(), h.vpncp.servers.list()]);
    const wrong: string[] = [];
    for (const [method, path, fields, sentence] of cases) {
      const r = await h.api(method, path, new URLSearchParams(fields).toString());
      if (r.status !== 400 || r.body.error !== sentence)
        wrong.push(`${method} ${path} ${JSON.stringify(fields)}: ${r.status} ${r.body.error}`);
    }
    expect(wrong).toEqual([]);
    expect(JSON.stringify([h.vpncp.accounts.list(), h.vpncp.servers.list()])).toBe(before);
  });
});

/** swanctl.conf's grammar, enough to read structure back: sections, key = value (quoted strings with \\ escapes). */
function parseSwanctl(text: string): { sections: string[]; values: Map<string, string> } {
  const sections: string[] = [];
  const values = new Map<string, string>();
  const path: string[] = [];
  let i = 0;
  const skipSpace = () => {
    for (;;) {
      while (i < text.length && /\s/.test(text[i]!)) i += 1;
      if (text[i] === "#") while (i < text.length && text[i] !== "\n") i += 1;
      else return;
    }
  };
  while (i < text.length) {
    skipSpace();
    if (i >= text.length) break;
    if (text[i] === "}") {
      path.pop();
      i += 1;
      continue;
    }
    const name = /^[^\s{}=#"]+/.exec(text.slice(i))?.[0];
    if (!name) throw new Error(`unexpected ${JSON.stringify(text.slice(i, i + 20))}`);
    i += name.length;
    skipSpace();
    if (name === "include") {
      while (i < text.length && text[i] !== "\n") i += 1;
      continue;
    }
    if (text[i] === "{") {
      i += 1;
      path.push(name);
      sections.push(path.join("."));
    } else if (text[i] === "=") {
      i += 1;
      while (text[i] === " " || text[i] === "\t") i += 1;
      let value = "";
      if (text[i] === '"') {
        i += 1;
        while (i < text.length && text[i] !== '"') {
          if (text[i] === "\\") i += 1;
          value += text[i];
          i += 1;
        }
        i += 1;
      } else {
        while (i < text.length && text[i] !== "\n") value += text[i++];
        value = value.trim();
      }
      values.set([...path, name].join("."), value);
    } else throw new Error(`no = or { after ${name}`);
  }
  if (path.length !== 0) throw new Error(`unclosed sections: ${path.join(".")}`);
  return { sections, values };
}

/** A wg config as wg-quick reads it: [Section] headers and key = value lines. */
function parseIni(text: string): { sections: string[]; entries: [string, string, string][] } {
  const sections: string[] = [];
  const entries: [string, string, string][] = [];
  for (const line of text.split("\n")) {
    if (line.trim() === "") continue;
    const header = /^\[(\w+)\]$/.exec(line);
    if (header) sections.push(header[1]!);
    else {
      const kv = /^(\w+) = (.*)$/.exec(line);
      if (!kv) throw new Error(`not a config line: ${JSON.stringify(line)}`);
      entries.push([sections.at(-1) ?? "", kv[1]!, kv[2]!]);
    }
  }
  return { sections, entries };
}

/** Every printable ASCII character a password may hold (no space, quotes or backslash). */
const ODD_PASSWORDS = [
  "{}#;$()`|&<>",
  "!%*+,-./:=?@[]^_~",
  "a}b{c#d",
  "0xdeadbeef",
  "0s-base64",
  "<key>x</key>&amp;",
  "]]><!--",
  ["$", "{HOME}"].join(""),
];

describe("accepted values with unusual characters stay one value in every generated file", () => {
  let h: Harness;
  const dir = mkdtempSync(join(tmpdir(), "vpncp-inj-"));
  beforeAll(async () => {
    h = await startHarness("in-process");
    const ca = new URLSearchParams({ ca_common_name: "Inj <CA> & co", ca_organization: `O'Brien "&" <x>` }).toString();
    expect((await h.api("PUT", "/api/v1/ikev2/generate_ca_rsa", ca)).body.error).toBe("");
    expect((await h.api("PUT", "/api/v1/ikev2/generate_server_rsa", "server_ip=192.0.2.1")).body.error).toBe("");
    const made = await h.api(
      "POST",
      "/api/v1/wireguard",
      "name=odd&address=10.91.0.1/24&ikev2=1&ipv6=1&endpoint=vpn-1.example.com.&allowed_ips=0.0.0.0/0, ::/0 ,&dns_1=9.9.9.9&keep_alive=0",
    );
    expect(made.body.error).toBe("");
  });
  afterAll(async () => {
    await h?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test("passwords with braces, hashes, $, angle brackets and 0x/0s prefixes: accepted, and each one secret in swanctl.conf", async () => {
    const plain = await h.api<Record<string, string>>("POST", "/api/v1/account", "wg_name=odd&name=plain&password=plainpw1");
    const plainConf = parseSwanctl(userConf("plain", "plainpw1", plain.body.msg.allowed_IPs!));
    for (const [n, password] of ODD_PASSWORDS.entries()) {
      const made = await h.api<Record<string, string>>(
        "POST",
        "/api/v1/account",
        new URLSearchParams({ wg_name: "odd", name: `odd_${n}`, password }).toString(),
      );
      expect([password, made.body.error, made.body.msg.password]).toEqual([password, "", password]);
      const conf = parseSwanctl(userConf(`odd_${n}`, password, made.body.msg.allowed_IPs!));
      // the same sections and keys as with a plain password, and the secret reads back as given
      const rename = (s: string) => s.replaceAll(`odd_${n}`, "plain");
      expect(conf.sections.map(rename)).toEqual(plainConf.sections);
      expect([...conf.values.keys()].map(rename)).toEqual([...plainConf.values.keys()]);
      const secret = [...conf.values].find(([k]) => k.endsWith(".secret"))![1];
      expect(secret.startsWith("0x") && /^0[xs]/.test(password) ? Buffer.from(secret.slice(2), "hex").toString() : secret).toBe(password);
    }
  });

  function userConf(username: string, password: string, ipv4: string): string {
    const spec: Ikev2ConnectionSpec = {
      name: "odd",
      localAddrs: [],
      serverId: "192.0.2.1",
      serverCertificatePem: "",
      serverPrivateKeyPem: "",
      caCertificatePem: "",
      subnet4: "10.91.0.0/24",
      subnet6: undefined,
      localTs: ["0.0.0.0/0"],
      dns: ["9.9.9.9"],
    };
    return renderUserConf(spec, { connection: "odd", username, password, ipv4 });
  }

  test("the .mobileconfig holds each password as one XML string, with the same keys as a plain one", async () => {
    const keysOf = (xml: string) => [...xml.matchAll(/<key>([^<]*)<\/key>/g)].map((m) => m[1]);
    const xmlDecode = (s: string) =>
      s
        .replace(/&lt;/g, "<")
        .replace(/&gt;/g, ">")
        .replace(/&quot;/g, '"')
        .replace(/&apos;/g, "'")
        .replace(/&amp;/g, "&");
    const plain = (await h.api<string>("GET", "/api/v1/account/plain/ikev2_mobileconfig")).body.msg;
    expect(plain).toContain("<key>AuthPassword</key>");
    for (const [n, password] of ODD_PASSWORDS.entries()) {
      const xml = (await h.api<string>("GET", `/api/v1/account/odd_${n}/ikev2_mobileconfig`)).body.msg;
      expect(keysOf(xml)).toEqual(keysOf(plain));
      const stored = /<key>AuthPassword<\/key>\s*<string>([^<]*)<\/string>/.exec(xml)?.[1];
      expect(stored !== undefined && xmlDecode(stored)).toBe(password);
      // the CA's organization with quotes and angle brackets is text, not markup
      expect(xml.split("<dict>").length).toBe(plain.split("<dict>").length);
    }
  });

  test("the .sswan profile is JSON whose fields read back as stored (and holds no password)", async () => {
    for (const [n, password] of ODD_PASSWORDS.entries()) {
      const account = (await h.api<Record<string, string>>("GET", `/api/v1/account/odd_${n}`)).body.msg;
      const sswan = JSON.parse((await h.api<string>("GET", `/api/v1/account/odd_${n}/ikev2_profile`)).body.msg) as {
        remote: { addr: string };
        local: { eap_id: string };
      };
      expect([sswan.remote.addr, sswan.local.eap_id]).toEqual(["vpn-1.example.com.", account.username]);
      expect(JSON.stringify(sswan)).not.toContain(password);
    }
  });

  test("the WireGuard client config: [Interface] and [Peer] only, one line per key, values as stored", async () => {
    const text = (await h.api<string>("GET", "/api/v1/account/odd_0/config_text")).body.msg;
    const account = (await h.api<Record<string, string>>("GET", "/api/v1/account/odd_0")).body.msg;
    const server = (await h.api<Record<string, string>>("GET", "/api/v1/wireguard/odd")).body.msg;
    const { sections, entries } = parseIni(text);
    expect(sections).toEqual(["Interface", "Peer"]);
    expect(entries.map(([s, k]) => `${s}.${k}`)).toEqual([
      "Interface.PrivateKey",
      "Interface.Address",
      "Interface.DNS",
      "Peer.PublicKey",
      "Peer.AllowedIPs",
      "Peer.Endpoint",
    ]);
    const value = (key: string) => entries.find(([, k]) => k === key)![2];
    expect(value("PrivateKey")).toBe(account.private_key);
    expect(value("PublicKey")).toBe(server.public_key);
    expect(value("AllowedIPs")).toBe("0.0.0.0/0, ::/0");
    expect(value("Endpoint")).toBe(`vpn-1.example.com.:${server.listen_port}`);
    expect(value("Address").split(", ")[0]).toBe(`${account.allowed_IPs}/24`);
  });
});

describe("the system drivers refuse hostile values themselves (a second line behind the API's validation)", () => {
  const HOSTILE = [
    "x\n[Peer]",
    'x" ; flush ruleset ; "',
    "x } ; add rule inet vpncp f drop",
    "1.2.3.4\nqdisc del dev eth0 root",
    "$(reboot)",
  ];
  const key = generateKeyPair();
  const server = { name: "srv", interface: "wg7", subnet4: "10.98.0.0/24", externalIp: "", internalTraffic: false };
  const account = { mark: 0x100, interface: "wg7", ipv4: "10.98.0.2" };
  const shaped = { mark: 0x100, ipv4: "10.98.0.2", downloadMbit: 5, uploadMbit: 5 };
  const connection: Ikev2ConnectionSpec = {
    name: "srv",
    localAddrs: [],
    serverId: "vpn.example.com",
    serverCertificatePem: "",
    serverPrivateKeyPem: "",
    caCertificatePem: "",
    subnet4: "10.98.0.0/24",
    localTs: ["0.0.0.0/0"],
    dns: ["9.9.9.9"],
  };
  const user = { connection: "srv", username: "u1", password: "pw-1", ipv4: "10.98.0.2" };

  /** Each call, with the hostile value in one field, must be refused before any command carries it. */
  const calls: [string, (runner: FakeCommandRunner, v: string) => Promise<unknown>][] = [
    ["nft server name", (r, v) => new NftablesFirewall({ runner: r }).apply({ servers: [{ ...server, name: v }], accounts: [] })],
    ["nft interface", (r, v) => new NftablesFirewall({ runner: r }).apply({ servers: [{ ...server, interface: v }], accounts: [] })],
    ["nft subnet", (r, v) => new NftablesFirewall({ runner: r }).apply({ servers: [{ ...server, subnet4: v }], accounts: [] })],
    ["nft external IP", (r, v) => new NftablesFirewall({ runner: r }).apply({ servers: [{ ...server, externalIp: v }], accounts: [] })],
    ["nft WAN interface", (r, v) => new NftablesFirewall({ runner: r }).apply({ wanInterface: v, servers: [server], accounts: [] })],
    [
      "nft account address",
      (r, v) => new NftablesFirewall({ runner: r }).apply({ servers: [server], accounts: [{ ...account, ipv4: v }] }),
    ],
    ["nft account update", (r, v) => new NftablesFirewall({ runner: r }).updateAccounts({ upsert: [{ ...account, ipv6: v }], remove: [] })],
    ["iptables server name", (r, v) => new IptablesFirewall({ runner: r }).apply({ servers: [{ ...server, name: v }], accounts: [] })],
    ["iptables interface", (r, v) => new IptablesFirewall({ runner: r }).apply({ servers: [{ ...server, interface: v }], accounts: [] })],
    ["iptables subnet", (r, v) => new IptablesFirewall({ runner: r }).apply({ servers: [{ ...server, subnet4: v }], accounts: [] })],
    [
      "iptables external IP",
      (r, v) => new IptablesFirewall({ runner: r }).apply({ servers: [{ ...server, externalIp: v }], accounts: [] }),
    ],
    ["iptables WAN interface", (r, v) => new IptablesFirewall({ runner: r }).apply({ wanInterface: v, servers: [server], accounts: [] })],
    [
      "iptables account address",
      (r, v) => new IptablesFirewall({ runner: r }).apply({ servers: [server], accounts: [{ ...account, ipv4: v }] }),
    ],
    [
      "iptables account update",
      (r, v) => new IptablesFirewall({ runner: r }).updateAccounts({ upsert: [{ ...account, ipv6: v }], remove: [] }),
    ],
    // numbers that arrive as text (a bug upstream) are refused too
    ["nft mark", (r, v) => new NftablesFirewall({ runner: r }).apply({ servers: [server], accounts: [{ ...account, mark: v as never }] })],
    [
      "iptables mark",
      (r, v) => new IptablesFirewall({ runner: r }).apply({ servers: [server], accounts: [{ ...account, mark: v as never }] }),
    ],
    [
      "tc rate",
      (r, v) => new TcShaper({ runner: r }).updateAccounts("wg7", { upsert: [{ ...shaped, downloadMbit: v as never }], remove: [] }),
    ],
    ["tc mark", (r, v) => new TcShaper({ runner: r }).updateAccounts("wg7", { upsert: [{ ...shaped, mark: v as never }], remove: [] })],
    [
      "wg listen port",
      (r, v) =>
        new WireGuardToolsDriver({ runner: r }).applyInterface(
          { name: "wg7", privateKey: key.privateKey, listenPort: v as never, addresses: [] },
          [],
        ),
    ],
    ["tc interface", (r, v) => new TcShaper({ runner: r }).applyInterfaces([{ interface: v, subnets: ["10.98.0.0/24"], accounts: [] }])],
    ["tc subnet", (r, v) => new TcShaper({ runner: r }).applyInterfaces([{ interface: "wg7", subnets: [v], accounts: [] }])],
    ["tc account address", (r, v) => new TcShaper({ runner: r }).updateAccounts("wg7", { upsert: [{ ...shaped, ipv4: v }], remove: [] })],
    [
      "wg interface",
      (r, v) =>
        new WireGuardToolsDriver({ runner: r }).applyInterface(
          { name: v, privateKey: key.privateKey, listenPort: 51820, addresses: [] },
          [],
        ),
    ],
    [
      "wg address",
      (r, v) =>
        new WireGuardToolsDriver({ runner: r }).applyInterface(
          { name: "wg7", privateKey: key.privateKey, listenPort: 51820, addresses: [v] },
          [],
        ),
    ],
    [
      "wg private key",
      (r, v) =>
        new WireGuardToolsDriver({ runner: r }).applyInterface({ name: "wg7", privateKey: v, listenPort: 51820, addresses: [] }, []),
    ],
    [
      "wg peer key",
      (r, v) =>
        new WireGuardToolsDriver({ runner: r }).updatePeers("wg7", {
          upsert: [{ publicKey: v, allowedIps: ["10.98.0.2/32"] }],
          remove: [],
        }),
    ],
    [
      "wg peer allowed IP",
      (r, v) =>
        new WireGuardToolsDriver({ runner: r }).updatePeers("wg7", { upsert: [{ publicKey: key.publicKey, allowedIps: [v] }], remove: [] }),
    ],
    ["swanctl username", (r, v) => ikev2(r).apply({ connections: [connection], users: [{ ...user, username: v }] })],
    ["swanctl connection", (r, v) => ikev2(r).apply({ connections: [{ ...connection, name: v }], users: [] })],
    ["swanctl traffic selector", (r, v) => ikev2(r).apply({ connections: [{ ...connection, localTs: [v] }], users: [] })],
    ["swanctl DNS", (r, v) => ikev2(r).apply({ connections: [{ ...connection, dns: [v] }], users: [] })],
    ["swanctl server id", (r, v) => ikev2(r).apply({ connections: [{ ...connection, serverId: v }], users: [] })],
    ["swanctl password", (r, v) => ikev2(r).apply({ connections: [connection], users: [{ ...user, password: v }] })],
  ];
  const stateDirs: string[] = [];
  const ikev2 = (runner: FakeCommandRunner) => {
    const stateDir = mkdtempSync(join(tmpdir(), "vpncp-inj-swan-"));
    stateDirs.push(stateDir);
    // external mode at a socket that does not exist: a state that passed the checks would fail there instead
    return new StrongSwanDriver({ runner, stateDir, mode: "external", viciUri: `unix://${join(stateDir, "none.vici")}` });
  };
  afterAll(() => {
    for (const dir of stateDirs) rmSync(dir, { recursive: true, force: true });
  });

  test(`${calls.length} driver entry points × ${HOSTILE.length} hostile values: refused before any command or file carries them`, async () => {
    const accepted: string[] = [];
    for (const [what, call] of calls) {
      for (const value of HOSTILE) {
        // a password may hold "$(reboot)": it is one quoted value in swanctl.conf and goes over vici, never to a shell
        if (what === "swanctl password" && !/[\s"]/.test(value)) continue;
        const runner = new FakeCommandRunner();
        const error = await call(runner, value).then(
          () => null,
          (e: unknown) => (e instanceof Error ? e.message : String(e)),
        );
        const carried = runner.commands.some((c) => [...c.args, c.input ?? ""].some((a) => a.includes(value)));
        const filed = stateDirs.some((dir) => JSON.stringify(readdirSync(dir, { recursive: true })).length > 2);
        if (error === null || /ENOENT|ECONNREFUSED|vici/i.test(error) || carried || filed) {
          accepted.push(
            `${what} ${JSON.stringify(value)}: ${error ?? "accepted"}${carried ? " (carried by a command)" : ""}${filed ? " (written)" : ""}`,
          );
        }
        for (const dir of stateDirs.splice(0)) rmSync(dir, { recursive: true, force: true });
      }
    }
    expect(accepted).toEqual([]);
  });
});
