import { X509Certificate } from "node:crypto";
import { beforeAll, describe, expect, test } from "vitest";
import { type CertificateMaterial, generateCa } from "../../src/crypto/certificates.js";
import { renderSswanProfile } from "../../src/render/sswan.js";

let ca: CertificateMaterial;

beforeAll(async () => {
  ca = await generateCa({ commonName: "PUQ VPN", organization: "PUQ" });
});

const input = () => ({
  uuid: "DA7782CD-D00C-4114-9250-6C798585A441",
  name: "dev.softkeel.com",
  serverAddress: "dev.softkeel.com",
  serverId: "dev.softkeel.com",
  caCertificatePem: ca.certificatePem,
  username: "user_104",
});

describe("renderSswanProfile", () => {
  test("is the strongSwan app's JSON: ikev2-eap, remote addr/id/cert, local eap_id", () => {
    const profile = JSON.parse(renderSswanProfile(input()));
    expect(profile).toEqual({
      uuid: "da7782cd-d00c-4114-9250-6c798585a441",
      name: "dev.softkeel.com",
      type: "ikev2-eap",
      remote: { addr: "dev.softkeel.com", id: "dev.softkeel.com", cert: expect.any(String) },
      local: { eap_id: "user_104" },
    });
  });

  test("remote.cert is Base64 of the CA's DER, which decodes to the CA", () => {
    const { remote } = JSON.parse(renderSswanProfile(input()));
    expect(remote.cert).toMatch(/^[A-Za-z0-9+/]+=*$/);
    const decoded = new X509Certificate(Buffer.from(remote.cert, "base64"));
    const original = new X509Certificate(ca.certificatePem);
    expect(decoded.fingerprint256).toBe(original.fingerprint256);
    expect(decoded.ca).toBe(true);
  });

  test("never carries the password, and escapes what JSON must", () => {
    const text = renderSswanProfile({ ...input(), name: 'VPN "home" \\ 1' });
    expect(JSON.parse(text).name).toBe('VPN "home" \\ 1');
    expect(text).not.toMatch(/password/i);
  });

  test("needs the CA (CA_MISSING) and a real UUID", () => {
    expect(() => renderSswanProfile({ ...input(), caCertificatePem: "" })).toThrow("The ROOT certificate is not present in the system");
    expect(() => renderSswanProfile({ ...input(), uuid: "peer_10" })).toThrow(TypeError);
  });
});
