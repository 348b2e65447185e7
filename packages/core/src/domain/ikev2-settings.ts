import { inject, injectable } from "inversify";
import type { Storage } from "unstorage";
import { TYPES } from "../di/ids.js";
import type { Ikev2Certificates } from "./desired-state.js";

export interface StoredCa {
  readonly certificatePem: string;
  readonly privateKeyPem: string;
  readonly createdAt: string;
}

export interface StoredServerCertificate {
  readonly certificatePem: string;
  readonly privateKeyPem: string;
  readonly domain: string;
  readonly ip: string;
  readonly ipv6: string;
  readonly createdAt: string;
}

interface Ikev2SettingsData {
  enabled: boolean;
  ca: StoredCa | null;
  server: StoredServerCertificate | null;
}

const KEY = "ikev2:settings";

/** The IKEv2 switch and certificates, as one stored record. */
@injectable()
export class Ikev2Settings {
  readonly #storage: Storage;
  #data: Ikev2SettingsData = { enabled: true, ca: null, server: null };

  constructor(@inject(TYPES.Storage) storage: Storage) {
    this.#storage = storage;
  }

  async load(): Promise<void> {
    const stored = await this.#storage.getItem<Ikev2SettingsData>(KEY);
    this.#data =
      stored && typeof stored === "object"
        ? { enabled: stored.enabled !== false, ca: stored.ca ?? null, server: stored.server ?? null }
        : this.#data;
  }

  get enabled(): boolean {
    return this.#data.enabled;
  }

  get ca(): StoredCa | null {
    return this.#data.ca;
  }

  get server(): StoredServerCertificate | null {
    return this.#data.server;
  }

  /** What the IKEv2 daemon needs, or null when IKEv2 is off or certificates are missing. */
  certificates(): Ikev2Certificates | null {
    const { enabled, ca, server } = this.#data;
    if (!enabled || !ca || !server) return null;
    return {
      caCertificatePem: ca.certificatePem,
      serverCertificatePem: server.certificatePem,
      serverPrivateKeyPem: server.privateKeyPem,
      serverId: server.domain || server.ip,
    };
  }

  async update(change: Partial<Ikev2SettingsData>): Promise<void> {
    const next = { ...this.#data, ...change };
    await this.#storage.setItem(KEY, next as never);
    this.#data = next;
  }
}
