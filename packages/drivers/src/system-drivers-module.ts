import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { type Logger, TYPES } from "@vpncp/core";
import { ContainerModule } from "inversify";
import { ExecaRunner } from "./command-runner/execa.js";
import { IptablesFirewall } from "./firewall/iptables.js";
import { NftablesFirewall } from "./firewall/nftables.js";
import { StrongSwanDriver } from "./ikev2/strongswan.js";
import { TcShaper } from "./shaper/tc.js";
import { WireGuardToolsDriver } from "./wireguard/wireguard-tools.js";

export interface SystemDriversOptions {
  /** Run every command inside this network namespace. */
  readonly netns?: string | undefined;
  /** The firewall driver (default nftables). */
  readonly firewall?: "nftables" | "iptables" | undefined;
  /** iptables binaries (default "nft" backend). */
  readonly iptablesVariant?: "legacy" | "nft" | undefined;
  /** WireGuard implementation (default: kernel when available, else wireguard-go). */
  readonly wireguardImplementation?: "auto" | "kernel" | "userspace" | undefined;
  /** Runtime directory (0700): charon's configuration and vici socket. */
  readonly stateDir: string;
  /** Spawn a private charon (default) or use one already running at `viciUri`. */
  readonly ikev2Mode?: "spawn" | "external" | undefined;
  readonly viciUri?: string | undefined;
  readonly logger?: Logger | undefined;
}

/** Binds the four ports to the real tools: wg/wireguard-go, nftables or iptables, tc, strongSwan. */
export function systemDriversModule(options: SystemDriversOptions): ContainerModule {
  return new ContainerModule(({ bind }) => {
    mkdirSync(options.stateDir, { recursive: true, mode: 0o700 });
    const runner = new ExecaRunner({ netns: options.netns ?? null });
    const logger = options.logger;
    bind(TYPES.CommandRunner).toConstantValue(runner);
    bind(TYPES.WireGuard).toConstantValue(
      new WireGuardToolsDriver({ runner, implementation: options.wireguardImplementation ?? "auto", ...(logger ? { logger } : {}) }),
    );
    bind(TYPES.Firewall).toConstantValue(
      options.firewall === "iptables"
        ? new IptablesFirewall({ runner, variant: options.iptablesVariant ?? "nft" })
        : new NftablesFirewall({ runner }),
    );
    bind(TYPES.Shaper).toConstantValue(new TcShaper({ runner, ...(logger ? { logger } : {}) }));
    bind(TYPES.Ikev2).toConstantValue(
      new StrongSwanDriver({
        runner,
        stateDir: join(options.stateDir, "strongswan"),
        mode: options.ikev2Mode ?? "spawn",
        ...(options.viciUri ? { viciUri: options.viciUri } : {}),
        ...(logger ? { logger } : {}),
      }),
    );
  });
}
