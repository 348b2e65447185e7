/**
 * The IKEv2 profiles against a real strongSwan server: a charon with default
 * proposals, the server certificate from generateServerCertificate and an EAP
 * secret from generatePassword, in one network namespace; in another, charon-cmd
 * connects with exactly what each profile tells a device: the .mobileconfig's
 * address, identities, CA payload, credentials and IKE/ESP proposals (as read by
 * plistlib), and the .sswan's address, identity, CA and EAP identity.
 * Apple's own client cannot run here; this proves the parts strongSwan decides.
 */
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { createNamespace, linkNamespaces, realToolsUnavailable, type TestNamespace } from "../../../drivers/test/netns.js";
import { generateCa, generateServerCertificate } from "../../src/crypto/certificates.js";
import { generatePassword } from "../../src/crypto/secrets.js";
import { renderMobileconfig } from "../../src/render/mobileconfig.js";
import { renderSswanProfile } from "../../src/render/sswan.js";

const skip = realToolsUnavailable(["charon-cmd", "charon-systemd", "swanctl", "stdbuf", "python3"]);

const SERVER_IP = "192.0.2.1";
const CLIENT_IP = "192.0.2.2";
const SERVER_ID = "vpn.example.test";
const INNER = "10.0.105.1";
const USERNAME = "user_104";
const ACCOUNT_UUID = "da7782cd-d00c-4114-9250-6c798585a441";

const PLUGINS =
  "kernel-libipsec kernel-netlink socket-default vici random nonce openssl gcrypt pem pkcs1 pkcs8 x509 revocation constraints pubkey curve25519 aes sha1 sha2 hmac kdf gmp md5 eap-identity eap-mschapv2 attr updown";

let dir = "";
let server: TestNamespace | undefined;
let client: TestNamespace | undefined;
const daemons: ChildProcess[] = [];
let password = "";
let caPem = "";

/** Apple's algorithm names → strongSwan's proposal keywords. */
const ENCRYPTION: Record<string, string> = {
  "AES-128": "aes128",
  "AES-256": "aes256",
  "AES-128-GCM": "aes128gcm16",
  "AES-256-GCM": "aes256gcm16",
};
const INTEGRITY: Record<string, string> = { "SHA2-256": "sha256", "SHA2-384": "sha384", "SHA2-512": "sha512" };
const DH_GROUP: Record<number, string> = { 14: "modp2048", 19: "ecp256", 20: "ecp384", 21: "ecp521", 31: "curve25519" };

interface AppleProposal {
  EncryptionAlgorithm: string;
  IntegrityAlgorithm: string;
  DiffieHellmanGroup: number;
}

function ikeProposal(p: AppleProposal): string {
  return [ENCRYPTION[p.EncryptionAlgorithm], INTEGRITY[p.IntegrityAlgorithm], DH_GROUP[p.DiffieHellmanGroup]].join("-");
}

/** ESP without a DH group: Apple uses the child group only for PFS, which the profile leaves off. */
function espProposal(p: AppleProposal): string {
  return [ENCRYPTION[p.EncryptionAlgorithm], INTEGRITY[p.IntegrityAlgorithm]].join("-");
}

/** The profile as plistlib reads it (bytes as base64). */
function parsePlist(xml: string): {
  PayloadContent: [
    {
      IKEv2: Record<string, string> & {
        IKESecurityAssociationParameters: AppleProposal;
        ChildSecurityAssociationParameters: AppleProposal;
        EnablePFS: number;
      };
    },
    { PayloadContent: string },
  ];
} {
  const script = [
    "import base64, json, plistlib, sys",
    "p = plistlib.loads(sys.stdin.buffer.read())",
    "conv = lambda o: base64.b64encode(o).decode() if isinstance(o, bytes) else o",
    "walk = lambda o: {k: walk(v) for k, v in o.items()} if isinstance(o, dict) else [walk(v) for v in o] if isinstance(o, list) else conv(o)",
    "print(json.dumps(walk(p)))",
  ].join("\n");
  const result = spawnSync("python3", ["-c", script], { input: xml, encoding: "utf8" });
  expect(result.status, result.stderr).toBe(0);
  return JSON.parse(result.stdout);
}

function save(path: string, text: string | Buffer, mode = 0o644): string {
  writeFileSync(path, text, { mode });
  return path;
}

async function waitFor(check: () => boolean, what: string, ms = 15_000): Promise<void> {
  for (let waited = 0; waited < ms; waited += 100) {
    if (check()) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`timed out waiting for ${what}`);
}

async function stop(daemon: ChildProcess): Promise<void> {
  if (daemon.exitCode !== null || daemon.signalCode !== null || !daemon.pid) return;
  const exited = new Promise((resolve) => daemon.once("exit", resolve));
  process.kill(daemon.pid, "SIGTERM");
  await exited;
}

interface ClientRun {
  readonly established: boolean;
  readonly log: string;
}

/** charon-cmd in the client namespace; the EAP password goes to its prompt on stdin. */
async function connect(args: readonly string[], eapPassword: string): Promise<ClientRun> {
  const ns = client!;
  const daemon = spawn("ip", ["netns", "exec", ns.name, "stdbuf", "-oL", "charon-cmd", ...args], {
    env: { ...process.env, STRONGSWAN_CONF: join(dir, "cli", "strongswan.conf") },
    stdio: ["pipe", "pipe", "pipe"],
  });
  daemons.push(daemon);
  let log = "";
  daemon.stdout!.on("data", (chunk: Buffer) => {
    log += chunk.toString();
  });
  daemon.stderr!.on("data", (chunk: Buffer) => {
    log += chunk.toString();
  });
  daemon.stdin!.end(`${eapPassword}\n`);
  let established = false;
  try {
    await waitFor(() => /CHILD_SA \S+ established/.test(log) || /failed|giving up/i.test(log) || daemon.exitCode !== null, "charon-cmd");
    established = /CHILD_SA \S+ established/.test(log);
  } finally {
    await stop(daemon);
  }
  return { established, log };
}

describe.skipIf(skip)("IKEv2 profiles against strongSwan", () => {
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "vpncp-ikev2-"));
    for (const sub of ["srv", "srv/x509", "srv/x509ca", "srv/private", "cli"]) mkdirSync(join(dir, sub), { recursive: true });
    const ca = await generateCa({ commonName: "vpncp test CA", organization: "vpncp & Co" });
    const certificate = await generateServerCertificate({ ca, domain: SERVER_ID, ip: SERVER_IP });
    caPem = ca.certificatePem;
    password = generatePassword();
    save(join(dir, "srv/x509/server.pem"), certificate.certificatePem);
    save(join(dir, "srv/private/server.key"), certificate.privateKeyPem, 0o600);
    const vici = join(dir, "srv/charon.vici");
    save(
      join(dir, "srv/strongswan.conf"),
      `charon-systemd {\n  journal {\n    default = -1\n  }\n}\ncharon {\n  load = ${PLUGINS}\n  plugins {\n    vici {\n      socket = unix://${vici}\n    }\n  }\n  filelog {\n    test {\n      path = ${join(dir, "srv/charon.log")}\n      default = 1\n      ike = 2\n      flush_line = yes\n    }\n  }\n}\n`,
    );
    save(join(dir, "cli/strongswan.conf"), `charon-cmd {\n  load = ${PLUGINS.replace(" vici", "")}\n}\n`);
    // Default proposals on purpose: no `proposals` or `esp_proposals`.
    save(
      join(dir, "srv/swanctl.conf"),
      [
        "connections {",
        "  ikev2-eap {",
        "    version = 2",
        `    local_addrs = ${SERVER_IP}`,
        "    pools = pool4",
        "    send_cert = always",
        "    encap = yes",
        "    local {",
        "      auth = pubkey",
        "      certs = server.pem",
        `      id = ${SERVER_ID}`,
        "    }",
        "    remote {",
        "      auth = eap-mschapv2",
        "      eap_id = %any",
        "    }",
        "    children {",
        "      net {",
        `        local_ts = ${INNER}/32`,
        "      }",
        "    }",
        "  }",
        "}",
        "pools {",
        "  pool4 {",
        "    addrs = 10.0.106.0/24",
        "  }",
        "}",
        "secrets {",
        "  eap-user {",
        `    id = ${USERNAME}`,
        `    secret = "${password}"`,
        "  }",
        "}",
        "",
      ].join("\n"),
      0o600,
    );

    server = createNamespace();
    client = createNamespace();
    linkNamespaces(server, `${SERVER_IP}/24`, client, `${CLIENT_IP}/24`);
    server.exec("ip", ["addr", "add", `${INNER}/32`, "dev", "lo"]);
    const charon = spawn("ip", ["netns", "exec", server.name, "/usr/sbin/charon-systemd"], {
      env: { ...process.env, STRONGSWAN_CONF: join(dir, "srv/strongswan.conf") },
      stdio: "ignore",
    });
    daemons.push(charon);
    await waitFor(() => existsSync(vici), "the vici socket");
    const load = spawnSync("swanctl", ["--load-all", "--uri", `unix://${vici}`, "--file", join(dir, "srv/swanctl.conf")], {
      encoding: "utf8",
      env: { ...process.env, STRONGSWAN_CONF: join(dir, "srv/strongswan.conf") },
    });
    expect(load.status, load.stdout + load.stderr).toBe(0);
    expect(load.stdout).toContain("loaded connection 'ikev2-eap'");
    expect(load.stdout).toMatch(/loaded eap secret 'eap-user'/);
  });

  afterAll(async () => {
    for (const daemon of daemons.reverse()) await stop(daemon);
    client?.dispose();
    server?.dispose();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  test("the .mobileconfig's CA, identities, credentials and proposals establish IKE and CHILD SAs", async () => {
    const xml = renderMobileconfig({
      uuid: ACCOUNT_UUID,
      name: "vpncp test",
      serverAddress: SERVER_IP,
      serverId: SERVER_ID,
      caCertificatePem: caPem,
      username: USERNAME,
      password,
    });
    const [vpn, root] = parsePlist(xml).PayloadContent;
    const ikev2 = vpn.IKEv2;
    expect(ikev2.EnablePFS).toBe(0);
    const caPath = save(join(dir, "cli/ca-from-mobileconfig.der"), Buffer.from(root.PayloadContent, "base64"));
    const ike = ikeProposal(ikev2.IKESecurityAssociationParameters);
    const esp = espProposal(ikev2.ChildSecurityAssociationParameters);
    expect(ike).toBe("aes256-sha256-ecp256");
    const run = await connect(
      [
        "--host",
        ikev2.RemoteAddress!,
        "--identity",
        ikev2.LocalIdentifier!,
        "--remote-identity",
        ikev2.RemoteIdentifier!,
        "--cert",
        caPath,
        "--profile",
        "ikev2-eap",
        "--ike-proposal",
        ike,
        "--esp-proposal",
        esp,
        "--remote-ts",
        `${INNER}/32`,
      ],
      ikev2.AuthPassword!,
    );
    expect(run.log).toMatch(/selected proposal: IKE:AES_CBC_256\/HMAC_SHA2_256_128\/PRF_HMAC_SHA2_256\/ECP_256/);
    expect(run.log).toMatch(new RegExp(`authentication of '${SERVER_ID.replace(/\./g, "\\.")}' with RSA\\S* successful`));
    expect(run.log).toContain("EAP-MS-CHAPv2 succeeded");
    expect(run.established, run.log).toBe(true);
  });

  test("the .sswan's address, identity, CA and EAP identity establish IKE and CHILD SAs", async () => {
    const profile = JSON.parse(
      renderSswanProfile({
        uuid: ACCOUNT_UUID,
        name: "vpncp test",
        serverAddress: SERVER_IP,
        serverId: SERVER_ID,
        caCertificatePem: caPem,
        username: USERNAME,
      }),
    );
    const caPath = save(join(dir, "cli/ca-from-sswan.der"), Buffer.from(profile.remote.cert, "base64"));
    const run = await connect(
      [
        "--host",
        profile.remote.addr,
        "--identity",
        profile.local.eap_id,
        "--remote-identity",
        profile.remote.id,
        "--cert",
        caPath,
        "--profile",
        "ikev2-eap",
        "--remote-ts",
        `${INNER}/32`,
      ],
      password,
    );
    expect(run.established, run.log).toBe(true);
  });

  test("a wrong password is refused (the test can tell success from failure)", async () => {
    const run = await connect(
      [
        "--host",
        SERVER_IP,
        "--identity",
        USERNAME,
        "--remote-identity",
        SERVER_ID,
        "--cert",
        save(join(dir, "cli/ca.pem"), caPem),
        "--profile",
        "ikev2-eap",
        "--remote-ts",
        `${INNER}/32`,
      ],
      `${password}x`,
    );
    expect(run.established).toBe(false);
    expect(run.log).toMatch(/EAP-MS-CHAPv2 failed|AUTHENTICATION_FAILED/);
  });
});
