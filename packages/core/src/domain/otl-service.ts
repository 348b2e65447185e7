import { inject, injectable, optional } from "inversify";
import type { Storage } from "unstorage";
import { generateOtlKey } from "../crypto/secrets.js";
import { type Clock, TYPES } from "../di/ids.js";
import { VpncpError } from "../errors.js";
import type { VpncpOptions } from "../model/options.js";
import type { AccountRecord, ServerRecord } from "../model/records.js";
import { AccountService } from "./account-service.js";
import { Inventory } from "./inventory.js";
import { MutationLock } from "./mutation-lock.js";
import { checkBoolean, checkInteger, type InputValue, isGiven } from "./validation.js";

/** The page around a one-time link: title, CSS, HTML blocks, lifetime in days. */
export interface OtlConfig {
  readonly title: string;
  readonly css: string;
  readonly before_body: string;
  readonly after_body: string;
  readonly not_relevant: string;
  readonly lifetime: string;
}

export interface OtlClientButton {
  readonly label: string;
  readonly link: string;
}

/** The download buttons and blocks shown for one protocol. */
export interface OtlProtocolConfig {
  readonly enable_config_qr: boolean;
  readonly enable_config_text: boolean;
  readonly download_label: string;
  readonly clients: readonly OtlClientButton[];
}

export interface OtlLink {
  readonly key: string;
  readonly account: string;
  /** The account's uuid: a link never opens a later account that got the same name (older links lack it). */
  readonly accountUuid?: string;
  readonly createdAt: string;
  readonly expiresAt: string;
}

export const DEFAULT_OTL_CONFIG: OtlConfig = Object.freeze({
  title: "Your VPN configuration",
  css: "",
  before_body: "",
  after_body: "",
  not_relevant: "<h2>This link is no longer valid</h2><p>One-time links show the configuration once. Ask your provider for a new link.</p>",
  lifetime: "10",
});

export const DEFAULT_OTL_WIREGUARD: OtlProtocolConfig = Object.freeze({
  enable_config_qr: true,
  enable_config_text: true,
  download_label: "Download the configuration (.conf)",
  clients: [
    { label: "Windows", link: "https://download.wireguard.com/windows-client/wireguard-installer.exe" },
    { label: "macOS", link: "https://apps.apple.com/app/wireguard/id1451685025" },
    { label: "iOS", link: "https://apps.apple.com/app/wireguard/id1441195209" },
    { label: "Android", link: "https://play.google.com/store/apps/details?id=com.wireguard.android" },
    { label: "Linux", link: "https://www.wireguard.com/install/" },
  ],
});

export const DEFAULT_OTL_IKEV2: OtlProtocolConfig = Object.freeze({
  enable_config_qr: false,
  enable_config_text: true,
  download_label: "Download the profile",
  clients: [
    { label: "Android (strongSwan)", link: "https://play.google.com/store/apps/details?id=org.strongswan.android" },
    { label: "iOS / macOS", link: "https://support.apple.com/guide/deployment/vpn-settings-depf9c7d5f4f/web" },
    { label: "Windows", link: "https://learn.microsoft.com/windows/security/operating-system-security/network-security/vpn/vpn-guide" },
  ],
});

const CONFIG_KEY = "otl:config";
const PROTOCOL_KEYS = { wireguard: "otl:config_wireguard", ikev2: "otl:config_ikev2" } as const;
const LINK_PREFIX = "otl:links";
const KEY_RE = /^[0-9a-f]{80}$/;
const DAY_MS = 86_400_000;

export type OtlProtocol = keyof typeof PROTOCOL_KEYS;

/** One-time links: created per account, shown once, gone after their lifetime. */
@injectable()
export class OtlService {
  readonly #storage: Storage;
  readonly #inventory: Inventory;
  readonly #lock: MutationLock;
  readonly #options: VpncpOptions;
  readonly #clock: Clock;

  constructor(
    @inject(TYPES.Storage) storage: Storage,
    @inject(Inventory) inventory: Inventory,
    @inject(MutationLock) lock: MutationLock,
    @inject(TYPES.Options) options: VpncpOptions,
    @inject(TYPES.Clock) clock: Clock,
    @inject(AccountService) @optional() accounts?: AccountService,
  ) {
    // an old link must never open a later account of the same name
    accounts?.onRemove((account) => this.forget(account.name));
    this.#storage = storage;
    this.#inventory = inventory;
    this.#lock = lock;
    this.#options = options;
    this.#clock = clock;
  }

  async config(): Promise<OtlConfig> {
    const stored = await this.#storage.getItem<OtlConfig>(CONFIG_KEY);
    return { ...DEFAULT_OTL_CONFIG, ...(stored && typeof stored === "object" ? stored : {}) };
  }

  async setConfig(input: Partial<Record<keyof OtlConfig, InputValue>>): Promise<OtlConfig> {
    const current = await this.config();
    const next: OtlConfig = {
      title: input.title !== undefined ? String(input.title ?? "") : current.title,
      css: input.css !== undefined ? String(input.css ?? "") : current.css,
      before_body: input.before_body !== undefined ? String(input.before_body ?? "") : current.before_body,
      after_body: input.after_body !== undefined ? String(input.after_body ?? "") : current.after_body,
      not_relevant: input.not_relevant !== undefined ? String(input.not_relevant ?? "") : current.not_relevant,
      lifetime: isGiven(input.lifetime) ? String(checkInteger(input.lifetime, 1, 3650, "WRONG_OTL_LIFETIME")) : current.lifetime,
    };
    await this.#storage.setItem(CONFIG_KEY, next as never);
    return next;
  }

  async protocolConfig(protocol: OtlProtocol): Promise<OtlProtocolConfig> {
    const stored = await this.#storage.getItem<OtlProtocolConfig>(PROTOCOL_KEYS[protocol]);
    const defaults = protocol === "wireguard" ? DEFAULT_OTL_WIREGUARD : DEFAULT_OTL_IKEV2;
    return { ...defaults, ...(stored && typeof stored === "object" ? stored : {}) };
  }

  async setProtocolConfig(protocol: OtlProtocol, input: Partial<Record<keyof OtlProtocolConfig, unknown>>): Promise<OtlProtocolConfig> {
    const current = await this.protocolConfig(protocol);
    let clients = current.clients;
    if (input.clients !== undefined) {
      const raw = typeof input.clients === "string" ? safeJson(input.clients) : input.clients;
      if (!Array.isArray(raw)) throw new VpncpError("MALFORMED_BODY");
      clients = raw.map((c) => ({ label: String((c as OtlClientButton)?.label ?? ""), link: String((c as OtlClientButton)?.link ?? "") }));
    }
    const next: OtlProtocolConfig = {
      enable_config_qr:
        input.enable_config_qr !== undefined ? checkBoolean(input.enable_config_qr as InputValue) : current.enable_config_qr,
      enable_config_text:
        input.enable_config_text !== undefined ? checkBoolean(input.enable_config_text as InputValue) : current.enable_config_text,
      download_label: input.download_label !== undefined ? String(input.download_label ?? "") : current.download_label,
      clients,
    };
    await this.#storage.setItem(PROTOCOL_KEYS[protocol], next as never);
    return next;
  }

  /** Creates a link for the account: `<public url>/otl/<80 hex>`. */
  async create(accountName: string, baseUrl?: string): Promise<{ url: string; link: OtlLink }> {
    const { lifetime } = await this.config();
    // under the lock: an account deleted meanwhile (its links forgotten) gets no new one
    const link = await this.#lock.run(async () => {
      const account = this.#inventory.account(accountName);
      if (!account) throw new VpncpError("ACCOUNT_NOT_FOUND");
      const now = this.#clock.now();
      const link: OtlLink = {
        key: generateOtlKey(),
        account: account.name,
        accountUuid: account.uuid,
        createdAt: now.toISOString(),
        expiresAt: new Date(now.getTime() + Number(lifetime) * DAY_MS).toISOString(),
      };
      await this.#storage.setItem(`${LINK_PREFIX}:${link.key}`, link as never);
      return link;
    });
    const base = (this.#options.publicUrl ?? baseUrl ?? "http://127.0.0.1:8098").replace(/\/+$/, "");
    return { url: `${base}/otl/${link.key}`, link };
  }

  /** Live links, expired ones pruned. */
  async list(): Promise<OtlLink[]> {
    const keys = await this.#storage.getKeys(LINK_PREFIX);
    const items = await this.#storage.getItems(keys);
    const now = this.#clock.now().getTime();
    const live: OtlLink[] = [];
    for (const { value } of items) {
      const link = value as OtlLink | null;
      if (!link || typeof link.key !== "string") continue;
      if (Date.parse(link.expiresAt) <= now) await this.#storage.removeItem(`${LINK_PREFIX}:${link.key}`);
      else live.push(link);
    }
    return live.sort((a, b) => a.createdAt.localeCompare(b.createdAt));
  }

  /**
   * Removes every link of the account (its deletion). Account deletion calls it under the
   * MutationLock, which keeps a link from being created for the account meanwhile.
   */
  async forget(accountName: string): Promise<void> {
    const keys = await this.#storage.getKeys(LINK_PREFIX);
    const items = await this.#storage.getItems(keys);
    const doomed = items.map(({ value }) => value as OtlLink | null).filter((link) => link?.account === accountName);
    await Promise.all(doomed.map((link) => this.#storage.removeItem(`${LINK_PREFIX}:${link?.key}`)));
  }

  /** Whether the link would show the configuration, without using it up (HEAD, previews). */
  async isLive(key: string): Promise<boolean> {
    return (await this.#resolve(key)) !== null;
  }

  /** Uses the link up and returns what it shows, or null when it is unknown, used or expired. */
  consume(key: string): Promise<{ account: AccountRecord; server: ServerRecord } | null> {
    return this.#lock.run(async () => {
      const found = await this.#resolve(key);
      if (found) await this.#storage.removeItem(`${LINK_PREFIX}:${key}`);
      return found;
    });
  }

  async #resolve(key: string): Promise<{ account: AccountRecord; server: ServerRecord } | null> {
    if (typeof key !== "string" || !KEY_RE.test(key)) return null;
    const link = await this.#storage.getItem<OtlLink>(`${LINK_PREFIX}:${key}`);
    if (!link || typeof link !== "object" || Date.parse(link.expiresAt) <= this.#clock.now().getTime()) return null;
    const account = this.#inventory.account(link.account);
    // a link left from a deleted account never opens a later one of the same name: the uuid, or for
    // older links (no uuid) the link's age, tells them apart
    if (!account || (link.accountUuid ? link.accountUuid !== account.uuid : link.createdAt < account.createdAt)) return null;
    const server = this.#inventory.server(account.wgName);
    return server ? { account, server } : null;
  }
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
}
