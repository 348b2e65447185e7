/** The .mobileconfig through Python's plistlib, the reference plist reader: it parses, and holds what Apple expects. */
import { spawnSync } from "node:child_process";
import { X509Certificate } from "node:crypto";
import { beforeAll, describe, expect, test } from "vitest";
import { realToolsUnavailable } from "../../../drivers/test/netns.js";
import { type CertificateMaterial, generateCa } from "../../src/crypto/certificates.js";
import { renderMobileconfig } from "../../src/render/mobileconfig.js";

const skip = realToolsUnavailable(["python3"]);
let ca: CertificateMaterial;

beforeAll(async () => {
  ca = await generateCa({ commonName: "PUQ VPN <Root> & Co", organization: "PUQ" });
});

const input = () => ({
  uuid: "da7782cd-d00c-4114-9250-6c798585a441",
  name: "Home & <Office> \"VPN\" 'A'",
  serverAddress: "vpn.example.com",
  serverId: "vpn.example.com",
  caCertificatePem: ca.certificatePem,
  username: "user_104",
  password: "Pa-ss.w0rd_&<>",
  serverCertificateCommonName: "vpn.example.com",
  organization: "Tom & Jerry",
});

/** Parsed with Python's plistlib, the reference reader that ships everywhere python3 does. */
function plistlib(xml: string): unknown {
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

describe.skipIf(skip)("renderMobileconfig through plistlib", () => {
  test("parses, with the VPN and root payloads Apple expects", () => {
    const profile = plistlib(renderMobileconfig(input())) as Record<string, unknown> & { PayloadContent: Record<string, unknown>[] };
    expect(profile).toMatchObject({
      PayloadType: "Configuration",
      PayloadVersion: 1,
      PayloadIdentifier: "vpncp.da7782cd-d00c-4114-9250-6c798585a441",
      PayloadDisplayName: "Home & <Office> \"VPN\" 'A'",
      PayloadOrganization: "Tom & Jerry",
      PayloadRemovalDisallowed: false,
    });
    const [vpn, root] = profile.PayloadContent;
    expect(vpn).toMatchObject({
      PayloadType: "com.apple.vpn.managed",
      PayloadIdentifier: "vpncp.da7782cd-d00c-4114-9250-6c798585a441.vpn",
      UserDefinedName: "Home & <Office> \"VPN\" 'A'",
      VPNType: "IKEv2",
      IKEv2: {
        RemoteAddress: "vpn.example.com",
        RemoteIdentifier: "vpn.example.com",
        LocalIdentifier: "user_104",
        AuthenticationMethod: "None",
        ExtendedAuthEnabled: 1,
        AuthName: "user_104",
        AuthPassword: "Pa-ss.w0rd_&<>",
        ServerCertificateIssuerCommonName: "PUQ VPN <Root> & Co",
        ServerCertificateCommonName: "vpn.example.com",
        IKESecurityAssociationParameters: { EncryptionAlgorithm: "AES-256", IntegrityAlgorithm: "SHA2-256", DiffieHellmanGroup: 19 },
        ChildSecurityAssociationParameters: { EncryptionAlgorithm: "AES-256", IntegrityAlgorithm: "SHA2-256" },
      },
    });
    expect(root).toMatchObject({
      PayloadType: "com.apple.security.root",
      PayloadIdentifier: "vpncp.da7782cd-d00c-4114-9250-6c798585a441.ca",
      PayloadCertificateFileName: "ca.cer",
    });
    // <data> is the CA's DER.
    const der = Buffer.from(root!.PayloadContent as string, "base64");
    expect(new X509Certificate(der).fingerprint256).toBe(new X509Certificate(ca.certificatePem).fingerprint256);
  });

  test("without a password or server CN those keys are left out, so the device asks / uses RemoteIdentifier", () => {
    const profile = plistlib(renderMobileconfig({ ...input(), password: undefined, serverCertificateCommonName: undefined })) as {
      PayloadContent: { IKEv2?: Record<string, unknown> }[];
    };
    const ikev2 = profile.PayloadContent[0]!.IKEv2!;
    expect(ikev2).not.toHaveProperty("AuthPassword");
    expect(ikev2).not.toHaveProperty("ServerCertificateCommonName");
    expect(ikev2.AuthName).toBe("user_104");
  });
});
