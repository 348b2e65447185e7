import { beforeAll, describe, expect, test } from "vitest";
import { type CertificateMaterial, generateCa } from "../../src/crypto/certificates.js";
import { derivePayloadUuid, renderMobileconfig, xmlText } from "../../src/render/mobileconfig.js";

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

describe("renderMobileconfig", () => {
  test("escapes every string: names with & < > \" ' stay well-formed XML", () => {
    const xml = renderMobileconfig(input());
    expect(xml).toContain("<string>Home &amp; &lt;Office&gt; &quot;VPN&quot; &apos;A&apos;</string>");
    expect(xml).toContain("<string>Pa-ss.w0rd_&amp;&lt;&gt;</string>");
    expect(xml).toContain("<string>PUQ VPN &lt;Root&gt; &amp; Co</string>");
    // No raw "&" that is not an entity, no "<" that does not open a tag of the plist vocabulary.
    expect(xml).not.toMatch(/&(?!(amp|lt|gt|quot|apos);)/);
    for (const tag of xml.match(/<\/?([A-Za-z?!]+)/g) ?? []) {
      expect([
        "<?xml",
        "<!DOCTYPE",
        "<plist",
        "</plist",
        "<dict",
        "</dict",
        "<key",
        "</key",
        "<string",
        "</string",
        "<integer",
        "</integer",
        "<array",
        "</array",
        "<data",
        "</data",
        "<false",
        "<true",
      ]).toContain(tag);
    }
  });

  test("drops characters XML 1.0 cannot carry", () => {
    expect(xmlText("a\u0000b\u0007c\td\ne")).toBe("abc\td\ne");
    expect(xmlText("x\uD800y")).toBe("xy");
    expect(xmlText("😀")).toBe("😀");
  });

  test("payload UUIDs are stable per account, distinct per payload, and version 5", () => {
    const a = renderMobileconfig(input());
    const b = renderMobileconfig({ ...input(), name: "renamed" });
    const uuids = (xml: string) => [...xml.matchAll(/<key>PayloadUUID<\/key>\n\s*<string>([^<]+)<\/string>/g)].map((m) => m[1]);
    expect(uuids(a)).toEqual(uuids(b));
    expect(new Set(uuids(a)).size).toBe(3);
    for (const uuid of uuids(a)) expect(uuid).toMatch(/^[0-9A-F]{8}-[0-9A-F]{4}-5[0-9A-F]{3}-[89AB][0-9A-F]{3}-[0-9A-F]{12}$/);
    expect(uuids(renderMobileconfig({ ...input(), uuid: "00000000-0000-4000-8000-000000000001" }))).not.toEqual(uuids(a));
  });

  test("derivePayloadUuid is RFC 4122 version 5 (the DNS-namespace example of python's uuid5)", () => {
    // python3 -c 'import uuid; print(uuid.uuid5(uuid.NAMESPACE_DNS, "python.org"))'
    expect(derivePayloadUuid("6ba7b810-9dad-11d1-80b4-00c04fd430c8", "python.org")).toBe("886313E1-3B8A-5372-9B90-0C9AEE199E5D");
  });

  test("needs the CA (CA_MISSING)", () => {
    expect(() => renderMobileconfig({ ...input(), caCertificatePem: " " })).toThrow("The ROOT certificate is not present in the system");
  });
});
