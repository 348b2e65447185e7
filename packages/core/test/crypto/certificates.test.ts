import { X509Certificate } from "node:crypto";
import forge from "node-forge";
import { beforeAll, describe, expect, test } from "vitest";
import {
  type CertificateMaterial,
  describeCertificate,
  generateCa,
  generateServerCertificate,
  importCa,
  pemToDerBase64,
} from "../../src/crypto/certificates.js";

let ca: CertificateMaterial;
let otherCa: CertificateMaterial;
let server: CertificateMaterial;
const now = new Date("2026-01-02T03:04:05Z");

beforeAll(async () => {
  [ca, otherCa] = await Promise.all([
    generateCa({
      commonName: "PUQ VPN",
      organization: "PUQ sp. z o.o. & Łódź <HQ>",
      organizationalUnit: "PUQ VPN",
      country: "pl",
      state: "Mazowieckie",
      locality: "Warszawa",
      now,
    }),
    generateCa({ commonName: "Other CA", organization: "Other" }),
  ]);
  server = await generateServerCertificate({ ca, domain: "vpn.example.com", ip: "192.0.2.10", ipv6: "2001:db8:0::10", now });
});

describe("generateCa", () => {
  test("requires a common name and an organization, with the API's sentences", async () => {
    await expect(generateCa({ commonName: " ", organization: "O" })).rejects.toMatchObject({
      code: "COMMON_NAME_REQUIRED",
      message: "Common Name must be filled",
    });
    await expect(generateCa({ commonName: "CN", organization: "" })).rejects.toMatchObject({
      code: "ORGANIZATION_REQUIRED",
      message: "Organization must be filled",
    });
  });

  test("rejects a country that is not two letters", async () => {
    await expect(generateCa({ commonName: "CN", organization: "O", country: "Poland" })).rejects.toMatchObject({ code: "CERT_FAILED" });
  });

  test("makes a self-signed CA with the subject as given, ten years valid", () => {
    const description = describeCertificate(ca.certificatePem);
    expect(description).toMatchObject({
      common_name: "PUQ VPN",
      organization: "PUQ sp. z o.o. & Łódź <HQ>",
      organizational_unit: "PUQ VPN",
      country_name: "PL",
      state_or_province_name: "Mazowieckie",
      locality: "Warszawa",
      is_ca: true,
      not_before: "2026-01-02T02:04:05.000Z",
      not_after: "2035-12-31T02:04:05.000Z",
      dns_names: [],
      ip_addresses: [],
    });
    expect(description.serial).toMatch(/^[0-9A-F]{32}$/);
    const native = new X509Certificate(ca.certificatePem);
    expect(native.ca).toBe(true);
    expect(native.checkIssued(native)).toBe(true);
    expect(native.verify(native.publicKey)).toBe(true);
    expect(native.publicKey.asymmetricKeyDetails?.modulusLength).toBe(3072);
    expect(ca.privateKeyPem).toMatch(/^-----BEGIN PRIVATE KEY-----\n/);
  });

  test("sets CA:TRUE, keyCertSign and cRLSign (critical) and a subject key identifier", () => {
    const cert = forge.pki.certificateFromPem(ca.certificatePem);
    expect(cert.getExtension("basicConstraints")).toMatchObject({ cA: true, critical: true });
    expect(cert.getExtension("keyUsage")).toMatchObject({ keyCertSign: true, cRLSign: true, digitalSignature: false, critical: true });
    expect(cert.verifySubjectKeyIdentifier()).toBe(true);
    expect(cert.siginfo.algorithmOid).toBe(forge.pki.oids.sha256WithRSAEncryption);
  });
});

describe("generateServerCertificate", () => {
  test("is signed by the CA and names the domain and both addresses in the SAN", () => {
    const issued = new X509Certificate(server.certificatePem);
    const caCert = new X509Certificate(ca.certificatePem);
    expect(issued.checkIssued(caCert)).toBe(true);
    expect(issued.verify(caCert.publicKey)).toBe(true);
    expect(issued.checkHost("vpn.example.com")).toBe("vpn.example.com");
    expect(issued.checkIP("192.0.2.10")).toBe("192.0.2.10");
    expect(issued.checkIP("2001:db8::10")).toBe("2001:db8::10");
    expect(describeCertificate(server.certificatePem)).toMatchObject({
      common_name: "vpn.example.com",
      is_ca: false,
      dns_names: ["vpn.example.com"],
      ip_addresses: ["192.0.2.10", "2001:db8::10"],
    });
  });

  test("carries EKU serverAuth + ikeIntermediate, CA:FALSE, and an AKI equal to the CA's SKI", () => {
    const cert = forge.pki.certificateFromPem(server.certificatePem);
    const caCert = forge.pki.certificateFromPem(ca.certificatePem);
    expect(cert.getExtension("extKeyUsage")).toMatchObject({ serverAuth: true, "1.3.6.1.5.5.8.2.2": true });
    expect(cert.getExtension("basicConstraints")).toMatchObject({ cA: false });
    expect(cert.getExtension("keyUsage")).toMatchObject({ digitalSignature: true, keyEncipherment: true, keyCertSign: false });
    const caSki = (caCert.getExtension("subjectKeyIdentifier") as { subjectKeyIdentifier: string }).subjectKeyIdentifier;
    const aki = (cert.getExtension("authorityKeyIdentifier") as { value: string }).value;
    // AuthorityKeyIdentifier ::= SEQUENCE { keyIdentifier [0] ... }
    const keyIdentifier = (forge.asn1.fromDer(aki).value as forge.asn1.Asn1[])[0]!;
    expect(forge.util.bytesToHex(keyIdentifier.value as string)).toBe(caSki);
  });

  test("defaults the common name to the domain, then the IP; an explicit one is added to the SAN", async () => {
    const byIp = await generateServerCertificate({ ca, domain: "", ip: "198.51.100.7" });
    expect(describeCertificate(byIp.certificatePem)).toMatchObject({
      common_name: "198.51.100.7",
      dns_names: [],
      ip_addresses: ["198.51.100.7"],
    });
    const named = await generateServerCertificate({ ca, domain: "vpn.example.com", commonName: "gw.example.com", organization: "Org" });
    expect(describeCertificate(named.certificatePem)).toMatchObject({
      common_name: "gw.example.com",
      organization: "Org",
      dns_names: ["vpn.example.com", "gw.example.com"],
    });
  });

  test("refuses without any name, with a bad address, or with a CA that is not whole", async () => {
    await expect(generateServerCertificate({ ca, domain: "" })).rejects.toMatchObject({ code: "COMMON_NAME_REQUIRED" });
    await expect(generateServerCertificate({ ca, domain: "vpn.example.com", ip: "300.1.1.1" })).rejects.toMatchObject({
      code: "WRONG_IP",
    });
    await expect(generateServerCertificate({ ca, domain: "vpn.example.com", ipv6: "192.0.2.1" })).rejects.toMatchObject({
      code: "WRONG_IPV6",
    });
    await expect(generateServerCertificate({ ca, domain: "bad domain!" })).rejects.toMatchObject({ code: "CERT_FAILED" });
    await expect(
      generateServerCertificate({ ca: { certificatePem: ca.certificatePem, privateKeyPem: "" }, domain: "vpn.example.com" }),
    ).rejects.toMatchObject({ code: "CA_KEY_REQUIRED" });
    await expect(
      generateServerCertificate({ ca: { certificatePem: ca.certificatePem, privateKeyPem: otherCa.privateKeyPem }, domain: "x.example" }),
    ).rejects.toMatchObject({ code: "CERT_FAILED" });
  });
});

describe("importCa", () => {
  test("returns the pair normalized when it belongs together", () => {
    const imported = importCa(ca.certificatePem.replace(/\n/g, "\r"), ca.privateKeyPem.replace(/\n/g, "\r\n"));
    expect(imported.certificatePem.replace(/\r\n/g, "\n")).toBe(ca.certificatePem.replace(/\r\n/g, "\n"));
    expect(imported.privateKeyPem).toBe(ca.privateKeyPem);
  });

  test("accepts a PKCS#1 key (BEGIN RSA PRIVATE KEY)", () => {
    const pkcs1 = forge.pki.privateKeyToPem(forge.pki.privateKeyFromPem(ca.privateKeyPem));
    expect(pkcs1).toContain("BEGIN RSA PRIVATE KEY");
    expect(importCa(ca.certificatePem, pkcs1).privateKeyPem).toBe(ca.privateKeyPem);
  });

  test("asks for what is missing", () => {
    expect(() => importCa("", ca.privateKeyPem)).toThrow("CaCert must be filled");
    expect(() => importCa(ca.certificatePem, "  \n")).toThrow("CaKey must be filled");
  });

  test.each([
    ["a key of another CA", () => [ca.certificatePem, otherCa.privateKeyPem]],
    ["a server certificate (not a CA) with its own key", () => [server.certificatePem, server.privateKeyPem]],
    ["garbage for the certificate", () => ["-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----", ca.privateKeyPem]],
    ["garbage for the key", () => [ca.certificatePem, "not a key"]],
    ["a key where the certificate belongs", () => [ca.privateKeyPem, ca.privateKeyPem]],
    ["two certificates", () => [ca.certificatePem + otherCa.certificatePem, ca.privateKeyPem]],
    [
      "an encrypted key",
      () => [
        ca.certificatePem,
        forge.pki.encryptRsaPrivateKey(forge.pki.privateKeyFromPem(ca.privateKeyPem), "secret", { algorithm: "aes256" }),
      ],
    ],
  ] satisfies [string, () => [string, string]][])("fails with 'Certificate failed' for %s", (_label, pair) => {
    const [certPem, keyPem] = pair();
    expect(() => importCa(certPem, keyPem)).toThrow(expect.objectContaining({ code: "CERT_FAILED", message: "Certificate failed" }));
  });
});

describe("pemToDerBase64", () => {
  test("is the DER of the certificate, one line", () => {
    const der = pemToDerBase64(ca.certificatePem);
    expect(der).toMatch(/^[A-Za-z0-9+/]+=*$/);
    expect(Buffer.from(der, "base64").equals(new X509Certificate(ca.certificatePem).raw)).toBe(true);
  });
});
