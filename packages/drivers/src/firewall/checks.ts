/**
 * What every firewall driver needs before a value goes into a ruleset script
 * (nft or iptables-restore): checked names, addresses and marks in one
 * canonical form, and the mark rules as the port reports them.
 */
import { isIPv4, isIPv6 } from "node:net";
import type { MarkRuleState } from "@vpncp/core";

export type Family = 4 | 6;

export const ANY: Readonly<Record<Family, string>> = { 4: "0.0.0.0/0", 6: "::/0" };

/** Checks bound to one driver's name, so its errors say which driver refused what. */
export function firewallChecks(driverName: string) {
  const error = (message: string): Error => new Error(`[vpncp] [${driverName}] ${message}`);

  /** The canonical text of an address, so that keys written and keys read back compare equal. */
  const canonicalIp = (address: string): string => {
    if (isIPv4(address)) return address;
    if (isIPv6(address)) return new URL(`http://[${address}]/`).hostname.slice(1, -1);
    throw error(`invalid IP address: ${JSON.stringify(address)}`);
  };

  const checkName = (kind: string, value: string, pattern: RegExp): string => {
    if (!pattern.test(value)) throw error(`invalid ${kind}: ${JSON.stringify(value)}`);
    return value;
  };

  return {
    error,
    canonicalIp,
    checkName,
    ifname: (value: string) => checkName("interface name", value, /^[A-Za-z0-9_.-]{1,15}$/),
    serverName: (value: string) => checkName("server name", value, /^[A-Za-z0-9_-]{1,100}$/),
    subnet(value: string, family: Family): string {
      const [address = "", length = "", ...rest] = value.split("/");
      const max = family === 4 ? 32 : 128;
      const ok =
        rest.length === 0 && (family === 4 ? isIPv4(address) : isIPv6(address)) && /^\d{1,3}$/.test(length) && Number(length) <= max;
      if (!ok) throw error(`invalid IPv${family} subnet: ${JSON.stringify(value)}`);
      return `${canonicalIp(address)}/${Number(length)}`;
    },
    /** Marks are tc class minors too: 1..0xffff. */
    markHex(mark: number): string {
      if (!Number.isInteger(mark) || mark < 1 || mark > 0xffff) throw error(`invalid mark: ${mark}`);
      return mark.toString(16);
    },
  };
}

/** "0.0.0.0/0 -> 10.0.105.18" (down) or "10.0.105.18 -> 0.0.0.0/0" (up), with its counters. */
export function markRuleState(
  direction: "down" | "up",
  family: Family,
  address: string,
  counter: { readonly mark: number; readonly packets: number; readonly bytes: number },
): MarkRuleState {
  const down = direction === "down";
  return {
    mark: counter.mark,
    direction,
    source: down ? ANY[family] : address,
    destination: down ? address : ANY[family],
    packets: counter.packets,
    bytes: counter.bytes,
  };
}
