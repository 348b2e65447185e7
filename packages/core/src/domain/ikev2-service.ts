import { inject, injectable } from "inversify";
import {
  type CertificateDescription,
  describeCertificate,
  generateCa,
  generateServerCertificate,
  importCa,
} from "../crypto/certificates.js";
import { type Clock, TYPES } from "../di/ids.js";
import { VpncpError } from "../errors.js";
import type { Ikev2Port, Ikev2SaState } from "../ports/index.js";
import { Ikev2Settings } from "./ikev2-settings.js";
import { Reconciler } from "./reconciler.js";
import { checkBoolean, type InputValue, isGiven, text } from "./validation.js";

export interface CaInput {
  readonly commonName?: InputValue;
  readonly organization?: InputValue;
  readonly organizationalUnit?: InputValue;
  readonly country?: InputValue;
  readonly state?: InputValue;
  readonly locality?: InputValue;
}

export interface ServerCertificateInput extends CaInput {
  readonly domain?: InputValue;
  readonly ip?: InputValue;
  readonly ipv6?: InputValue;
}

export interface Ikev2Config {
  readonly enabled: boolean;
  readonly ca: (CertificateDescription & { readonly certificate: string }) | null;
  readonly server:
    | (CertificateDescription & { readonly certificate: string; readonly domain: string; readonly ip: string; readonly ipv6: string })
    | null;
}

const opt = (value: InputValue): string | undefined => (isGiven(value) ? text(value) : undefined);

/** IKEv2: the on/off switch, the root CA and the server certificate, and live sessions. */
@injectable()
export class Ikev2Service {
  readonly #settings: Ikev2Settings;
  readonly #reconciler: Reconciler;
  readonly #port: Ikev2Port;
  readonly #clock: Clock;

  constructor(
    @inject(Ikev2Settings) settings: Ikev2Settings,
    @inject(Reconciler) reconciler: Reconciler,
    @inject(TYPES.Ikev2) port: Ikev2Port,
    @inject(TYPES.Clock) clock: Clock,
  ) {
    this.#settings = settings;
    this.#reconciler = reconciler;
    this.#port = port;
    this.#clock = clock;
  }

  info(): Promise<Record<string, string>> {
    return this.#port.info();
  }

  config(): Ikev2Config {
    const { ca, server, enabled } = this.#settings;
    return {
      enabled,
      ca: ca ? { ...describeCertificate(ca.certificatePem), certificate: ca.certificatePem } : null,
      server: server
        ? {
            ...describeCertificate(server.certificatePem),
            certificate: server.certificatePem,
            domain: server.domain,
            ip: server.ip,
            ipv6: server.ipv6,
          }
        : null,
    };
  }

  async setEnabled(value: InputValue): Promise<Ikev2Config> {
    await this.#settings.update({ enabled: checkBoolean(value) });
    await this.#reconciler.submit({ type: "ikev2" });
    return this.config();
  }

  async generateCa(input: CaInput): Promise<Ikev2Config> {
    if (this.#settings.ca) throw new VpncpError("CA_EXISTS");
    const material = await generateCa({
      commonName: opt(input.commonName) ?? "",
      organization: opt(input.organization) ?? "",
      organizationalUnit: opt(input.organizationalUnit),
      country: opt(input.country),
      state: opt(input.state),
      locality: opt(input.locality),
      now: this.#clock.now(),
    });
    await this.#settings.update({ ca: { ...material, createdAt: this.#clock.now().toISOString() } });
    return this.config();
  }

  async importCa(certificatePem: InputValue, privateKeyPem: InputValue): Promise<Ikev2Config> {
    if (this.#settings.ca) throw new VpncpError("CA_EXISTS");
    if (!isGiven(certificatePem)) throw new VpncpError("CA_CERT_REQUIRED");
    if (!isGiven(privateKeyPem)) throw new VpncpError("CA_KEY_REQUIRED");
    const material = importCa(String(certificatePem), String(privateKeyPem));
    await this.#settings.update({ ca: { ...material, createdAt: this.#clock.now().toISOString() } });
    return this.config();
  }

  /** Deleting the CA also removes the server certificate it signed (IKEv2 stops until both exist again). */
  async deleteCa(): Promise<void> {
    if (!this.#settings.ca) throw new VpncpError("CERT_NOT_FOUND");
    await this.#settings.update({ ca: null, server: null });
    await this.#reconciler.submit({ type: "ikev2" });
  }

  async generateServerCertificate(input: ServerCertificateInput): Promise<Ikev2Config> {
    const ca = this.#settings.ca;
    if (!ca) throw new VpncpError("CA_MISSING");
    const domain = opt(input.domain) ?? "";
    const ip = opt(input.ip) ?? "";
    if (domain === "" && ip === "" && !isGiven(input.ipv6) && !isGiven(input.commonName)) throw new VpncpError("COMMON_NAME_REQUIRED");
    const material = await generateServerCertificate({
      ca,
      domain,
      ip,
      ipv6: opt(input.ipv6),
      commonName: opt(input.commonName),
      organization: opt(input.organization),
      organizationalUnit: opt(input.organizationalUnit),
      country: opt(input.country),
      state: opt(input.state),
      locality: opt(input.locality),
      now: this.#clock.now(),
    });
    await this.#settings.update({
      server: { ...material, domain, ip, ipv6: opt(input.ipv6) ?? "", createdAt: this.#clock.now().toISOString() },
    });
    await this.#reconciler.submit({ type: "ikev2" });
    return this.config();
  }

  async deleteServerCertificate(): Promise<void> {
    if (!this.#settings.server) throw new VpncpError("CERT_NOT_FOUND");
    await this.#settings.update({ server: null });
    await this.#reconciler.submit({ type: "ikev2" });
  }

  sessions(): Promise<Ikev2SaState[]> {
    return this.#port.listSas();
  }

  terminate(username: string): Promise<number> {
    return this.#port.terminate(username);
  }
}
