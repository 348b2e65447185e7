import { createHash, randomBytes, timingSafeEqual } from "node:crypto";
import { inject, injectable } from "inversify";
import type { Storage } from "unstorage";
import { type Clock, TYPES } from "../di/ids.js";
import { normalizeAddress } from "../net/ip.js";

export interface AccessHashEntry {
  /** First 12 hex characters of the digest: how `hash list`/`hash delete` name it. */
  readonly id: string;
  readonly digest: string;
  /** The one client address it is valid from, or null for any. */
  readonly ip: string | null;
  readonly createdAt: string;
}

const PREFIX = "auth:hashes";
/** How long the list of hashes is trusted before it is read again (hashes made or deleted offline by `vpncp hash`). */
const LIST_TTL_MS = 2_000;
const HASH_RE = /^[0-9a-f]{80}$/;

function digestOf(hash: string): string {
  return createHash("sha256").update(hash).digest("hex");
}

/** Normalises "::ffff:127.0.0.1" to "127.0.0.1" so IPv4 clients on dual-stack sockets match. */
export function normalizeClientIp(ip: string): string {
  const stripped = ip.startsWith("::ffff:") && ip.includes(".") ? ip.slice(7) : ip;
  return normalizeAddress(stripped) ?? stripped;
}

/**
 * Access hashes (the `access_hash` cookie): 80 hex characters, shown once,
 * stored only as SHA-256 digests, compared in constant time, each bound to one
 * client address unless created for any.
 */
@injectable()
export class AccessHashService {
  readonly #storage: Storage;
  readonly #clock: Clock;
  #entries: AccessHashEntry[] | null = null;
  #readAt = 0;
  /** Digests of the entries as bytes, and of recently presented hashes: every request is checked. */
  readonly #entryDigests = new WeakMap<AccessHashEntry, Buffer>();
  readonly #presented = new Map<string, Buffer>();

  constructor(@inject(TYPES.Storage) storage: Storage, @inject(TYPES.Clock) clock: Clock) {
    this.#storage = storage;
    this.#clock = clock;
  }

  async list(): Promise<AccessHashEntry[]> {
    if (!this.#entries || Date.now() - this.#readAt > LIST_TTL_MS) {
      this.#readAt = Date.now();
      const keys = await this.#storage.getKeys(PREFIX);
      const items = await this.#storage.getItems(keys);
      this.#entries = items.map((i) => i.value as AccessHashEntry).filter((e) => e && typeof e.digest === "string");
    }
    return this.#entries;
  }

  /** Creates a hash; returns it in clear (the only time it is shown). */
  async create(options: { ip?: string | null } = {}): Promise<{ hash: string; entry: AccessHashEntry }> {
    const hash = randomBytes(40).toString("hex");
    const entry = await this.#store(hash, options.ip ?? null);
    return { hash, entry };
  }

  /** Makes sure this hash exists, valid from any address (for automation). */
  async ensure(hash: string): Promise<AccessHashEntry> {
    if (!HASH_RE.test(hash)) throw new Error("an access hash is 80 lowercase hex characters");
    const digest = digestOf(hash);
    const existing = (await this.list()).find((e) => e.digest === digest);
    if (existing && existing.ip === null) return existing;
    return this.#store(hash, null);
  }

  async #store(hash: string, ip: string | null): Promise<AccessHashEntry> {
    const digest = digestOf(hash);
    const normalizedIp = ip === null ? null : normalizeAddress(ip);
    if (ip !== null && normalizedIp === null) throw new Error(`not an IP address: ${ip}`);
    const entry: AccessHashEntry = { id: digest.slice(0, 12), digest, ip: normalizedIp, createdAt: this.#clock.now().toISOString() };
    await this.#storage.setItem(`${PREFIX}:${digest}`, entry as never);
    this.#entries = [...(await this.list()).filter((e) => e.digest !== digest), entry];
    return entry;
  }

  /** Removes hashes whose id (or digest) starts with `id`; returns how many. */
  async delete(id: string): Promise<number> {
    if (!/^[0-9a-f]{6,64}$/.test(id)) return 0;
    const doomed = (await this.list()).filter((e) => e.digest.startsWith(id));
    for (const entry of doomed) await this.#storage.removeItem(`${PREFIX}:${entry.digest}`);
    this.#entries = (await this.list()).filter((e) => !doomed.includes(e));
    return doomed.length;
  }

  async verify(hash: string | undefined, clientIp: string): Promise<boolean> {
    if (typeof hash !== "string" || !HASH_RE.test(hash)) return false;
    let digest = this.#presented.get(hash);
    if (!digest) {
      // a client sends the same cookie with every request; a few hundred recent ones are kept
      if (this.#presented.size >= 256) this.#presented.clear();
      digest = Buffer.from(digestOf(hash), "hex");
      this.#presented.set(hash, digest);
    }
    const ip = normalizeClientIp(clientIp);
    let ok = false;
    for (const entry of await this.list()) {
      let entryDigest = this.#entryDigests.get(entry);
      if (!entryDigest) {
        entryDigest = Buffer.from(entry.digest, "hex");
        this.#entryDigests.set(entry, entryDigest);
      }
      const matches = entryDigest.length === digest.length && timingSafeEqual(entryDigest, digest);
      if (matches && (entry.ip === null || entry.ip === ip)) ok = true;
    }
    return ok;
  }
}
