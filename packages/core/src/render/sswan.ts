/**
 * The strongSwan Android client's profile (.sswan, served as
 * application/vnd.strongswan.profile): JSON the app imports in one tap.
 * Fields as the app's VpnProfileImportActivity reads them.
 */
import { pemToDerBase64 } from "../crypto/certificates.js";
import { VpncpError } from "../errors.js";

export const SSWAN_MEDIA_TYPE = "application/vnd.strongswan.profile";

export interface SswanProfileInput {
  /** Stable per account, so re-importing updates the profile instead of adding one. */
  readonly uuid: string;
  /** Shown in the app's profile list. */
  readonly name: string;
  /** What the client dials: domain or IP. */
  readonly serverAddress: string;
  /** The server's IKE identity (its certificate's SAN). */
  readonly serverId: string;
  readonly caCertificatePem: string;
  /** The EAP identity: the account's username. */
  readonly username: string;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * Renders the profile: type "ikev2-eap", remote.addr / remote.id, remote.cert =
 * Base64 of the CA's DER (the app Base64-decodes it and trusts that certificate),
 * local.eap_id = username. The password is not included; the app asks for it.
 * Throws CA_MISSING without a CA certificate.
 */
export function renderSswanProfile(input: SswanProfileInput): string {
  if (input.caCertificatePem.trim() === "") throw new VpncpError("CA_MISSING");
  // The app rejects the whole profile when uuid is not a UUID.
  if (!UUID.test(input.uuid)) throw new TypeError("uuid must be a UUID");
  const profile = {
    uuid: input.uuid.toLowerCase(),
    name: input.name,
    type: "ikev2-eap",
    remote: {
      addr: input.serverAddress,
      id: input.serverId,
      cert: pemToDerBase64(input.caCertificatePem),
    },
    local: {
      eap_id: input.username,
    },
  };
  return `${JSON.stringify(profile, null, 2)}\n`;
}
