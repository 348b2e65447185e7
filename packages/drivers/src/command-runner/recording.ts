/**
 * A runner that changes nothing: read-only queries (`wg show`, `nft list`, `tc … show`,
 * `ip … show`, `swanctl --list-*`, `iptables-save`, versions) go to a real runner, so the
 * drivers see what the system holds and plan only what differs; every other command, and
 * every daemon start, is recorded and answered as a success. `vpncp plan` runs the system
 * drivers' reload against it and prints what it recorded.
 *
 * Links that recorded commands would create (`ip link add`, `link add` in an `ip -batch`)
 * are shown to later `ip … link show` queries, so a driver that checks for the link made
 * by another one (tc for the WireGuard interface) goes on as it would after the real command.
 *
 * Secrets never reach the record: the values given as `secrets` are replaced by their labels
 * wherever they appear (arguments, stdin, the 0600 files the WireGuard driver passes by
 * path, vici messages), and whatever looks like a WireGuard key line or a PEM private key is
 * cut out as well.
 */
import { readFileSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import type { CommandResult, CommandRunner, DaemonHandle, RunOptions, SpawnOptions } from "@vpncp/core";
import { type ViciClient, ViciConnection, type ViciConnector, type ViciSection } from "../ikev2/vici.js";

export const DRIVER_NAME = "recording";

/** One thing the drivers would do. */
export type PlannedStep = { readonly driver: string } & (
  | {
      readonly kind: "run";
      /** The program and its arguments, secrets replaced by labels. */
      readonly argv: readonly string[];
      /** What goes to its stdin, redacted. */
      readonly input?: string | undefined;
      /** Files among the arguments (the WireGuard driver's 0600 files) and what they hold, redacted. */
      readonly files?: readonly { readonly path: string; readonly content: string }[] | undefined;
      readonly env?: Readonly<Record<string, string>> | undefined;
    }
  | { readonly kind: "spawn"; readonly argv: readonly string[]; readonly env?: Readonly<Record<string, string>> | undefined }
  | {
      readonly kind: "vici";
      /** The vici command, e.g. "load-shared". */
      readonly command: string;
      /** Its message, redacted. */
      readonly message: unknown;
    }
);

export interface RecordingRunnerOptions {
  /** Runs the read-only queries; its netns is this runner's. */
  readonly reader: CommandRunner;
  /** Secret values and the label shown instead, e.g. "<private key of server s1>". */
  readonly secrets?: ReadonlyMap<string, string>;
  /** Links to show as existing (e.g. the tunnel device a charon that is not running would make). */
  readonly assumeLinks?: readonly string[];
  /** Which driver the steps are for (see `forDriver`). */
  readonly driver?: string;
  /**
   * Called for each recorded daemon start: a driver that waits for its daemon (wireguard-go's
   * UAPI socket) can be given what it waits for.
   */
  readonly onSpawn?: (file: string, args: readonly string[]) => void;
}

/** What the runners of one plan share: the record, the secrets and the links the plan would make. */
interface PlanRecord {
  readonly steps: PlannedStep[];
  readonly onSpawn: ((file: string, args: readonly string[]) => void) | undefined;
  secrets: [string, string][];
  readonly links: Map<string, boolean>;
}

// the all-zero preshared key is how the WireGuard driver spells "none": not a secret
const WG_KEY_LINE = /^(\s*(?:PrivateKey|PresharedKey)\s*=\s*)(?!<|A{43}=$)\S+$/gm;
const PEM_PRIVATE = /-----BEGIN [A-Z ]*PRIVATE KEY-----[\s\S]*?-----END [A-Z ]*PRIVATE KEY-----/g;

/** Whether a command only reads (so it may run while planning). An allowlist: anything unknown is recorded. */
export function isReadOnlyCommand(file: string, args: readonly string[]): boolean {
  const words = args.filter((arg) => !arg.startsWith("-"));
  const tool = file.split("/").at(-1) ?? file;
  if (args.length === 1 && ["--version", "-V", "-v"].includes(args[0]!)) return true;
  switch (tool) {
    case "wg":
      return words[0] === "show";
    case "ip":
      return !args.includes("-batch") && ["link", "address", "addr", "route", "rule"].includes(words[0] ?? "") && words[1] === "show";
    case "tc":
      return !args.includes("-batch") && words[1] === "show";
    case "nft":
      return words[0] === "list";
    case "swanctl":
      return args.some((arg) => arg.startsWith("--list-") || arg === "--stats");
    case "sysctl":
      return !args.includes("-w");
    case "uname":
      return true;
    default:
      // iptables-save, ip6tables-nft-save, …; `iptables -C` only checks a rule
      return /-save$/.test(tool) || (/^ip6?tables/.test(tool) && args.includes("-C"));
  }
}

function secretList(secrets: ReadonlyMap<string, string>): [string, string][] {
  // longest first, so a secret that contains another is replaced whole
  return [...secrets].filter(([value]) => value.length >= 8).sort((a, b) => b[0].length - a[0].length);
}

export class RecordingRunner implements CommandRunner {
  readonly netns: string | null;
  readonly #reader: CommandRunner;
  readonly #driver: string;
  readonly #record: PlanRecord;

  constructor(options: RecordingRunnerOptions, record?: PlanRecord) {
    this.#reader = options.reader;
    this.netns = options.reader.netns;
    this.#driver = options.driver ?? "";
    this.#record = record ?? {
      steps: [],
      onSpawn: options.onSpawn,
      secrets: secretList(options.secrets ?? new Map()),
      links: new Map(),
    };
    for (const link of options.assumeLinks ?? []) this.#record.links.set(link, true);
  }

  /** Everything recorded so far, by this runner and the ones made with `forDriver`, in the order it happened. */
  get steps(): readonly PlannedStep[] {
    return this.#record.steps;
  }

  /** A runner sharing this one's record, whose steps are tagged with `driver`. */
  forDriver(driver: string): RecordingRunner {
    return new RecordingRunner({ reader: this.#reader, driver }, this.#record);
  }

  /** The secrets to hide from now on (known once storage is read). */
  setSecrets(secrets: ReadonlyMap<string, string>): void {
    this.#record.secrets = secretList(secrets);
  }

  /** Replaces the known secrets by their labels, then anything else that looks like a key. */
  redact(text: string): string {
    let out = text;
    for (const [value, label] of this.#record.secrets) out = out.split(value).join(label);
    return out.replace(WG_KEY_LINE, "$1<redacted>").replace(PEM_PRIVATE, "<private key>");
  }

  /** Every string in a (vici) message redacted. */
  #redactValue(value: unknown): unknown {
    if (typeof value === "string") return this.redact(value);
    if (Buffer.isBuffer(value)) return this.redact(value.toString("utf8"));
    if (Array.isArray(value)) return value.map((item) => this.#redactValue(item));
    if (value && typeof value === "object") {
      return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, this.#redactValue(item)]));
    }
    return value;
  }

  async run(file: string, args: readonly string[], options: RunOptions = {}): Promise<CommandResult> {
    if (isReadOnlyCommand(file, args)) return this.#read(file, args, options);
    const files = args.flatMap((arg) => {
      const content = temporaryFile(arg);
      return content === null ? [] : [{ path: arg, content: this.redact(content) }];
    });
    this.#record.steps.push({
      driver: this.#driver,
      kind: "run",
      argv: [file, ...args].map((arg) => this.redact(arg)),
      ...(options.input !== undefined ? { input: this.redact(options.input) } : {}),
      ...(files.length > 0 ? { files } : {}),
      ...(options.env ? { env: options.env } : {}),
    });
    this.#follow(file, args, options.input);
    return { stdout: "", stderr: "", exitCode: 0 };
  }

  spawn(file: string, args: readonly string[], options: SpawnOptions = {}): DaemonHandle {
    this.#record.steps.push({
      driver: this.#driver,
      kind: "spawn",
      argv: [file, ...args].map((arg) => this.redact(arg)),
      ...(options.env ? { env: options.env } : {}),
    });
    // a daemon makes its own device (wireguard-go: a TUN named like its argument)
    if (file.endsWith("wireguard-go") && args[0]) this.#record.links.set(args[0], true);
    this.#record.onSpawn?.(file, args);
    let exit: (code: number | string) => void = () => {};
    const exited = new Promise<number | string>((resolve) => {
      exit = resolve;
    });
    return {
      pid: 0,
      exited,
      async stop() {
        exit("SIGTERM");
        await exited;
      },
    };
  }

  /**
   * A vici connector that records what changes charon and answers it with success; queries
   * (get-*, list-*, version, stats) go to `reader` when given (the running charon), else get empty answers.
   */
  viciConnector(reader?: ViciConnector): ViciConnector {
    return async (uri, timeoutMs) => {
      let real: ViciClient | null = null;
      if (reader) real = await reader(uri, timeoutMs).catch(() => null);
      const query = (command: string) => /^(get-|list-|version$|stats$)/.test(command);
      const request = async (command: string, message: ViciSection = {}) => {
        if (query(command)) return real ? real.request(command, message) : {};
        this.#record.steps.push({ driver: this.#driver, kind: "vici", command, message: this.#redactValue(message) });
        return { success: "yes" };
      };
      return {
        request,
        command: (command: string, message?: ViciSection) => request(command, message),
        close: () => real?.close(),
      };
    };
  }

  async #read(file: string, args: readonly string[], options: RunOptions): Promise<CommandResult> {
    const words = args.filter((arg) => !arg.startsWith("-"));
    const dev = words[words.indexOf("dev") + 1];
    const simulated = file === "ip" && dev !== undefined && words.includes("dev") ? this.#record.links.get(dev) : undefined;
    if (simulated !== undefined) {
      // a link only the plan has: it exists with no addresses (or is gone)
      if (!simulated) return { stdout: "", stderr: `Device "${dev}" does not exist.\n`, exitCode: 1 };
      return { stdout: args.includes("-j") ? "[]\n" : `1000: ${dev}: <POINTOPOINT,NOARP,UP,LOWER_UP> mtu 1420\n`, stderr: "", exitCode: 0 };
    }
    const result = await this.#reader.run(file, args, options);
    if (file === "ip" && words[0] === "link" && words[1] === "show" && args.includes("-o") && !args.includes("-j")) {
      const lines = result.stdout.split("\n").filter((line) => {
        const name = /^\d+: ([^:@\s]+)/.exec(line)?.[1];
        return !(name && this.#record.links.get(name) === false);
      });
      let index = 1000;
      for (const [name, present] of this.#record.links) {
        if (present && !lines.some((line) => line.startsWith(`${name}:`) || line.includes(`: ${name}:`))) {
          lines.splice(lines.length - 1, 0, `${index++}: ${name}: <POINTOPOINT,NOARP,UP,LOWER_UP> mtu 1420 state UNKNOWN`);
        }
      }
      return { ...result, stdout: lines.join("\n") };
    }
    return result;
  }

  /** Notes the links a recorded command would create or delete. */
  #follow(file: string, args: readonly string[], input: string | undefined): void {
    if (file !== "ip") return;
    const lines = args.includes("-batch") ? (input ?? "").split("\n").map((line) => line.trim().split(/\s+/)) : [[...args]];
    for (const words of lines) {
      if (words[0] !== "link") continue;
      const name = words[2] === "dev" ? words[3] : words[2];
      if (!name) continue;
      if (words[1] === "add") this.#record.links.set(name, true);
      else if (words[1] === "del" || words[1] === "delete") this.#record.links.set(name, false);
    }
  }
}

/** A real vici connection, for the queries a plan forwards to the running charon. */
export const connectVici: ViciConnector = (uri, timeoutMs) => ViciConnection.connect(uri, timeoutMs);

/** Whether a charon answers at `uri`. */
export async function charonAnswers(uri: string): Promise<boolean> {
  try {
    const vici = await ViciConnection.connect(uri, 2_000);
    try {
      await vici.request("version");
      return true;
    } finally {
      vici.close();
    }
  } catch {
    return false;
  }
}

/** The content of a file a driver passes by path in the temp dir (the WireGuard driver's secrets), else null. */
function temporaryFile(arg: string): string | null {
  if (!arg.startsWith(`${tmpdir()}/`)) return null;
  try {
    return statSync(arg).isFile() ? readFileSync(arg, "utf8") : null;
  } catch {
    return null;
  }
}

/** A step as a shell would take it: stdin as a here-document, a secret file's content below its command. */
export function formatPlannedStep(step: PlannedStep): string {
  const env = (values: Readonly<Record<string, string>> | undefined) =>
    Object.entries(values ?? {})
      .map(([key, value]) => `${key}=${shellWord(value)} `)
      .join("");
  if (step.kind === "vici") return `vici ${step.command} ${JSON.stringify(step.message)}`;
  const command = `${env(step.env)}${step.argv.map(shellWord).join(" ")}`;
  if (step.kind === "spawn") return `${command} &`;
  const lines = [step.input !== undefined ? `${command} <<'EOF'` : command];
  if (step.input !== undefined) lines.push(step.input.replace(/\n$/, ""), "EOF");
  for (const file of step.files ?? []) {
    lines.push(
      `# ${file.path} (0600, removed after the command) holds:`,
      ...file.content
        .replace(/\n$/, "")
        .split("\n")
        .map((l) => `#   ${l}`),
    );
  }
  return lines.join("\n");
}

function shellWord(word: string): string {
  return /^[A-Za-z0-9_@%+=:,./<>-]+$/.test(word) && !/^[<>]/.test(word) ? word : `'${word.replace(/'/g, "'\\''")}'`;
}

export default function createRecordingRunner(options: RecordingRunnerOptions): RecordingRunner {
  return new RecordingRunner(options);
}
