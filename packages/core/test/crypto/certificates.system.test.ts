/**
 * The certificates as OpenSSL and strongSwan see them: the chain verifies, the
 * SAN and EKUs are there, `pki` parses and trusts both, and CAs made by openssl
 * import (or are refused) as a user would upload them.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { realToolsUnavailable } from "../../../drivers/test/netns.js";
import {
  type CertificateMaterial,
  describeCertificate,
  generateCa,
  generateServerCertificate,
  importCa,
} from "../../src/crypto/certificates.js";

const skip = realToolsUnavailable(["openssl", "pki"]);

let dir = "";
let ca: CertificateMaterial;
let server: CertificateMaterial;

function run(
  file: string,
  args: readonly string[],
  env: Record<string, string> = {},
): { status: number | null; stdout: string; stderr: string } {
  const result = spawnSync(file, args, { encoding: "utf8", env: { ...process.env, LC_ALL: "C.UTF-8", ...env } });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

/** Certificates 0644, keys 0600. */
function save(name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text, { mode: name.endsWith(".key") ? 0o600 : 0o644 });
  return path;
}

/** `pki` with only the plugins it needs, so it does not print TPM noise. */
function pki(args: readonly string[]) {
  return run("pki", args, { STRONGSWAN_CONF: join(dir, "strongswan.conf") });
}

/** A CA made by openssl, as a user would upload it. */
function opensslCa(name: string, subject: string, extraArgs: readonly string[] = []): { cert: string; key: string } {
  const keyPath = join(dir, `${name}.key`);
  const certPath = join(dir, `${name}.pem`);
  const result = run("openssl", [
    "req",
    "-x509",
    "-nodes",
    "-days",
    "30",
    "-utf8",
    "-subj",
    subject,
    "-keyout",
    keyPath,
    "-out",
    certPath,
    ...(extraArgs.length > 0
      ? extraArgs
      : ["-newkey", "rsa:2048", "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign"]),
  ]);
  expect(result.status, result.stderr).toBe(0);
  return { cert: run("cat", [certPath]).stdout, key: run("cat", [keyPath]).stdout };
}

describe.skipIf(skip)("certificates against openssl and strongSwan pki", () => {
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "vpncp-certs-"));
    save("strongswan.conf", "pki {\n  load = pem pkcs1 pkcs8 x509 openssl gmp sha1 sha2 constraints\n}\n");
    ca = await generateCa({
      commonName: "PUQ VPN",
      organization: "PUQ sp. z o.o. & Łódź",
      organizationalUnit: "VPN",
      country: "PL",
      locality: "Warszawa",
    });
    server = await generateServerCertificate({ ca, domain: "vpn.example.com", ip: "192.0.2.10", ipv6: "2001:db8::10" });
    save("ca.pem", ca.certificatePem);
    save("ca.key", ca.privateKeyPem);
    save("server.pem", server.certificatePem);
    save("server.key", server.privateKeyPem);
  });

  afterAll(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  test("openssl verifies the server certificate against the CA, and not against another CA", async () => {
    const ok = run("openssl", ["verify", "-CAfile", join(dir, "ca.pem"), join(dir, "server.pem")]);
    expect(ok.stdout.trim()).toBe(`${join(dir, "server.pem")}: OK`);
    const other = await generateCa({
      commonName: "PUQ VPN",
      organization: "PUQ sp. z o.o. & Łódź",
      organizationalUnit: "VPN",
      country: "PL",
      locality: "Warszawa",
    });
    save("other.pem", other.certificatePem);
    const bad = run("openssl", ["verify", "-CAfile", join(dir, "other.pem"), join(dir, "server.pem")]);
    expect(bad.status).not.toBe(0);
  });

  test("openssl shows the SANs, the EKUs and the key usages", () => {
    const text = run("openssl", ["x509", "-in", join(dir, "server.pem"), "-noout", "-text"]).stdout;
    expect(text).toMatch(
      /X509v3 Subject Alternative Name: \n\s+DNS:vpn\.example\.com, IP Address:192\.0\.2\.10, IP Address:2001:DB8:0:0:0:0:0:10\n/,
    );
    expect(text).toMatch(/X509v3 Extended Key Usage: \n\s+TLS Web Server Authentication, 1\.3\.6\.1\.5\.5\.8\.2\.2\n/);
    expect(text).toMatch(/X509v3 Key Usage: critical\n\s+Digital Signature, Key Encipherment\n/);
    expect(text).toMatch(/X509v3 Basic Constraints: critical\n\s+CA:FALSE\n/);
    expect(text).toContain("Signature Algorithm: sha256WithRSAEncryption");
    expect(text).toContain("Public-Key: (3072 bit)");
    const caText = run("openssl", ["x509", "-in", join(dir, "ca.pem"), "-noout", "-text"]).stdout;
    expect(caText).toMatch(/X509v3 Basic Constraints: critical\n\s+CA:TRUE\n/);
    expect(caText).toMatch(/X509v3 Key Usage: critical\n\s+Certificate Sign, CRL Sign\n/);
  });

  test("describeCertificate agrees with openssl on subject, serial, fingerprint and dates", () => {
    const description = describeCertificate(ca.certificatePem);
    const out = run("openssl", [
      "x509",
      "-in",
      join(dir, "ca.pem"),
      "-noout",
      "-serial",
      "-fingerprint",
      "-sha256",
      "-enddate",
      "-subject",
      "-nameopt",
      "multiline,utf8,-esc_msb",
    ]).stdout;
    expect(out).toContain(`serial=${description.serial}\n`);
    expect(out).toContain(`sha256 Fingerprint=${description.fingerprint_sha256}\n`);
    expect(new Date(/notAfter=(.*)\n/.exec(out)![1]!).toISOString()).toBe(description.not_after);
    expect(out).toMatch(/organizationName\s+= PUQ sp\. z o\.o\. & Łódź\n/);
    expect(out).toMatch(/commonName\s+= PUQ VPN\n/);
    expect(out).toMatch(/countryName\s+= PL\n/);
  });

  test("strongSwan pki parses both and trusts the server certificate through the CA", () => {
    const serverInfo = pki(["--print", "--in", join(dir, "server.pem")]);
    expect(serverInfo.status, serverInfo.stderr).toBe(0);
    expect(serverInfo.stdout).toMatch(/subject:\s+"CN=vpn\.example\.com"/);
    expect(serverInfo.stdout).toMatch(/altNames:\s+vpn\.example\.com, 192\.0\.2\.10, 2001:db8::10\n/);
    expect(serverInfo.stdout).toMatch(/flags:\s+serverAuth ikeIntermediate/);
    expect(serverInfo.stdout).toMatch(/pubkey:\s+RSA 3072 bits/);
    const caInfo = pki(["--print", "--in", join(dir, "ca.pem")]);
    expect(caInfo.status, caInfo.stderr).toBe(0);
    expect(caInfo.stdout).toMatch(/flags:\s+CA CRLSign self-signed/);
    const verify = pki(["--verify", "--in", join(dir, "server.pem"), "--cacert", join(dir, "ca.pem")]);
    expect(verify.stdout).toContain("certificate trusted");
    expect(verify.status).toBe(0);
    // The server key is the certificate's: same key id.
    const keyInfo = pki(["--print", "--type", "priv", "--in", join(dir, "server.key")]);
    const keyId = /keyid:\s+(\S+)/.exec(keyInfo.stdout)?.[1];
    expect(keyId).toBeDefined();
    expect(serverInfo.stdout).toContain(`keyid:     ${keyId}`);
  });

  test("a CA made by openssl with UTF-8 names imports and signs a server certificate openssl verifies", async () => {
    const external = opensslCa("ext", "/C=PL/O=Zażółć gęślą jaźń/CN=Ext CA");
    const imported = importCa(external.cert, external.key);
    const issued = await generateServerCertificate({ ca: imported, domain: "gw.example.net" });
    const path = save("ext-server.pem", issued.certificatePem);
    const verify = run("openssl", ["verify", "-CAfile", join(dir, "ext.pem"), path]);
    expect(verify.stdout.trim(), verify.stderr).toBe(`${path}: OK`);
    expect(describeCertificate(external.cert)).toMatchObject({ organization: "Zażółć gęślą jaźń", common_name: "Ext CA", is_ca: true });
  });

  test("import of a mismatched pair, a non-CA and an EC CA fails with 'Certificate failed'", () => {
    const first = opensslCa("first", "/CN=First CA/O=Org");
    const second = opensslCa("second", "/CN=Second CA/O=Org");
    expect(() => importCa(first.cert, second.key)).toThrow("Certificate failed");
    const leaf = opensslCa("leaf", "/CN=leaf/O=Org", ["-newkey", "rsa:2048", "-addext", "basicConstraints=critical,CA:FALSE"]);
    expect(() => importCa(leaf.cert, leaf.key)).toThrow("Certificate failed");
    const ec = opensslCa("ec", "/CN=EC CA/O=Org", [
      "-newkey",
      "ec",
      "-pkeyopt",
      "ec_paramgen_curve:P-256",
      "-addext",
      "basicConstraints=critical,CA:TRUE",
    ]);
    expect(() => importCa(ec.cert, ec.key)).toThrow("Certificate failed");
    expect(importCa(first.cert, first.key).certificatePem).toBe(first.cert);
  });
});
