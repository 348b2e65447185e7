import { type Cidr, cidrContains, formatAddress, type ParsedAddress, parseAddress } from "../net/ip.js";
import { LowestFreeAllocator } from "./allocator.js";

/** Listing every free address of a huge IPv6 network makes no sense; this caps it. */
export const MAX_LISTED_ADDRESSES = 65_536;

/**
 * The assignable addresses of one server network (IPv4 or IPv6). The network
 * address, the IPv4 broadcast address and the server's own address are never
 * handed out.
 */
export class IpPool {
  readonly cidr: Cidr;
  readonly #allocator: LowestFreeAllocator;

  constructor(cidr: Cidr) {
    this.cidr = cidr;
    const lastOffset = cidr.size - 1n;
    // IPv6 networks are vast; only the first 2^32 hosts are offered.
    const last = cidr.family === 4 ? lastOffset - 1n : lastOffset < 0xffffffffn ? lastOffset : 0xffffffffn;
    this.#allocator = new LowestFreeAllocator(1n, last, [cidr.address - cidr.network]);
  }

  #offset(address: ParsedAddress): bigint | null {
    if (!cidrContains(this.cidr, address)) return null;
    return address.value - this.cidr.network;
  }

  /** Inside the network and neither its network, broadcast nor server address. */
  isAssignable(address: string): boolean {
    const parsed = parseAddress(address);
    const offset = parsed ? this.#offset(parsed) : null;
    return offset !== null && this.#allocator.inRange(offset);
  }

  isFree(address: string): boolean {
    const parsed = parseAddress(address);
    const offset = parsed ? this.#offset(parsed) : null;
    return offset !== null && this.#allocator.isFree(offset);
  }

  reserve(address: string): boolean {
    const parsed = parseAddress(address);
    const offset = parsed ? this.#offset(parsed) : null;
    return offset !== null && this.#allocator.reserve(offset);
  }

  release(address: string): void {
    const parsed = parseAddress(address);
    const offset = parsed ? this.#offset(parsed) : null;
    if (offset !== null) this.#allocator.release(offset);
  }

  /** The lowest free address, not yet reserved. */
  peek(): string | null {
    const offset = this.#allocator.peek();
    return offset === null ? null : formatAddress(this.cidr.family, this.cidr.network + offset);
  }

  /** The address at a host offset (for deriving an account's IPv6 from its IPv4 host part). */
  addressAt(offset: bigint): string | null {
    return this.#allocator.inRange(offset) ? formatAddress(this.cidr.family, this.cidr.network + offset) : null;
  }

  offsetOf(address: string): bigint | null {
    const parsed = parseAddress(address);
    return parsed ? this.#offset(parsed) : null;
  }

  get usedCount(): number {
    return this.#allocator.usedCount;
  }

  get freeCount(): bigint {
    return this.#allocator.capacity - BigInt(this.#allocator.usedCount);
  }

  available(limit = MAX_LISTED_ADDRESSES): string[] {
    const out: string[] = [];
    for (const offset of this.#allocator.free(limit)) out.push(formatAddress(this.cidr.family, this.cidr.network + offset));
    return out;
  }
}
