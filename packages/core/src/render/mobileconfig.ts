/**
 * The Apple configuration profile (.mobileconfig) for the built-in IKEv2 client
 * of iOS, iPadOS and macOS: a `com.apple.vpn.managed` payload and a
 * `com.apple.security.root` payload carrying the CA, as one unsigned plist.
 */
import { createHash } from "node:crypto";
import { describeCertificate, pemToDerBase64 } from "../crypto/certificates.js";
import { VpncpError } from "../errors.js";

export const MOBILECONFIG_MEDIA_TYPE = "application/x-apple-aspen-config";

export interface MobileconfigInput {
  /** The account's uuid: every PayloadUUID is derived from it, so re-installing replaces the profile. */
  readonly uuid: string;
  /** The VPN's name on the device. */
  readonly name: string;
  /** What the device dials (RemoteAddress): domain or IP. */
  readonly serverAddress: string;
  /** The server's IKE identity (RemoteIdentifier), as in its certificate's SAN. */
  readonly serverId: string;
  readonly caCertificatePem: string;
  /** EAP-MSCHAPv2 user name (AuthName, LocalIdentifier). */
  readonly username: string;
  /** AuthPassword; without it the device asks. */
  readonly password?: string | undefined;
  /** The server certificate's CN; without it the device checks the certificate against RemoteIdentifier. */
  readonly serverCertificateCommonName?: string | undefined;
  /** PayloadOrganization, shown when installing. */
  readonly organization?: string | undefined;
  /** Reverse-DNS prefix of the PayloadIdentifiers (default "vpncp"). */
  readonly identifierPrefix?: string | undefined;
}

/**
 * Proposals a strongSwan responder with its default proposals accepts: it selects
 * IKE:AES_CBC_256/HMAC_SHA2_256_128/PRF_HMAC_SHA2_256/ECP_256 and ESP AES-CBC-256 +
 * HMAC-SHA2-256 (test/render/ikev2-profiles.system.test.ts connects with exactly
 * these). Without the keys the device uses its own defaults, which vary by OS
 * version (older ones offered 3DES/SHA-1/MODP-1024, which strongSwan refuses by default).
 */
export const APPLE_IKE_PROPOSAL = {
  EncryptionAlgorithm: "AES-256",
  IntegrityAlgorithm: "SHA2-256",
  DiffieHellmanGroup: 19,
  LifeTimeInMinutes: 1440,
} as const;
/** DiffieHellmanGroup here only matters with PFS, which stays off (strongSwan's default ESP proposals carry no DH group). */
export const APPLE_CHILD_PROPOSAL = {
  EncryptionAlgorithm: "AES-256",
  IntegrityAlgorithm: "SHA2-256",
  DiffieHellmanGroup: 19,
  LifeTimeInMinutes: 1440,
} as const;

/** A name-based (version 5, SHA-1) UUID in the account uuid's namespace, upper-case as Apple writes them. */
export function derivePayloadUuid(namespaceUuid: string, label: string): string {
  const namespace = Buffer.from(namespaceUuid.replace(/-/g, ""), "hex");
  if (namespace.length !== 16) throw new TypeError("uuid must be a UUID");
  const bytes = createHash("sha1").update(namespace).update(label, "utf8").digest().subarray(0, 16);
  bytes[6] = (bytes[6]! & 0x0f) | 0x50;
  bytes[8] = (bytes[8]! & 0x3f) | 0x80;
  const hex = bytes.toString("hex").toUpperCase();
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/** Text for a plist <string>/<key>: XML-escaped, without the characters XML 1.0 cannot carry at all. */
export function xmlText(value: string): string {
  return value
    .replace(
      /[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g,
      "",
    )
    .replace(/&/g, "&amp;")
    .replace(/</g, "&lt;")
    .replace(/>/g, "&gt;")
    .replace(/"/g, "&quot;")
    .replace(/'/g, "&apos;");
}

type PlistValue = string | number | boolean | PlistData | readonly PlistValue[] | { readonly [key: string]: PlistValue | undefined };

/** Binary data, written as a base64 <data> element. */
class PlistData {
  constructor(readonly base64: string) {}
}

function plistValue(value: PlistValue, indent: string): string {
  const inner = `${indent}\t`;
  if (typeof value === "string") return `${indent}<string>${xmlText(value)}</string>`;
  if (typeof value === "number") {
    if (!Number.isInteger(value)) throw new TypeError("plist numbers here are integers");
    return `${indent}<integer>${value}</integer>`;
  }
  if (typeof value === "boolean") return `${indent}<${value}/>`;
  if (value instanceof PlistData) {
    const lines = value.base64.match(/.{1,64}/g) ?? [];
    return `${indent}<data>\n${lines.map((line) => `${inner}${line}`).join("\n")}\n${indent}</data>`;
  }
  if (Array.isArray(value)) {
    return `${indent}<array>\n${value.map((item: PlistValue) => `${plistValue(item, inner)}\n`).join("")}${indent}</array>`;
  }
  const entries = Object.entries(value as { [key: string]: PlistValue | undefined }).filter(
    (entry): entry is [string, PlistValue] => entry[1] !== undefined,
  );
  return `${indent}<dict>\n${entries.map(([key, item]) => `${inner}<key>${xmlText(key)}</key>\n${plistValue(item, inner)}\n`).join("")}${indent}</dict>`;
}

/**
 * Renders the profile.
 *
 * API-EXTENDED asks for `AuthenticationMethod` Certificate with `ExtendedAuthEnabled` 1.
 * Apple's client reads "Certificate" as "the device authenticates with its own
 * certificate identity" (a PayloadCertificateUUID), which these accounts do not have;
 * EAP-only with a server certificate, as strongSwan's server does it, is
 * `AuthenticationMethod` "None" + `ExtendedAuthEnabled` 1 — so this follows Apple.
 * The server is still authenticated by its certificate, checked against the CA
 * payload (ServerCertificateIssuerCommonName, and the CN or RemoteIdentifier).
 */
export function renderMobileconfig(input: MobileconfigInput): string {
  if (input.caCertificatePem.trim() === "") throw new VpncpError("CA_MISSING");
  const ca = describeCertificate(input.caCertificatePem);
  const caDer = pemToDerBase64(input.caCertificatePem);
  const prefix = input.identifierPrefix?.trim() || "vpncp";
  const baseId = `${prefix}.${input.uuid.toLowerCase()}`;
  const uuidOf = (label: string) => derivePayloadUuid(input.uuid, label);
  const organization = input.organization?.trim() || undefined;

  const vpnPayload = {
    PayloadType: "com.apple.vpn.managed",
    PayloadVersion: 1,
    PayloadIdentifier: `${baseId}.vpn`,
    PayloadUUID: uuidOf("vpn"),
    PayloadDisplayName: input.name,
    PayloadDescription: "IKEv2 VPN",
    PayloadOrganization: organization,
    UserDefinedName: input.name,
    VPNType: "IKEv2",
    IKEv2: {
      RemoteAddress: input.serverAddress,
      RemoteIdentifier: input.serverId,
      LocalIdentifier: input.username,
      AuthenticationMethod: "None",
      ExtendedAuthEnabled: 1,
      AuthName: input.username,
      AuthPassword: input.password === "" ? undefined : input.password,
      ServerCertificateIssuerCommonName: ca.common_name || undefined,
      ServerCertificateCommonName: input.serverCertificateCommonName?.trim() || undefined,
      CertificateType: "RSA",
      IKESecurityAssociationParameters: APPLE_IKE_PROPOSAL,
      ChildSecurityAssociationParameters: APPLE_CHILD_PROPOSAL,
      EnablePFS: 0,
      DeadPeerDetectionRate: "Medium",
      DisableMOBIKE: 0,
      DisableRedirect: 0,
      EnableCertificateRevocationCheck: 0,
      UseConfigurationAttributeInternalIPSubnet: 0,
    },
  };
  const caPayload = {
    PayloadType: "com.apple.security.root",
    PayloadVersion: 1,
    PayloadIdentifier: `${baseId}.ca`,
    PayloadUUID: uuidOf("ca"),
    PayloadDisplayName: ca.common_name || "VPN root certificate",
    PayloadDescription: "Root certificate of the VPN server",
    PayloadCertificateFileName: "ca.cer",
    PayloadContent: new PlistData(caDer),
  };
  const profile = {
    PayloadType: "Configuration",
    PayloadVersion: 1,
    PayloadIdentifier: baseId,
    PayloadUUID: uuidOf("profile"),
    PayloadDisplayName: input.name,
    PayloadDescription: `IKEv2 VPN ${input.serverAddress} for ${input.username}`,
    PayloadOrganization: organization,
    PayloadRemovalDisallowed: false,
    PayloadContent: [vpnPayload, caPayload],
  };
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    '<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">',
    '<plist version="1.0">',
    plistValue(profile, ""),
    "</plist>",
    "",
  ].join("\n");
}
