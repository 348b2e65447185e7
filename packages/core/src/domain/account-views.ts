import { inject, injectable } from "inversify";
import { type Clock, TYPES } from "../di/ids.js";
import { VpncpError } from "../errors.js";
import type { VpncpOptions } from "../model/options.js";
import type { AccountRecord, ServerRecord } from "../model/records.js";
import type { FirewallPort, Ikev2Port, Ikev2SaState, ShaperClassState, ShaperPort, WgPeerState, WireGuardPort } from "../ports/index.js";
import { renderClientConfig } from "../render/client-config.js";
import { renderMobileconfig } from "../render/mobileconfig.js";
import { renderQrPng } from "../render/qr.js";
import { renderSswanProfile } from "../render/sswan.js";
import { firewallAccountSpec, isActive } from "./desired-state.js";
import { Ikev2Settings } from "./ikev2-settings.js";
import { Inventory } from "./inventory.js";
import { SystemService } from "./system-service.js";

/** `dump` of one account, as the page shows it (all strings). */
export interface AccountDump {
  readonly allowed_ips: string;
  readonly endpoint: string;
  readonly keepalive: string;
  readonly latest_handshake: string;
  readonly transfer_rx: string;
  readonly transfer_tx: string;
}

export interface WireguardOnline {
  readonly account: AccountRecord;
  readonly endpoint: string;
  /** "2022-12-12 13:02:01" in the installation's timezone. */
  readonly latestHandshake: string;
  readonly transferRx: number;
  readonly transferTx: number;
}

export interface Ikev2Online {
  readonly account: AccountRecord;
  readonly endpoint: string;
  /** " 11 seconds ago" */
  readonly uptime: string;
  readonly session: Ikev2SaState;
}

/**
 * What an account looks like from the outside: its client configuration in
 * each format, and what the drivers in use report about it, in the texts the
 * API pages show.
 */
@injectable()
export class AccountViews {
  readonly #inventory: Inventory;
  readonly #wg: WireGuardPort;
  readonly #firewall: FirewallPort;
  readonly #shaper: ShaperPort;
  readonly #ikev2: Ikev2Port;
  readonly #ikev2Settings: Ikev2Settings;
  readonly #system: SystemService;
  readonly #timezone: string;
  readonly #clock: Clock;

  constructor(
    @inject(Inventory) inventory: Inventory,
    @inject(TYPES.WireGuard) wg: WireGuardPort,
    @inject(TYPES.Firewall) firewall: FirewallPort,
    @inject(TYPES.Shaper) shaper: ShaperPort,
    @inject(TYPES.Ikev2) ikev2: Ikev2Port,
    @inject(Ikev2Settings) ikev2Settings: Ikev2Settings,
    @inject(SystemService) system: SystemService,
    @inject(TYPES.Options) options: VpncpOptions,
    @inject(TYPES.Clock) clock: Clock,
  ) {
    this.#clock = clock;
    this.#inventory = inventory;
    this.#wg = wg;
    this.#firewall = firewall;
    this.#shaper = shaper;
    this.#ikev2 = ikev2;
    this.#ikev2Settings = ikev2Settings;
    this.#system = system;
    this.#timezone = options.timezone ?? Intl.DateTimeFormat().resolvedOptions().timeZone;
  }

  #find(name: string): { account: AccountRecord; server: ServerRecord } {
    const account = typeof name === "string" ? this.#inventory.account(name) : undefined;
    const server = account ? this.#inventory.server(account.wgName) : undefined;
    if (!account || !server) throw new VpncpError("ACCOUNT_NOT_FOUND");
    return { account, server };
  }

  configText(name: string): string {
    const { account, server } = this.#find(name);
    return renderClientConfig(server, account);
  }

  /** The config text as a QR code: a PNG in base64. */
  configQr(name: string): Promise<string> {
    return renderQrPng(this.configText(name));
  }

  /** What both IKEv2 profiles say about the account and the server it dials. */
  #profile(name: string) {
    const { account, server } = this.#find(name);
    const certificate = this.#ikev2Settings.server;
    const serverId = certificate?.domain || certificate?.ip || server.endpoint || server.externalIp;
    return {
      account,
      input: {
        uuid: account.uuid,
        name: serverId,
        serverAddress: server.endpoint || certificate?.domain || server.externalIp,
        serverId,
        caCertificatePem: this.#ikev2Settings.ca?.certificatePem ?? "",
        username: account.username,
      },
    };
  }

  /** The strongSwan Android profile (.sswan). */
  ikev2Profile(name: string): string {
    return renderSswanProfile(this.#profile(name).input);
  }

  /** The Apple .mobileconfig profile. */
  ikev2Mobileconfig(name: string): string {
    const { account, input } = this.#profile(name);
    return renderMobileconfig({ ...input, password: account.password });
  }

  /** "0.0.0.0/0 -> 10.0.105.18 MARK 0x6d Pkt:0 Bytes:0\n…" from the firewall in use. */
  async mangleRules(name: string): Promise<string> {
    const { account, server } = this.#find(name);
    const rules = await this.#firewall.markRules([firewallAccountSpec(account, server)]);
    const order = (direction: string) => (direction === "down" ? 0 : 1);
    return rules
      .filter((r) => r.mark === account.mangle)
      .sort((a, b) => order(a.direction) - order(b.direction) || Number(a.source.includes(":")) - Number(b.source.includes(":")))
      .map((r) => `${r.source} -> ${r.destination} MARK 0x${r.mark.toString(16)} Pkt:${r.packets} Bytes:${r.bytes}\n`)
      .join("");
  }

  /** The account's tc classes per device: "wg0 --> class htb 1:6d …\n\n". */
  async trafficControl(name: string): Promise<string> {
    const { account, server } = this.#find(name);
    return formatPerDevice(await this.#shaper.classes(server.interfaceName, account.mangle));
  }

  async dump(name: string): Promise<AccountDump> {
    const { account, server } = this.#find(name);
    const state = await this.#wg.dump(server.interfaceName);
    const peer = state?.peers.find((p) => p.publicKey === account.publicKey);
    return peer
      ? dumpOf(peer)
      : {
          allowed_ips: `${account.allowedIp}/32`,
          endpoint: "(none)",
          keepalive: "off",
          latest_handshake: "0",
          transfer_rx: "0",
          transfer_tx: "0",
        };
  }

  /** Peers whose latest handshake is within `wireguard_handshake_uptime` seconds. */
  async wireguardOnline(now = this.#clock.now()): Promise<WireguardOnline[]> {
    const uptime = this.#system.config.wireguardHandshakeUptime;
    const nowSeconds = Math.floor(now.getTime() / 1000);
    const out: WireguardOnline[] = [];
    for (const server of this.#inventory.servers()) {
      const state = await this.#wg.dump(server.interfaceName);
      if (!state) continue;
      const byKey = new Map(state.peers.map((p) => [p.publicKey, p]));
      for (const account of this.#inventory.accountsOf(server.name)) {
        const peer = byKey.get(account.publicKey);
        if (!peer || !isActive(account, server) || peer.latestHandshake === 0 || nowSeconds - peer.latestHandshake > uptime) continue;
        out.push({
          account,
          endpoint: peer.endpoint ?? "(none)",
          latestHandshake: localTime(new Date(peer.latestHandshake * 1000), this.#timezone),
          transferRx: peer.rxBytes,
          transferTx: peer.txBytes,
        });
      }
    }
    return out;
  }

  async ikev2Online(): Promise<Ikev2Online[]> {
    const out: Ikev2Online[] = [];
    for (const session of await this.#ikev2.listSas()) {
      const account = this.#inventory.accountByUsername(session.username);
      if (!account) continue;
      out.push({ account, endpoint: session.remoteHost, uptime: ` ${ago(session.establishedSeconds)}`, session });
    }
    return out;
  }

  /** The server interface's qdiscs per device, as tc prints them. */
  async serverTrafficControl(server: ServerRecord): Promise<string> {
    return formatPerDevice(await this.#shaper.qdiscs(server.interfaceName));
  }

  async serverNatRules(server: ServerRecord): Promise<string> {
    const rules = await this.#firewall.natRules(server.name);
    return rules.map((r) => `${r.source} -> ${r.destination} ${r.target} Pkt:${r.packets} Bytes:${r.bytes}\n`).join("");
  }

  async serverFilterRules(server: ServerRecord): Promise<string> {
    const rules = await this.#firewall.filterRules(server.name);
    return rules.map((r) => `${r.source} -> ${r.destination} ${r.action}  Pkt:${r.packets} Bytes:${r.bytes}\n`).join("");
  }
}

function formatPerDevice(states: readonly ShaperClassState[]): string {
  return states.map((s) => `${s.device} --> ${s.text.trimEnd()}\n\n`).join("");
}

function dumpOf(peer: WgPeerState): AccountDump {
  return {
    allowed_ips: peer.allowedIps.join(",") || "(none)",
    endpoint: peer.endpoint ?? "(none)",
    keepalive: peer.persistentKeepalive === null ? "off" : String(peer.persistentKeepalive),
    latest_handshake: String(peer.latestHandshake),
    transfer_rx: String(peer.rxBytes),
    transfer_tx: String(peer.txBytes),
  };
}

/** "2022-12-12 13:02:01" */
export function localTime(at: Date, timeZone: string): string {
  const parts = new Intl.DateTimeFormat("en-CA", {
    timeZone,
    year: "numeric",
    month: "2-digit",
    day: "2-digit",
    hour: "2-digit",
    minute: "2-digit",
    second: "2-digit",
    hourCycle: "h23",
  }).formatToParts(at);
  const get = (type: string) => parts.find((p) => p.type === type)?.value ?? "";
  return `${get("year")}-${get("month")}-${get("day")} ${get("hour")}:${get("minute")}:${get("second")}`;
}

/** "11 seconds ago", "5 minutes ago", "2 hours ago", "3 days ago". */
export function ago(seconds: number): string {
  const units: [number, string][] = [
    [86_400, "day"],
    [3_600, "hour"],
    [60, "minute"],
  ];
  for (const [size, unit] of units) {
    if (seconds >= size) {
      const n = Math.floor(seconds / size);
      return `${n} ${unit}${n === 1 ? "" : "s"} ago`;
    }
  }
  return `${seconds} second${seconds === 1 ? "" : "s"} ago`;
}
