import { LowestFreeAllocator } from "./allocator.js";

/** The first mark handed out, as the panel this API comes from does. */
export const FIRST_MARK = 100;
/** HTB class minors are 16 bits; 0xffff is avoided and 0xfffe is the default class. */
export const LAST_MARK = 0xfffd;
/** Minor of the default (unclassified) HTB class on every shaped interface. */
export const DEFAULT_CLASS_MINOR = 0xfffe;

/**
 * Marks: each account's firewall mark, which is also the minor of its HTB class
 * (mark 109 → class 1:6d), so a mark can never exceed what HTB represents.
 */
export class MarkAllocator {
  readonly #allocator = new LowestFreeAllocator(BigInt(FIRST_MARK), BigInt(LAST_MARK));

  get capacity(): number {
    return Number(this.#allocator.capacity);
  }

  get usedCount(): number {
    return this.#allocator.usedCount;
  }

  isFree(mark: number): boolean {
    return this.#allocator.isFree(BigInt(mark));
  }

  reserve(mark: number): boolean {
    return Number.isSafeInteger(mark) && this.#allocator.reserve(BigInt(mark));
  }

  release(mark: number): void {
    this.#allocator.release(BigInt(mark));
  }

  allocate(): number | null {
    const value = this.#allocator.allocate();
    return value === null ? null : Number(value);
  }
}

/** "1:6d" for mark 109. */
export function classIdOf(mark: number): string {
  return `1:${mark.toString(16)}`;
}
