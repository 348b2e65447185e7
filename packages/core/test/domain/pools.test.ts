import { describe, expect, test } from "vitest";
import { IpPool } from "../../src/domain/ip-pool.js";
import { classIdOf, FIRST_MARK, LAST_MARK, MarkAllocator } from "../../src/domain/mark-allocator.js";
import { parseCidr } from "../../src/net/ip.js";

describe("IpPool", () => {
  test("never hands out the network, broadcast or server address", () => {
    const pool = new IpPool(parseCidr("10.0.105.1/24")!);
    expect(pool.isAssignable("10.0.105.0")).toBe(false);
    expect(pool.isAssignable("10.0.105.1")).toBe(false);
    expect(pool.isAssignable("10.0.105.255")).toBe(false);
    expect(pool.isAssignable("10.0.105.254")).toBe(true);
    expect(pool.isAssignable("10.0.106.2")).toBe(false);
    expect(pool.peek()).toBe("10.0.105.2");
    expect(pool.available()).toHaveLength(253);
  });

  test("the server address may sit anywhere in the network", () => {
    const pool = new IpPool(parseCidr("10.0.105.5/29")!);
    expect(pool.available()).toEqual(["10.0.105.1", "10.0.105.2", "10.0.105.3", "10.0.105.4", "10.0.105.6"]);
  });

  test("first free address, reuse after release, full pool", () => {
    const pool = new IpPool(parseCidr("10.9.0.1/29")!);
    const taken: string[] = [];
    for (let i = 0; i < 5; i += 1) {
      const next = pool.peek()!;
      expect(pool.reserve(next)).toBe(true);
      taken.push(next);
    }
    expect(taken).toEqual(["10.9.0.2", "10.9.0.3", "10.9.0.4", "10.9.0.5", "10.9.0.6"]);
    expect(pool.peek()).toBeNull();
    expect(pool.reserve("10.9.0.3")).toBe(false);
    pool.release("10.9.0.4");
    expect(pool.peek()).toBe("10.9.0.4");
    expect(pool.freeCount).toBe(1n);
  });

  test("IPv6 addresses at the same host offset as IPv4", () => {
    const pool4 = new IpPool(parseCidr("10.0.26.1/24")!);
    const pool6 = new IpPool(parseCidr("fd00:0:0:1a::1/64")!);
    expect(pool6.addressAt(pool4.offsetOf("10.0.26.18")!)).toBe("fd00:0:0:1a::12");
    expect(pool6.isAssignable("fd00:0:0:1a::1")).toBe(false);
    expect(pool6.isAssignable("fd00:0:0:1b::2")).toBe(false);
    expect(pool6.available(3)).toEqual(["fd00:0:0:1a::2", "fd00:0:0:1a::3", "fd00:0:0:1a::4"]);
  });
});

describe("MarkAllocator", () => {
  test("marks are HTB class minors: from 100, never above 0xfffd, reusable", () => {
    const marks = new MarkAllocator();
    expect(marks.allocate()).toBe(FIRST_MARK);
    expect(marks.allocate()).toBe(FIRST_MARK + 1);
    marks.release(FIRST_MARK);
    expect(marks.allocate()).toBe(FIRST_MARK);
    expect(marks.reserve(LAST_MARK + 1)).toBe(false);
    expect(marks.reserve(0xffff)).toBe(false);
    expect(marks.reserve(99)).toBe(false);
    expect(marks.capacity).toBe(LAST_MARK - FIRST_MARK + 1);
    expect(classIdOf(109)).toBe("1:6d");
  });

  test("the allocator runs dry instead of handing out a number HTB cannot hold", () => {
    const marks = new MarkAllocator();
    let last = 0;
    for (let m = marks.allocate(); m !== null; m = marks.allocate()) last = m;
    expect(last).toBe(LAST_MARK);
    expect(marks.usedCount).toBe(marks.capacity);
    expect(marks.allocate()).toBeNull();
  });
});
