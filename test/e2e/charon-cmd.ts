import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { TestNamespace } from "../../packages/drivers/test/netns.js";

const PLUGINS =
  "kernel-libipsec kernel-netlink socket-default random nonce openssl pem pkcs1 pkcs8 x509 revocation constraints pubkey curve25519 aes sha1 sha2 hmac kdf gmp md5 eap-identity eap-mschapv2 attr updown";

export interface CharonCmd {
  readonly child: ChildProcess;
  output(): string;
  /** Resolves when the pattern shows in its log (or rejects after the timeout). */
  waitFor(pattern: RegExp, timeoutMs?: number): Promise<RegExpExecArray>;
  stop(): Promise<void>;
}

/**
 * A real IKEv2 client: strongSwan's charon-cmd in a namespace, with the
 * username as IKE identity (as the Android app), the CA from the account's
 * profile, and the password on stdin (it reads it with getpass()).
 */
export function startCharonCmd(
  ns: TestNamespace,
  options: { host: string; identity: string; remoteId: string; caPem: string; password: string; remoteTs: string },
): CharonCmd {
  const dir = mkdtempSync(join(tmpdir(), "vpncp-cmd-"));
  writeFileSync(join(dir, "ca.pem"), options.caPem);
  writeFileSync(join(dir, "strongswan.conf"), `charon-cmd {\n  load = ${PLUGINS}\n}\ncharon {\n  load = ${PLUGINS}\n}\n`);
  const child = spawn(
    "ip",
    [
      "netns",
      "exec",
      ns.name,
      "stdbuf",
      "-oL",
      "charon-cmd",
      "--host",
      options.host,
      "--identity",
      options.identity,
      "--remote-identity",
      options.remoteId,
      "--cert",
      join(dir, "ca.pem"),
      "--profile",
      "ikev2-eap",
      "--remote-ts",
      options.remoteTs,
    ],
    { env: { ...process.env, STRONGSWAN_CONF: join(dir, "strongswan.conf") }, stdio: ["pipe", "pipe", "pipe"] },
  );
  let output = "";
  child.stdout?.on("data", (c: Buffer) => {
    output += c.toString();
  });
  child.stderr?.on("data", (c: Buffer) => {
    output += c.toString();
  });
  child.stdin?.end(`${options.password}\n`);
  return {
    child,
    output: () => output,
    async waitFor(pattern, timeoutMs = 20_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const match = pattern.exec(output);
        if (match) return match;
        if (Date.now() > deadline) throw new Error(`charon-cmd: timed out waiting for ${pattern}\n${output}`);
        await new Promise((r) => setTimeout(r, 100));
      }
    },
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill("SIGTERM");
        await new Promise((r) => child.once("exit", r));
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** The CA of a .sswan profile (remote.cert: base64 of the DER) as PEM. */
export function caFromSswan(profile: string): { pem: string; remoteId: string; username: string } {
  const json = JSON.parse(profile) as { remote: { cert: string; id: string }; local: { eap_id: string } };
  const lines = json.remote.cert.match(/.{1,64}/g) ?? [];
  return {
    pem: `-----BEGIN CERTIFICATE-----\n${lines.join("\n")}\n-----END CERTIFICATE-----\n`,
    remoteId: json.remote.id,
    username: json.local.eap_id,
  };
}
