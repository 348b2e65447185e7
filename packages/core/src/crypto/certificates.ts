/**
 * The IKEv2 certificates: a root CA and the strongSwan server certificate it
 * signs, built with node-forge; RSA keys come from Node's native generator
 * (OpenSSL), because forge's JavaScript one takes seconds to minutes for 3072 bits.
 * The chain is checked with Node's X509Certificate (OpenSSL) before it is returned.
 */
import { createHash, createPrivateKey, generateKeyPair, type KeyObject, randomBytes, X509Certificate } from "node:crypto";
import { isIP } from "node:net";
import { promisify } from "node:util";
import forge from "node-forge";
import { VpncpError } from "../errors.js";

const { pki, asn1, md, util } = forge;
const generateRsaKeyPair = promisify(generateKeyPair);

/** iKEIntermediate (IP Security IKE Intermediate): macOS and Windows IKEv2 clients expect it beside serverAuth. */
const IKE_INTERMEDIATE_OID = "1.3.6.1.5.5.8.2.2";
const DEFAULT_KEY_BITS = 3072;
/**
 * Ten years for both. Apple's 825-day limit is for TLS server certificates; its
 * IKEv2 client does not apply it (long-lived IKEv2 server certificates, e.g. from
 * hwdsl2/setup-ipsec-vpn, are accepted by iOS and macOS).
 */
const DEFAULT_DAYS = 3650;
/** Issued certificates start an hour early so clients whose clocks lag a little accept them. */
const BACKDATE_MS = 60 * 60 * 1000;
/** iOS and macOS refuse RSA keys below 2048 bits. */
const MIN_RSA_BITS = 2048;

export interface CertificateSubject {
  readonly commonName?: string | undefined;
  readonly organization?: string | undefined;
  readonly organizationalUnit?: string | undefined;
  /** Two-letter country code. */
  readonly country?: string | undefined;
  readonly state?: string | undefined;
  readonly locality?: string | undefined;
}

export interface CaOptions extends CertificateSubject {
  readonly commonName: string;
  readonly organization: string;
  /** Validity in days (default 3650). */
  readonly days?: number | undefined;
  /** RSA modulus size (default 3072). */
  readonly keyBits?: number | undefined;
  /** Start of validity (default: now); mainly for tests. */
  readonly now?: Date | undefined;
}

/** A certificate and its private key, both PEM (the key PKCS#8, unencrypted). */
export interface CertificateMaterial {
  readonly certificatePem: string;
  readonly privateKeyPem: string;
}

export interface ServerCertificateOptions extends CertificateSubject {
  /** The CA that signs (its certificate and key PEM). */
  readonly ca: CertificateMaterial;
  /** DNS name of the server ("vpn.example.com"); may be empty when an IP is given. */
  readonly domain: string;
  readonly ip?: string | undefined;
  readonly ipv6?: string | undefined;
  readonly days?: number | undefined;
  readonly keyBits?: number | undefined;
  readonly now?: Date | undefined;
}

/** A certificate as the API shows it (`ca_common_name`, … are these fields with a prefix). */
export interface CertificateDescription {
  readonly common_name: string;
  readonly organization: string;
  readonly organizational_unit: string;
  readonly country_name: string;
  readonly state_or_province_name: string;
  readonly locality: string;
  /** ISO 8601 UTC. */
  readonly not_before: string;
  readonly not_after: string;
  /** Upper-case hex, as `openssl x509 -serial` prints it. */
  readonly serial: string;
  /** SHA-256 of the DER, upper-case hex pairs joined by ":", as `openssl x509 -fingerprint -sha256` prints it. */
  readonly fingerprint_sha256: string;
  readonly is_ca: boolean;
  readonly dns_names: readonly string[];
  readonly ip_addresses: readonly string[];
}

function trimmed(value: string | undefined): string {
  return (value ?? "").trim();
}

/** PEM as pasted: the API's own examples use "\r" line breaks. */
function normalizePem(pem: string): string {
  const text = pem.replace(/\r\n?/g, "\n").trim();
  // OpenSSL wants the END line terminated.
  return text === "" ? "" : `${text}\n`;
}

function subjectAttributes(subject: CertificateSubject): forge.pki.CertificateField[] {
  const attributes: forge.pki.CertificateField[] = [];
  const country = trimmed(subject.country);
  if (country !== "") {
    // X.520 countryName is a two-letter PrintableString; anything else makes a certificate strict parsers reject.
    if (!/^[A-Za-z]{2}$/.test(country)) throw new VpncpError("CERT_FAILED");
    attributes.push({
      shortName: "C",
      value: country.toUpperCase(),
      valueTagClass: asn1.Type.PRINTABLESTRING as number as forge.asn1.Class,
    });
  }
  const utf8 = (shortName: string, value: string | undefined) => {
    const text = trimmed(value);
    // UTF8String: PrintableString has no "&", "@", "_" or non-ASCII letters.
    if (text !== "") attributes.push({ shortName, value: text, valueTagClass: asn1.Type.UTF8 as number as forge.asn1.Class });
  };
  utf8("ST", subject.state);
  utf8("L", subject.locality);
  utf8("O", subject.organization);
  utf8("OU", subject.organizationalUnit);
  utf8("CN", subject.commonName);
  return attributes;
}

/** A positive serial of 16 random bytes (RFC 5280: at most 20 octets, non-negative). */
function randomSerial(): string {
  const bytes = randomBytes(16);
  bytes[0] = (bytes[0]! & 0x7f) | 0x01;
  return bytes.toString("hex");
}

function validity(days: number | undefined, now: Date | undefined): { notBefore: Date; notAfter: Date } {
  const span = days ?? DEFAULT_DAYS;
  if (!Number.isInteger(span) || span < 1 || span > 36500) throw new RangeError("days must be 1 to 36500");
  const notBefore = new Date((now ?? new Date()).getTime() - BACKDATE_MS);
  const notAfter = new Date(notBefore.getTime() + span * 24 * 60 * 60 * 1000);
  return { notBefore, notAfter };
}

async function newRsaKey(bits: number | undefined): Promise<{ key: forge.pki.rsa.PrivateKey; pem: string }> {
  const modulusLength = bits ?? DEFAULT_KEY_BITS;
  if (!Number.isInteger(modulusLength) || modulusLength < MIN_RSA_BITS || modulusLength > 8192) {
    throw new RangeError("keyBits must be 2048 to 8192");
  }
  const { privateKey } = await generateRsaKeyPair("rsa", {
    modulusLength,
    publicKeyEncoding: { type: "spki", format: "pem" },
    privateKeyEncoding: { type: "pkcs8", format: "pem" },
  });
  return { key: pki.privateKeyFromPem(privateKey) as forge.pki.rsa.PrivateKey, pem: privateKey };
}

function publicKeyOf(key: forge.pki.rsa.PrivateKey): forge.pki.rsa.PublicKey {
  return pki.setRsaPublicKey(key.n, key.e);
}

/** Generates a self-signed root CA: CA:TRUE, keyCertSign + cRLSign, SKI, SHA-256 with RSA. */
export async function generateCa(options: CaOptions): Promise<CertificateMaterial> {
  if (trimmed(options.commonName) === "") throw new VpncpError("COMMON_NAME_REQUIRED");
  if (trimmed(options.organization) === "") throw new VpncpError("ORGANIZATION_REQUIRED");
  const subject = subjectAttributes(options);
  const { notBefore, notAfter } = validity(options.days, options.now);
  const { key, pem } = await newRsaKey(options.keyBits);

  const cert = pki.createCertificate();
  cert.publicKey = publicKeyOf(key);
  cert.serialNumber = randomSerial();
  cert.validity.notBefore = notBefore;
  cert.validity.notAfter = notAfter;
  cert.setSubject(subject);
  cert.setIssuer(subject);
  const ski = cert.generateSubjectKeyIdentifier().getBytes();
  cert.setExtensions([
    { name: "basicConstraints", cA: true, critical: true },
    { name: "keyUsage", keyCertSign: true, cRLSign: true, critical: true },
    { name: "subjectKeyIdentifier", subjectKeyIdentifier: util.bytesToHex(ski) },
    { name: "authorityKeyIdentifier", keyIdentifier: ski },
  ]);
  cert.sign(key, md.sha256.create());
  return { certificatePem: normalizePem(pki.certificateToPem(cert)), privateKeyPem: pem };
}

interface LoadedCa {
  readonly cert: forge.pki.Certificate;
  readonly key: forge.pki.rsa.PrivateKey;
  readonly native: X509Certificate;
  readonly material: CertificateMaterial;
}

function parseNativeKey(keyPem: string): KeyObject {
  try {
    return createPrivateKey({ key: keyPem, format: "pem" });
  } catch (cause) {
    // Also encrypted keys: there is no way to give a passphrase.
    throw new VpncpError("CERT_FAILED", { cause });
  }
}

function loadCa(certPemInput: string, keyPemInput: string): LoadedCa {
  const certPem = normalizePem(certPemInput ?? "");
  const keyPem = normalizePem(keyPemInput ?? "");
  if (certPem === "") throw new VpncpError("CA_CERT_REQUIRED");
  if (keyPem === "") throw new VpncpError("CA_KEY_REQUIRED");
  if ((certPem.match(/-----BEGIN CERTIFICATE-----/g) ?? []).length !== 1) throw new VpncpError("CERT_FAILED");

  let native: X509Certificate;
  let cert: forge.pki.Certificate;
  try {
    native = new X509Certificate(certPem);
    // forge signs the server certificates, and it only knows RSA.
    cert = pki.certificateFromPem(certPem);
  } catch (cause) {
    throw new VpncpError("CERT_FAILED", { cause });
  }
  const nativeKey = parseNativeKey(keyPem);
  const bits = nativeKey.asymmetricKeyDetails?.modulusLength ?? 0;
  if (nativeKey.asymmetricKeyType !== "rsa" || bits < MIN_RSA_BITS) throw new VpncpError("CERT_FAILED");
  if (!native.checkPrivateKey(nativeKey)) throw new VpncpError("CERT_FAILED");
  if (!native.ca) throw new VpncpError("CERT_FAILED");
  const keyUsage = cert.getExtension("keyUsage") as { keyCertSign?: boolean } | undefined;
  if (keyUsage && !keyUsage.keyCertSign) throw new VpncpError("CERT_FAILED");

  const pkcs8 = nativeKey.export({ type: "pkcs8", format: "pem" }).toString();
  const key = pki.privateKeyFromPem(pkcs8) as forge.pki.rsa.PrivateKey;
  return { cert, key, native, material: { certificatePem: normalizePem(pki.certificateToPem(cert)), privateKeyPem: pkcs8 } };
}

/**
 * Checks an uploaded CA: both PEMs present (CA_CERT_REQUIRED, CA_KEY_REQUIRED),
 * one parseable RSA certificate with CA:TRUE, an unencrypted RSA key of at least
 * 2048 bits that belongs to it (else CERT_FAILED). Returns both normalized
 * (LF line breaks, the key as PKCS#8).
 */
export function importCa(certificatePem: string, privateKeyPem: string): CertificateMaterial {
  return loadCa(certificatePem, privateKeyPem).material;
}

/** Issuer attributes as forge re-encodes them: its UTF8String values come back as raw UTF-8 bytes. */
function issuerAttributes(ca: forge.pki.Certificate): forge.pki.CertificateField[] {
  return ca.subject.attributes.map((attribute) => {
    const copy: forge.pki.CertificateField & { type?: string } = { ...attribute };
    if (attribute.valueTagClass === (asn1.Type.UTF8 as number) && typeof attribute.value === "string") {
      copy.value = util.decodeUtf8(attribute.value);
    }
    return copy;
  });
}

const HOSTNAME = /^(?=.{1,253}$)([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*\.?$/;

/**
 * Generates the IKEv2 server certificate, signed by the CA: SAN with the domain
 * (DNS) and the IPv4/IPv6 addresses (iOS/macOS match the remote identifier
 * against the SAN, not the CN), EKU serverAuth + ikeIntermediate (required by
 * macOS and Windows clients), keyUsage digitalSignature + keyEncipherment, SKI/AKI.
 * The common name defaults to the domain, then the IP.
 */
export async function generateServerCertificate(options: ServerCertificateOptions): Promise<CertificateMaterial> {
  const ca = loadCa(options.ca.certificatePem, options.ca.privateKeyPem);
  const domain = trimmed(options.domain).replace(/\.$/, "");
  const ip = trimmed(options.ip);
  const ipv6 = trimmed(options.ipv6);
  if (ip !== "" && isIP(ip) !== 4) throw new VpncpError("WRONG_IP");
  if (ipv6 !== "" && isIP(ipv6) !== 6) throw new VpncpError("WRONG_IPV6");
  if (domain !== "" && isIP(domain) === 0 && !HOSTNAME.test(domain)) throw new VpncpError("CERT_FAILED");

  const commonName = trimmed(options.commonName) || domain || ip || ipv6;
  if (commonName === "") throw new VpncpError("COMMON_NAME_REQUIRED");

  const dnsNames: string[] = [];
  const ips: string[] = [];
  const addName = (name: string) => {
    if (name === "") return;
    if (isIP(name) !== 0) {
      if (!ips.includes(name)) ips.push(name);
    } else if (HOSTNAME.test(name) && !dnsNames.includes(name.toLowerCase())) {
      dnsNames.push(name.toLowerCase());
    }
  };
  addName(domain);
  addName(ip);
  addName(ipv6);
  // A CN that is a host name or address is what some clients compare, so it is in the SAN too.
  addName(commonName);
  if (dnsNames.length === 0 && ips.length === 0) throw new VpncpError("CERT_FAILED");

  const subject = subjectAttributes({ ...options, commonName });
  const { notBefore, notAfter } = validity(options.days, options.now);
  const { key, pem } = await newRsaKey(options.keyBits);

  const cert = pki.createCertificate();
  cert.publicKey = publicKeyOf(key);
  cert.serialNumber = randomSerial();
  cert.validity.notBefore = notBefore;
  cert.validity.notAfter = notAfter;
  cert.setSubject(subject);
  cert.setIssuer(issuerAttributes(ca.cert));
  const caSki = ca.cert.getExtension("subjectKeyIdentifier") as { subjectKeyIdentifier?: string } | undefined;
  const authorityKeyId = caSki?.subjectKeyIdentifier
    ? util.hexToBytes(caSki.subjectKeyIdentifier)
    : ca.cert.generateSubjectKeyIdentifier().getBytes();
  cert.setExtensions([
    { name: "basicConstraints", cA: false, critical: true },
    { name: "keyUsage", digitalSignature: true, keyEncipherment: true, critical: true },
    { name: "extKeyUsage", serverAuth: true, [IKE_INTERMEDIATE_OID]: true },
    {
      name: "subjectAltName",
      altNames: [...dnsNames.map((value) => ({ type: 2, value })), ...ips.map((address) => ({ type: 7, ip: address }))],
    },
    { name: "subjectKeyIdentifier" },
    { name: "authorityKeyIdentifier", keyIdentifier: authorityKeyId },
  ]);
  cert.sign(ca.key, md.sha256.create());
  const certificatePem = normalizePem(pki.certificateToPem(cert));

  // OpenSSL's view of the chain (issuer name, AKI, signature), so a CA forge re-encodes differently fails here, not on a phone.
  const issued = new X509Certificate(certificatePem);
  if (!issued.checkIssued(ca.native) || !issued.verify(ca.native.publicKey)) throw new VpncpError("CERT_FAILED");
  return { certificatePem, privateKeyPem: pem };
}

function attributeText(attribute: forge.pki.CertificateField | undefined): string {
  if (!attribute || typeof attribute.value !== "string") return "";
  const raw = attribute.value;
  switch (attribute.valueTagClass as number) {
    case asn1.Type.UTF8:
      return util.decodeUtf8(raw);
    case asn1.Type.BMPSTRING: {
      let text = "";
      for (let i = 0; i + 1 < raw.length; i += 2) text += String.fromCharCode((raw.charCodeAt(i) << 8) | raw.charCodeAt(i + 1));
      return text;
    }
    default:
      return raw;
  }
}

function parseCertificate(pem: string): { cert: forge.pki.Certificate; native: X509Certificate } {
  const text = normalizePem(pem ?? "");
  if (text === "") throw new VpncpError("CERT_NOT_FOUND");
  try {
    return { cert: pki.certificateFromPem(text), native: new X509Certificate(text) };
  } catch (cause) {
    throw new VpncpError("CERT_FAILED", { cause });
  }
}

/** Canonical text of an IPv6 address (RFC 5952, as URL hosts are printed). */
function canonicalIpv6(address: string): string {
  return new URL(`http://[${address}]/`).hostname.slice(1, -1);
}

/** Subject fields, validity, serial, fingerprint and SANs of a PEM certificate (CERT_FAILED if it does not parse). */
export function describeCertificate(pem: string): CertificateDescription {
  const { cert, native } = parseCertificate(pem);
  const field = (shortName: string) => attributeText(cert.subject.attributes.find((a) => a.shortName === shortName));
  const san = cert.getExtension("subjectAltName") as { altNames?: { type: number; value?: string; ip?: string }[] } | undefined;
  const dnsNames: string[] = [];
  const ipAddresses: string[] = [];
  for (const name of san?.altNames ?? []) {
    if (name.type === 2 && name.value) dnsNames.push(name.value);
    if (name.type === 7 && name.ip) ipAddresses.push(isIP(name.ip) === 6 ? canonicalIpv6(name.ip) : name.ip);
  }
  return {
    common_name: field("CN"),
    organization: field("O"),
    organizational_unit: field("OU"),
    country_name: field("C"),
    state_or_province_name: field("ST"),
    locality: field("L"),
    not_before: cert.validity.notBefore.toISOString(),
    not_after: cert.validity.notAfter.toISOString(),
    serial: native.serialNumber.toUpperCase(),
    fingerprint_sha256: createHash("sha256").update(native.raw).digest("hex").toUpperCase().match(/../g)!.join(":"),
    is_ca: native.ca,
    dns_names: dnsNames,
    ip_addresses: ipAddresses,
  };
}

/** Base64 of the certificate's DER, one line (the .sswan `remote.cert`, the .mobileconfig `<data>`). */
export function pemToDerBase64(pem: string): string {
  return parseCertificate(pem).native.raw.toString("base64");
}
