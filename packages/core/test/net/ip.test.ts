import { describe, expect, test } from "vitest";
import { cidrContains, cidrsOverlap, formatAddress, normalizeAddress, parseAddress, parseCidr } from "../../src/net/ip.js";

describe("IP arithmetic", () => {
  test("parses and formats IPv4 and IPv6", () => {
    expect(parseAddress("10.0.105.18")).toEqual({ family: 4, value: 0x0a006912n });
    expect(formatAddress(4, 0x0a006912n)).toBe("10.0.105.18");
    expect(normalizeAddress("fd00:0:0:1a:0:0:0:12")).toBe("fd00:0:0:1a::12");
    expect(normalizeAddress("2001:db8::1:0:0:1")).toBe("2001:db8::1:0:0:1");
    expect(normalizeAddress("::")).toBe("::");
    expect(normalizeAddress("::ffff:10.0.0.1")).toBe("::ffff:a00:1");
  });

  test("rejects what is not an address", () => {
    for (const bad of ["10.0.0", "10.0.0.256", "010.0.0.1", "1.2.3.4.5", "abc", "", "fe80::1%eth0", "10.0.0.1 "]) {
      expect(parseAddress(bad), bad).toBeNull();
    }
  });

  test("CIDRs: network, size, containment, overlap", () => {
    const net = parseCidr("10.0.26.1/24")!;
    expect(formatAddress(4, net.network)).toBe("10.0.26.0");
    expect(net.size).toBe(256n);
    expect(cidrContains(net, parseAddress("10.0.26.254")!)).toBe(true);
    expect(cidrContains(net, parseAddress("10.0.27.1")!)).toBe(false);
    expect(cidrsOverlap(net, parseCidr("10.0.0.0/16")!)).toBe(true);
    expect(cidrsOverlap(net, parseCidr("10.0.27.0/24")!)).toBe(false);
    expect(parseCidr("10.0.0.1")).toBeNull();
    expect(parseCidr("10.0.0.1", { defaultHost: true })?.prefix).toBe(32);
    expect(parseCidr("10.0.0.1/33")).toBeNull();
    expect(parseCidr("fd00::1/64")?.size).toBe(1n << 64n);
  });
});
