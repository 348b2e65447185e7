import { injectable } from "inversify";

/**
 * Serialises changes of servers and accounts: validation, allocation and the
 * write happen as one step, so concurrent creates can never pick the same
 * name, address or mark. Applying to the system happens after the lock is
 * released, which lets the reconciler coalesce changes that arrive together.
 */
@injectable()
export class MutationLock {
  #tail: Promise<unknown> = Promise.resolve();

  run<T>(task: () => Promise<T>): Promise<T> {
    const result = this.#tail.then(task);
    this.#tail = result.catch(() => {});
    return result;
  }
}
