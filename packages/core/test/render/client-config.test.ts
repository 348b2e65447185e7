import { describe, expect, test } from "vitest";
import { formatEndpoint, renderClientConfig } from "../../src/render/client-config.js";
import { ACCOUNT, ACCOUNT_V6, SERVER, SERVER_V6 } from "./fixtures.js";

describe("renderClientConfig", () => {
  test("IPv4 only: the API page's example as a wg-quick file", () => {
    expect(renderClientConfig(SERVER, ACCOUNT)).toMatchInlineSnapshot(`
      "[Interface]
      PrivateKey = GNuP0siryMimPSuF7Hnmw0D7gY7FXzoY6IgUmt1uuXc=
      Address = 10.0.105.18/24
      DNS = 8.8.8.8, 1.1.1.1

      [Peer]
      PublicKey = Hkldth2Pdu/jnJ0NH4cjSlsun2pFdIUZXt0h5qaNzmA=
      AllowedIPs = 0.0.0.0/0
      Endpoint = 77.87.125.200:51926
      "
    `);
  });

  test("IPv6 on: both addresses, IPv6 DNS, and ::/0 added to the default route", () => {
    expect(renderClientConfig(SERVER_V6, ACCOUNT_V6)).toMatchInlineSnapshot(`
      "[Interface]
      PrivateKey = GNuP0siryMimPSuF7Hnmw0D7gY7FXzoY6IgUmt1uuXc=
      Address = 10.0.105.18/24, fd00:0:0:69::12/64
      DNS = 8.8.8.8, 1.1.1.1, 2001:4860:4860::8888, 2606:4700:4700::1111

      [Peer]
      PublicKey = Hkldth2Pdu/jnJ0NH4cjSlsun2pFdIUZXt0h5qaNzmA=
      AllowedIPs = 0.0.0.0/0, ::/0
      Endpoint = 77.87.125.200:51926
      "
    `);
  });

  test("IPv6 on: an allowed-IPs list that already names IPv6 is kept as given", () => {
    const config = renderClientConfig({ ...SERVER_V6, allowedIps: "10.0.0.0/8,fd00::/8" }, ACCOUNT_V6);
    expect(config).toContain("AllowedIPs = 10.0.0.0/8, fd00::/8\n");
  });

  test("IPv6 on but the account has no IPv6 address: only the IPv4 address", () => {
    expect(renderClientConfig(SERVER_V6, ACCOUNT)).toContain("Address = 10.0.105.18/24\n");
  });

  test("MTU, keep-alive and a split-tunnel list", () => {
    expect(
      renderClientConfig({ ...SERVER, mtu: 1380, keepAlive: 25, allowedIps: " 10.0.105.0/24 , 192.168.0.0/16,," }, ACCOUNT),
    ).toMatchInlineSnapshot(`
        "[Interface]
        PrivateKey = GNuP0siryMimPSuF7Hnmw0D7gY7FXzoY6IgUmt1uuXc=
        Address = 10.0.105.18/24
        DNS = 8.8.8.8, 1.1.1.1
        MTU = 1380

        [Peer]
        PublicKey = Hkldth2Pdu/jnJ0NH4cjSlsun2pFdIUZXt0h5qaNzmA=
        AllowedIPs = 10.0.105.0/24, 192.168.0.0/16
        Endpoint = 77.87.125.200:51926
        PersistentKeepalive = 25
        "
      `);
  });

  test("a domain endpoint replaces the external IP; no DNS line without DNS servers", () => {
    expect(renderClientConfig({ ...SERVER, endpoint: "vpn.example.com", dns1: "", dns2: "" }, ACCOUNT)).toMatchInlineSnapshot(`
      "[Interface]
      PrivateKey = GNuP0siryMimPSuF7Hnmw0D7gY7FXzoY6IgUmt1uuXc=
      Address = 10.0.105.18/24

      [Peer]
      PublicKey = Hkldth2Pdu/jnJ0NH4cjSlsun2pFdIUZXt0h5qaNzmA=
      AllowedIPs = 0.0.0.0/0
      Endpoint = vpn.example.com:51926
      "
    `);
  });

  test("an IPv6 endpoint is bracketed", () => {
    expect(renderClientConfig({ ...SERVER, externalIp: "2001:db8::77" }, ACCOUNT)).toMatchInlineSnapshot(`
      "[Interface]
      PrivateKey = GNuP0siryMimPSuF7Hnmw0D7gY7FXzoY6IgUmt1uuXc=
      Address = 10.0.105.18/24
      DNS = 8.8.8.8, 1.1.1.1

      [Peer]
      PublicKey = Hkldth2Pdu/jnJ0NH4cjSlsun2pFdIUZXt0h5qaNzmA=
      AllowedIPs = 0.0.0.0/0
      Endpoint = [2001:db8::77]:51926
      "
    `);
  });

  test("formatEndpoint brackets IPv6 once and leaves names and IPv4 alone", () => {
    expect(formatEndpoint("2001:db8::1", 51820)).toBe("[2001:db8::1]:51820");
    expect(formatEndpoint("[2001:db8::1]", 51820)).toBe("[2001:db8::1]:51820");
    expect(formatEndpoint("192.0.2.1", 51820)).toBe("192.0.2.1:51820");
    expect(formatEndpoint("vpn.example.com", 1)).toBe("vpn.example.com:1");
  });
});
