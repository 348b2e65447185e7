/**
 * Hands out the lowest free value of a range. Allocation is amortised O(1):
 * a cursor stays at or below the lowest free value, so creating the 10,000th
 * account costs what the 10th did.
 */
export class LowestFreeAllocator {
  readonly first: bigint;
  readonly last: bigint;
  readonly #excluded: ReadonlySet<bigint>;
  readonly #used = new Set<bigint>();
  #cursor: bigint;

  constructor(first: bigint, last: bigint, excluded: Iterable<bigint> = []) {
    this.first = first;
    this.last = last;
    this.#excluded = new Set(excluded);
    this.#cursor = first;
  }

  inRange(value: bigint): boolean {
    return value >= this.first && value <= this.last && !this.#excluded.has(value);
  }

  isFree(value: bigint): boolean {
    return this.inRange(value) && !this.#used.has(value);
  }

  get usedCount(): number {
    return this.#used.size;
  }

  get capacity(): bigint {
    let excludedInRange = 0n;
    for (const value of this.#excluded) if (value >= this.first && value <= this.last) excludedInRange += 1n;
    return this.last - this.first + 1n - excludedInRange;
  }

  /** Marks a value as used; false when it is out of range or already used. */
  reserve(value: bigint): boolean {
    if (!this.isFree(value)) return false;
    this.#used.add(value);
    return true;
  }

  release(value: bigint): void {
    if (this.#used.delete(value) && value < this.#cursor) this.#cursor = value;
  }

  /** The lowest free value without taking it, or null when the range is full. */
  peek(): bigint | null {
    let value = this.#cursor;
    while (value <= this.last && (this.#used.has(value) || this.#excluded.has(value))) value += 1n;
    this.#cursor = value;
    return value <= this.last ? value : null;
  }

  allocate(): bigint | null {
    const value = this.peek();
    if (value !== null) this.#used.add(value);
    return value;
  }

  /** Free values in ascending order, at most `limit` of them. */
  *free(limit = Number.POSITIVE_INFINITY): Generator<bigint> {
    let count = 0;
    for (let value = this.#cursor; value <= this.last && count < limit; value += 1n) {
      if (this.#used.has(value) || this.#excluded.has(value)) continue;
      count += 1;
      yield value;
    }
  }
}
